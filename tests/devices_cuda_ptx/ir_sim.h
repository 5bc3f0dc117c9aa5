// Runs a kernel lowered for a GPU on the host, as its threads would: the threads of a group
// step through the instructions together (so BARRIER needs nothing, SHFL_XOR and MMA read the
// warp's other lanes at the same instruction), loops and branches mask threads off, and
// COPY_ASYNC lands either at the COPY_WAIT that lets it (the latest the IR allows: a missing
// wait reads stale shared memory) or at once (the earliest: a copy into a stage still being
// read overwrites it). Values are doubles rounded to their dtype after each instruction.
// Lets the GPU lowering tests compare tensor-core tiles and staged blocks with a reference on a
// machine without a GPU. Instructions it does not know are reported, not guessed.
#pragma once

#include <string>
#include <vector>

#include "codegen/lowerer.h"

namespace kiln::test {

// buffers[slot]: the elements of each param (slot 0, the output, sized by the caller); the
// result's `error` is empty when the kernel ran.
struct SimResult {
  std::string error;
};

enum class CopyLanding { AtWait, AtIssue };

// vars[slot]: the values of the kernel's variables
SimResult simulate(const detail::LoweredKernel& k, std::vector<std::vector<double>>& buffers,
                   CopyLanding landing = CopyLanding::AtWait, const std::vector<int64_t>& vars = {});

}  // namespace kiln::test
