// The kiln_launch for a lowered kernel bound to its realized buffers (arrays owned here).
#pragma once

#include <vector>

#include "codegen/lowerer.h"
#include "kiln/error.h"
#include "runtime/program_cache.h"

namespace kiln::detail {

struct LaunchArgs {
  std::vector<kiln_buffer*> buffers;
  std::vector<int64_t> vars;
  kiln_launch launch{};

  LaunchArgs(const LoweredKernel& k, const ProgramRef& prog) {
    for (const auto& p : k.params) {
      if (!p->buffer) throw Error("internal: kernel " + k.name + " reads an unrealized node");
      buffers.push_back(p->buffer->handle);
    }
    for (const auto& v : k.vars) vars.push_back(v.value());
    launch.program = prog->handle;
    launch.buffers = buffers.data();
    launch.n_buffers = static_cast<uint32_t>(buffers.size());
    launch.vars = vars.data();
    launch.n_vars = static_cast<uint32_t>(vars.size());
    for (int i = 0; i < 3; ++i) {
      launch.global_size[i] = k.global_size[i];
      launch.local_size[i] = k.local_size[i];
    }
  }
  LaunchArgs(const LaunchArgs&) = delete;
  LaunchArgs& operator=(const LaunchArgs&) = delete;
};

}  // namespace kiln::detail
