// Kernel IR -> textual LLVM IR for the host CPU (calling convention in kernel_abi.h). The text
// is self-contained and host-independent; llvm_compile.cpp specialises it for the host CPU.
#pragma once

#include <string>

#include "kiln/kernel_ir.h"

namespace kiln::cpu {

// Checks the kernel (ir_check.h) and renders it; throws DeviceError(KILN_ERR_COMPILE) with the
// kernel's IR listed when the kernel is malformed.
std::string render_llvm(const kiln_kernel& k);

// The exported symbol a kernel NAME compiles to (prefixed so it can never collide with a
// libm or libc symbol the code calls).
std::string kernel_symbol(const std::string& name);

}  // namespace kiln::cpu
