// Runs the integer part of a lowered kernel for one (group, thread) on the host: every integer
// scalar is computed exactly (64 bits), so a 32-bit index that would wrap on the device is
// caught, and every LOAD, STORE and COPY_ASYNC index is checked against its buffer (PARAM:
// the element count of the kernel's param; LOCAL: its arg). Float values, MMAs and vectors are
// not computed. Lets the GPU lowering tests check the address math of kernels that only a GPU
// could run (tensor-core tiles, asynchronous copies) on this machine.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/lowerer.h"

namespace kiln::test {

struct IndexProbe {
  std::string error;      // empty when every access was in bounds and no i32 value wrapped
  uint64_t accesses = 0;  // memory accesses whose index was checked
};

IndexProbe probe_indices(const detail::LoweredKernel& k, uint32_t group, uint32_t thread);

}  // namespace kiln::test
