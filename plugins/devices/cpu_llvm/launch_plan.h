// What launch() and graph_launch() share: checking a launch against its program, and running
// a program over a grid on the thread pool.
#pragma once

#include "device.h"

namespace kiln::cpu {

// Grid and local size: DeviceError(KILN_ERR_INVALID) when the device cannot run them.
void check_grid(const Program& p, const uint32_t global[3], const uint32_t local[3]);
// Buffers (count, liveness, no written buffer bound twice) and variables (count, declared
// ranges). DeviceError(KILN_ERR_INVALID) naming the kernel and slot.
void check_bindings(const Program& p, const kiln_launch& l);
// Runs p over `grid` with l's buffers and variables (already checked).
void execute(Device& dev, const Program& p, const kiln_launch& l, const uint32_t grid[3]);

}  // namespace kiln::cpu
