#pragma once

#include <vector>

#include "graph/uop.h"

namespace kiln::detail {
// Schedules the unrealized nodes among `outputs`, runs their kernels and marks every computed
// node realized.
void realize_nodes(const std::vector<UOpRef>& outputs);
// Runs `value` into the memory of `target_buffer` seen through `target_view` (assign).
void run_assign(const UOpRef& target, const UOpRef& value);
}  // namespace kiln::detail
