// The instruction that closes each RANGE and IF of a kernel's list (its ENDRANGE, ENDIF); -1
// elsewhere. Used by the PTX renderer (a loop's extent for its L2 prefetch) and by the tests'
// host runners of lowered kernels (index_probe, ir_sim).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/kernel_ir.h"

namespace kiln::device_common {

inline std::vector<int64_t> scope_ends(const kiln_ir_inst* insts, size_t n) {
  std::vector<int64_t> end(n, -1);
  std::vector<size_t> open;
  for (size_t i = 0; i < n; ++i) {
    const uint16_t op = insts[i].op;
    if (op == KILN_IR_RANGE || op == KILN_IR_IF) open.push_back(i);
    if ((op == KILN_IR_ENDRANGE || op == KILN_IR_ENDIF) && !open.empty()) {
      end[open.back()] = int64_t(i);
      open.pop_back();
    }
  }
  return end;
}

}  // namespace kiln::device_common
