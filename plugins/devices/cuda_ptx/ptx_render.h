// Kernel IR -> PTX text. One .entry per kernel; the rendered text starts with a
// "// kiln-meta ..." line (the facts the launcher needs: slots written, variable ranges, shared
// memory, launch mode) that compile() carries into the blob.
#pragma once

#include <cstdint>
#include <string>

#include "kiln/kernel_ir.h"

namespace kiln::cuda {

struct PtxTarget {
  int sm = 80;                           // compute capability as major*10 + minor
  uint64_t max_local_bytes = 48 * 1024;  // static shared memory one group may use
  // sm_90: loop iterations whose loads are prefetched into L2 before the grid wait
  int prefetch = 1;
  // more iterations for loops whose prefetch over the whole grid fits this many bytes (at most
  // 8; KILN_CUDA_PREFETCH_MB; 0: none)
  uint64_t prefetch_bytes = 0;
  // with prefetch_bytes: only a loop of at most 8 iterations whose every iteration fits the
  // budget, all of them (KILN_CUDA_PREFETCH_WHOLE=1: o's whole matrix while attention runs)
  bool prefetch_whole = false;
  // KILN_CUDA_STAMPS: a `kiln_stamps` parameter; where it is not 0, the GPU's clock at block
  // 0's start and past the grid wait (u64 words 0 and 1, by `red` min) and at each warp's end
  // (`red` max into the first word of line 1 + block % kStampEndLines, lines kStampLineBytes
  // apart) for graph timelines (graph_stamps.h)
  bool stamps = false;
  // sm_90: where griddepcontrol.launch_dependents goes (the dependent grid may launch once every
  // block of this one has passed it): at the kernel's start (then a chain of later kernels
  // launches and waits on the SMs), right after its wait for its own predecessor (one kernel
  // ahead: it can prefetch while this one runs), or before its first global store
  enum class Trigger { Start, AfterWait, FirstStore };
  Trigger trigger = Trigger::AfterWait;
};

// A stamped node's area (PtxTarget::stamps): a line of start stamps, then the end stamps' lines.
inline constexpr unsigned kStampLineBytes = 128, kStampEndLines = 31;

// Validates the kernel (ir_check.h) and renders it. Throws DeviceError(KILN_ERR_COMPILE) with
// the instruction named and the kernel's IR listed when the kernel breaks a rule.
std::string render_ptx(const kiln_kernel& k, const PtxTarget& target);

// The .entry's symbol for a kernel name.
inline std::string ptx_entry_name(const std::string& kernel_name) {
  return "kiln_" + kernel_name;
}

}  // namespace kiln::cuda
