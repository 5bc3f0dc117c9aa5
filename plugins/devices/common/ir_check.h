// Validation of a kernel before rendering: every rule of docs/kernel-ir.md that the renderer
// relies on (source order and visibility, nesting, dtypes, lanes, slots). A violation is a
// DeviceError(KILN_ERR_COMPILE) whose text names the instruction and lists the kernel's IR, so
// no malformed kernel reaches a renderer. Also gathers what the launcher needs about the kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/kernel_ir.h"

namespace kiln::device_common {

enum : uint8_t { PARAM_READ = 1, PARAM_WRITTEN = 2 };

struct KernelSummary {
  std::vector<uint8_t> param_flags;  // per slot: PARAM_READ / PARAM_WRITTEN, from the body
  std::vector<int64_t> var_min;      // per slot; the intersection of every VAR declaring it
  std::vector<int64_t> var_max;
  uint64_t work_per_group = 0;       // rough count of operations one group executes
  uint64_t local_bytes = 0;          // LOCAL arrays (memory of one group)
  bool uses_threads = false;         // LOCAL, BARRIER, SHFL_XOR or a local thread id
  bool uses_group_yz = false;        // SPECIAL group id y or z
  bool uses_shared = false;          // LOCAL or BARRIER: the group's threads share memory
};

// Lanes of an instruction's result (vcount 0 is read as 1).
inline unsigned lanes_of(const kiln_ir_inst& in) { return in.vcount == 0 ? 1u : in.vcount; }

// What the checks allow on one device.
struct CheckTarget {
  const char* plugin;        // prefixes the error messages ("cpu_llvm", "cuda_ptx")
  uint64_t max_local_bytes;  // LOCAL memory one group may use
  uint64_t local_align;      // each LOCAL array starts at a multiple of this many bytes
  bool has_warps;            // SHFL_XOR is valid (warps of 32 lanes)
  bool has_mma = false;      // MMA is valid (tensor cores: KILN_TENSOR_CORES_MMA_16816)
  bool has_async_copy = false;  // COPY_ASYNC, COPY_COMMIT and COPY_WAIT are valid
};

KernelSummary check_kernel(const kiln_kernel& k, const CheckTarget& target);

}  // namespace kiln::device_common
