// BEAM search: time candidate optimizations of a kernel on the device and keep the fastest.
// Enabled by KILN_BEAM=N (or kiln::set_beam_width); winners are cached beside the kernels.
#pragma once

#include "codegen/lowerer.h"
#include "runtime/program_cache.h"

namespace kiln::detail {

int beam_width();  // 0 = off; a large number = search everything

// The kernel to run for `root` (whose output buffer is attached): the default lowering, or
// with BEAM on, the fastest candidate (searched once per kernel and device, then cached).
LoweredKernel choose_kernel(const UOpRef& root, Device* device);

}  // namespace kiln::detail
