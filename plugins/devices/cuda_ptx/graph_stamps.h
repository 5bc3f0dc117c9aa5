// KILN_CUDA_STAMPS=1: where a graph's time goes, kernel by kernel, with programmatic dependent
// launch left as it is (a profiler serializes the kernels). Every kernel is rendered with a
// `kiln_stamps` parameter (PtxTarget::stamps); a graph gives each node 4 KiB of a device buffer,
// resets them before each replay, reads them back after it (the replay is waited for, so the
// host no longer runs ahead) and, when the graph is destroyed, prints to stderr each node's
// median times from the replay's first start: block 0 started, block 0 past the grid wait, last
// warp done, and how far the node moved the replay's end (the advances add up to the
// replay); then the same summed by kernel name.
#pragma once

#include <string>
#include <vector>

#include "device.h"

namespace kiln::cuda {

// A graph's stamps for n nodes (null when the buffer cannot be had). The caller holds dev.mu
// with the context current, as for the three below.
std::unique_ptr<GraphStamps> stamps_create(Device& dev, size_t n);
// Node i's slots (the kernel's kiln_stamps argument).
uint64_t stamps_slot(const GraphStamps& s, size_t i);
// Around cuGraphLaunch on dev.stream.
void stamps_before(Device& dev, GraphStamps& s);
void stamps_after(Device& dev, GraphStamps& s);
// Prints the report (names: the nodes' kernels, empty for a node left out) and frees the buffer.
void stamps_report(Device& dev, GraphStamps& s, const std::vector<std::string>& names);

}  // namespace kiln::cuda
