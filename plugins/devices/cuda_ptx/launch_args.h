// One launch resolved against its program: kernel parameter values and the CUDA grid/block.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "device.h"

namespace kiln::cuda {

struct LaunchArgs {
  Program* program = nullptr;
  std::vector<uint64_t> values;  // buffer addresses, then variables (the .param order)
  uint32_t grid_x = 0;           // the kernel's global_size[0] (flat kernels bound-check it)
  uint32_t const_mask = 0;       // slots whose buffer no kernel of the graph writes (sm_90 L2
                                 // prefetch before the grid wait); 0 outside graphs
  uint64_t stamps = 0;           // this node's kiln_stamps slots (KILN_CUDA_STAMPS); 0 elsewhere
  std::array<uint32_t, 3> grid{1, 1, 1}, block{1, 1, 1};
};

// Pointers to `a`'s values in the kernel's .param order (buffers, variables, kiln_grid_x,
// kiln_const_mask, and kiln_stamps when the device renders it); `a` must outlive their use.
std::vector<void*> kernel_params(const Device& dev, LaunchArgs& a);
// Validates `l` and fills `out` (DeviceError(KILN_ERR_INVALID) naming the problem).
void prepare_launch(Device& dev, const kiln_launch& l, LaunchArgs& out);
// cuLaunchKernel on the device's stream; the caller holds dev.mu with the context current.
void enqueue(Device& dev, LaunchArgs& args);

}  // namespace kiln::cuda
