// The scheduler cuts a lazy graph into kernels. Elementwise ops fuse into their consumers;
// a reduce fuses with its producers and with elementwise consumers in its output shape, or in
// its input shape when it reduces rows and is broadcast back along them (a norm: one row kernel
// computes the row's reduce, then the row), or (ScheduleOptions) as a single value nested in
// another reduce's source; a kernel boundary falls where a reduce's value is
// seen through another movement that is not a reshape, feeds another reduce or gather index,
// is used by several consumers, or at contiguous/copy.
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

// A row kernel: `root` (elementwise, shaped like `reduce`'s source) holds `reduce`, a reduce of
// the last axis of at most kMaxRowKernel elements, broadcast back along it. Each group computes
// one row's reduce once and then the row's outputs (the lowerer's row kernels).
constexpr int64_t kMaxRowKernel = 32768;
bool is_row_kernel(const UOp* root, const UOp* reduce);
// s is r's outputs in their order: r itself, or r through casts and contiguous reshapes, none
// realized (a stacked GEMV read as halves: the scheduler and the lowerer agree on it)
bool holds_in_order(const UOp* s, const UOp* r);

struct ScheduleOptions {
  // A reduce to one value (a decode step's RMSNorm statistics) broadcast into the source of a
  // reduce over its last axis (the projection reading the normed vector) is computed inside that
  // reduce's kernel, before its loop, instead of in a kernel of its own. For devices whose
  // lowerer computes it once per group with the group's threads (GPUs, lower_kernel's GEMV
  // blocks); false keeps every such reduce its own kernel.
  bool nest_scalar_reduces = false;
  // A last-axis reduce read only as its two halves by one kernel (silu(gate) * up over a stacked
  // GEMV) runs in that kernel, one warp for each half of an output, instead of a kernel of its
  // own (same devices as above, with KILN_FUSE_MLP_HALVES=1: measured no faster on an H100)
  bool fuse_reduce_halves = false;
};

// The options for kernels of `device` (nest_scalar_reduces on devices with warps and shared
// memory, unless KILN_NEST_SCALAR=0).
ScheduleOptions schedule_options_for(const Device* device);

// Nodes in `outputs` that are not realized yet get kernels, plus any boundary they need.
Schedule create_schedule(const std::vector<UOpRef>& outputs, const ScheduleOptions& opts = {});

}  // namespace kiln::detail
