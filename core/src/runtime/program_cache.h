// Compiled kernels: an in-memory map per device, backed by a disk cache keyed by
// (kernel IR hash, device arch, compiler id), so a warm start compiles nothing.
#pragma once

#include <memory>
#include <string>

#include "codegen/lowerer.h"
#include "kiln/device_runtime.h"

namespace kiln::detail {

struct Program {
  Device* device = nullptr;
  kiln_program* handle = nullptr;
  std::string name;
  Program() = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program();
};
using ProgramRef = std::shared_ptr<Program>;

ProgramRef get_program(Device* device, const LoweredKernel& kernel);

// Where the disk cache lives ("" when disabled by KILN_DISABLE_CACHE=1).
std::string kernel_cache_dir();

}  // namespace kiln::detail
