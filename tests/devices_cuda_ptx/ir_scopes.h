// The instruction that closes each RANGE and IF of a kernel (ENDRANGE, ENDIF); -1 elsewhere.
// Shared by the host runners of lowered kernels (index_probe, ir_sim).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/kernel_ir.h"

namespace kiln::test {

inline std::vector<int64_t> scope_ends(const std::vector<kiln_ir_inst>& insts) {
  std::vector<int64_t> end(insts.size(), -1);
  std::vector<size_t> open;
  for (size_t i = 0; i < insts.size(); ++i) {
    const uint16_t op = insts[i].op;
    if (op == KILN_IR_RANGE || op == KILN_IR_IF) open.push_back(i);
    if ((op == KILN_IR_ENDRANGE || op == KILN_IR_ENDIF) && !open.empty()) {
      end[open.back()] = int64_t(i);
      open.pop_back();
    }
  }
  return end;
}

}  // namespace kiln::test
