// Human-readable kernel IR: one line per instruction. Error messages carry it (a compile
// error names the kernel's IR, never just "failed") and rendered LLVM IR or PTX embeds it
// as comments, so a compiler error points back at the kernel instruction.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/kernel_ir.h"

namespace kiln::device_common {

// "%7 = ADD f32x4 %5 %6 flags=..." — reads only what is in bounds of the kernel's arrays.
std::string dump_inst(const kiln_kernel& k, uint32_t index);
// A header line plus every instruction.
std::string dump_kernel(const kiln_kernel& k);

}  // namespace kiln::device_common
