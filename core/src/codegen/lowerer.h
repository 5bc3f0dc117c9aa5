// Lowers one scheduled kernel (a fragment of the lazy graph rooted at a node to realize) to
// kernel IR. Values are emitted top-down: each node is evaluated at an index, movement ops are
// index math, a reduce emits its loop where its value is needed, a gather turns a loaded
// integer into an index.
#pragma once

#include <string>
#include <vector>

#include "graph/uop.h"
#include "kiln/device.h"
#include "kiln/kernel_ir.h"

namespace kiln::detail {

struct LoweredKernel {
  std::string name;
  std::vector<kiln_ir_inst> insts;
  std::vector<int32_t> operands;
  // slot 0 is the output (root); the rest are realized nodes the kernel reads
  std::vector<UOpRef> params;
  std::vector<Variable> vars;
  uint32_t global_size[3] = {1, 1, 1};
  uint32_t local_size[3] = {1, 1, 1};

  kiln_kernel view() const;  // borrows this object's arrays
  uint64_t ir_hash() const;  // identity of the code (not of the buffers)
};

// Optimization choices; -1 lets the heuristics decide. BEAM search tries explicit values.
struct KernelOpts {
  int lanes = -1;      // vector lanes along the output's last axis (1 = scalar)
  int rows = -1;       // output rows per group sharing one reduce loop (register tile)
  int red_lanes = -1;  // vector lanes along the innermost reduce axis
  bool operator==(const KernelOpts& o) const {
    return lanes == o.lanes && rows == o.rows && red_lanes == o.red_lanes;
  }
  std::string str() const;
};

LoweredKernel lower_kernel(const UOpRef& root, const kiln_device_caps& caps,
                           const KernelOpts& opts = {});
// The explicit choices worth timing for this kernel (BEAM candidates).
std::vector<KernelOpts> candidate_opts(const UOpRef& root, const kiln_device_caps& caps);
// Writes `value` (shaped like target) into the memory under `target`: a realized node, or an
// unpadded view of one. params[0] is that realized node.
LoweredKernel lower_assign(const UOpRef& target, const UOpRef& value,
                           const kiln_device_caps& caps);

// Human-readable listing of kernel IR (KILN_DEBUG=3).
std::string format_ir(const kiln_kernel& k);

}  // namespace kiln::detail
