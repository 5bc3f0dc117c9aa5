// The scheduler cuts a lazy graph into kernels. Elementwise ops fuse into their consumers;
// a reduce fuses with its producers and with elementwise consumers in its output shape; a
// kernel boundary falls where a reduce's value is seen through a movement that is not a
// reshape, feeds another reduce or gather index, is used by several consumers, or at
// contiguous/copy.
#pragma once

#include <vector>

#include "graph/uop.h"

namespace kiln::detail {

struct ScheduleItem {
  enum class Kind { Kernel, Copy } kind = Kind::Kernel;
  UOpRef root;  // computed into a fresh row-major buffer of root->shape
};

struct Schedule {
  std::vector<ScheduleItem> items;  // in dependency order
  // Every node the schedule realizes (items' roots), for the runtime to attach buffers.
};

// Nodes in `outputs` that are not realized yet get kernels, plus any boundary they need.
Schedule create_schedule(const std::vector<UOpRef>& outputs);

}  // namespace kiln::detail
