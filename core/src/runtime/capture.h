// Recording of launches for kiln::Jit: while a recorder is active on this thread, every
// kernel launch and copy is appended to it.
#pragma once

#include <memory>
#include <vector>

#include "graph/uop.h"
#include "runtime/program_cache.h"

namespace kiln::detail {

struct CapturedLaunch {
  ProgramRef program;
  std::vector<BufferRef> buffers;
  std::vector<Variable> vars;
  uint32_t global_size[3];
  uint32_t local_size[3];
  std::string name;
};

struct CaptureRecorder {
  std::vector<CapturedLaunch> launches;
  std::vector<const DeviceBuffer*> allocated;  // buffers created while capturing
  bool unsupported = false;  // a copy between devices happened: not replayable
  bool dry = false;          // record launches without running them (Jit::capture)
};

CaptureRecorder*& active_recorder();

// A buffer whose contents come from the host (from_host) or persist across calls (empty) is
// not an intermediate of the capture: its memory is never shared with another buffer.
void keep_out_of_plan(const DeviceBuffer* buffer);

}  // namespace kiln::detail
