#pragma once

#include "kiln/device_runtime.h"

namespace kiln::detail {
// The process-wide counters behind kiln::runtime_stats().
RuntimeStats& stats();
}  // namespace kiln::detail
