// KILN_CUDA_GRAPH_GAPS=1: how busy a graph's replays keep the GPU. An event before and after each
// replay on the stream; when the graph is destroyed, stderr gets the replays' GPU time and the
// stream time between one replay's end and the next one's start (host latency, copies queued
// between replays, a driver that holds a launch back): median, 90th percentile, mean, largest.
#pragma once

#include "device.h"

namespace kiln::cuda {

// Around cuGraphLaunch on dev.stream; the caller holds dev.mu with the context current.
// timeline_begin returns whether it marked this replay (not past its limit, events created);
// only then does timeline_end follow.
bool timeline_begin(Device& dev, GraphTimeline& t);
void timeline_end(Device& dev, GraphTimeline& t);
// Waits for the marked replays, prints the summary and frees the events.
void timeline_report(Device& dev, GraphTimeline& t, size_t kernels);

}  // namespace kiln::cuda
