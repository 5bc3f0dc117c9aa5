// Graphs: a JIT's captured launch list replayed as one CUDA graph launch (no per-kernel launch
// cost on the host). Nodes are built explicitly, each depending on the previous one, so node i
// is launch i; a replay with new buffers or variable values patches just the changed nodes in
// the executable graph (cuGraphExecKernelNodeSetParams) instead of rebuilding it.
// On sm_90 and newer the edges are programmatic (PDL): every kernel rendered there starts with
// griddepcontrol.launch_dependents and runs griddepcontrol.wait before its first memory access,
// so the next kernel's blocks are resident and waiting while this one's last blocks run,
// instead of launching after it ends.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>

#include "device.h"
#include "errors.h"
#include "graph_stamps.h"
#include "graph_timeline.h"
#include "kiln/env.h"
#include "launch_args.h"

namespace kiln::cuda {

namespace {

struct NodeParams {
  KernelNodeParams p{};
  std::vector<void*> ptrs;
};

// Pointers into `a` (which must outlive the call that reads them).
void node_params(const Device& dev, LaunchArgs& a, NodeParams& out) {
  out.ptrs = kernel_params(dev, a);
  out.p = KernelNodeParams{};
  out.p.func = a.program->fn;
  out.p.grid_x = a.grid[0];
  out.p.grid_y = a.grid[1];
  out.p.grid_z = a.grid[2];
  out.p.block_x = a.block[0];
  out.p.block_y = a.block[1];
  out.p.block_z = a.block[2];
  out.p.kernel_params = out.ptrs.data();
}

// Each launch's slots (below 32) whose buffer no launch of the graph writes: the weights, which
// kernels may prefetch before their grid dependency wait.
void set_const_masks(std::vector<std::unique_ptr<LaunchArgs>>& args) {
  std::unordered_set<uint64_t> written;
  for (const auto& a : args) {
    const auto& w = a->program->meta.written;
    for (size_t s = 0; s < w.size(); ++s)
      if (w[s]) written.insert(a->values[s]);
  }
  for (auto& a : args) {
    const auto& w = a->program->meta.written;
    a->const_mask = 0;
    for (size_t s = 0; s < w.size() && s < 32; ++s)
      if (!w[s] && !written.count(a->values[s])) a->const_mask |= 1u << s;
  }
}

// Programmatic edges: sm_90+, a driver with edge data, and not switched off (KILN_CUDA_PDL=0,
// for measuring what they bring).
bool programmatic_edges(const Device& dev) {
  static const bool off = env::is_off("KILN_CUDA_PDL");
  return !off && dev.cc_major >= 9 && dev.drv->cuGraphAddDependencies != nullptr;
}

// A kernel KILN_CUDA_GRAPH_SKIP names (Device::graph_skip): left out of graphs
bool skipped(const Device& dev, const std::string& name) {
  for (const auto& part : dev.graph_skip)
    if (name.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace

Graph* create_graph(Device& dev, const kiln_launch* launches, uint32_t n) {
  const Driver& d = *dev.drv;
  if (!d.cuGraphCreate || !d.cuGraphAddKernelNode || !d.cuGraphInstantiateWithFlags ||
      !d.cuGraphExecKernelNodeSetParams || !d.cuGraphLaunch)
    fail(KILN_ERR_UNSUPPORTED, "cuda_ptx: this CUDA driver lacks the graph API");
  if (n > 0 && launches == nullptr)
    fail(KILN_ERR_INVALID, "cuda_ptx: graph_create: launches is NULL");
  auto g = std::make_unique<Graph>();
  for (uint32_t i = 0; i < n; ++i) {
    auto a = std::make_unique<LaunchArgs>();
    prepare_launch(dev, launches[i], *a);
    g->args.push_back(std::move(a));
  }
  set_const_masks(g->args);
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  Graph* raw = g.release();
  for (auto& a : raw->args) a->program->graph_refs++;
  if (dev.graph_gaps) raw->timeline = std::make_unique<GraphTimeline>();
  if (dev.stamps && (raw->stamps = stamps_create(dev, n)))
    for (uint32_t i = 0; i < n; ++i) raw->args[i]->stamps = stamps_slot(*raw->stamps, i);
  try {
    check(d, d.cuGraphCreate(&raw->graph, 0), "cuGraphCreate", KILN_ERR_INTERNAL);
    NodeParams np;
    const bool pdl = programmatic_edges(dev);
    GraphEdgeData edge{};
    edge.from_port = CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC;
    edge.type = CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC;
    CUgraphNode prev = nullptr;
    for (uint32_t i = 0; i < n; ++i) {
      if (skipped(dev, raw->args[i]->program->name)) {  // no node: launch i is never run
        raw->nodes.push_back(nullptr);
        continue;
      }
      node_params(dev, *raw->args[i], np);
      CUgraphNode node = nullptr;
      const bool chained = prev != nullptr && !pdl;
      check(d,
            d.cuGraphAddKernelNode(&node, raw->graph, chained ? &prev : nullptr, chained ? 1 : 0,
                                   &np.p),
            "cuGraphAddKernelNode", KILN_ERR_INTERNAL);
      if (prev != nullptr && pdl)
        check(d, d.cuGraphAddDependencies(raw->graph, &prev, &node, &edge, 1),
              "cuGraphAddDependencies", KILN_ERR_INTERNAL);
      raw->nodes.push_back(node);
      prev = node;
    }
    check(d, d.cuGraphInstantiateWithFlags(&raw->exec, raw->graph, 0), "cuGraphInstantiate",
          KILN_ERR_INTERNAL);
  } catch (...) {
    release_graph(dev, raw);
    throw;
  }
  dev.graphs.insert(raw);
  return raw;
}

void launch_graph(Device& dev, Graph& g, const kiln_launch* launches, uint32_t n) {
  const auto host_start = std::chrono::steady_clock::now();
  if (n != g.args.size())
    fail(KILN_ERR_INVALID, "cuda_ptx: graph_launch: " + std::to_string(n) +
                               " launches, the graph has " + std::to_string(g.args.size()));
  std::vector<std::unique_ptr<LaunchArgs>> next(n);
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = std::make_unique<LaunchArgs>();
    prepare_launch(dev, launches[i], *next[i]);
    const LaunchArgs& old = *g.args[i];
    if (next[i]->program != old.program || next[i]->grid != old.grid || next[i]->block != old.block)
      fail(KILN_ERR_INVALID, "cuda_ptx: graph_launch: launch " + std::to_string(i) +
                                 " names another program or grid than at graph_create");
  }
  set_const_masks(next);
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  NodeParams np;
  uint32_t patched = 0;
  for (uint32_t i = 0; i < n; ++i) {
    next[i]->stamps = g.args[i]->stamps;
    if (next[i]->values == g.args[i]->values && next[i]->grid_x == g.args[i]->grid_x &&
        next[i]->const_mask == g.args[i]->const_mask)
      continue;
    node_params(dev, *next[i], np);
    if (g.nodes[i] != nullptr)
      check(d, d.cuGraphExecKernelNodeSetParams(g.exec, g.nodes[i], &np.p),
            "cuGraphExecKernelNodeSetParams", KILN_ERR_LAUNCH);
    g.args[i] = std::move(next[i]);
    ++patched;
  }
  if (g.stamps) stamps_before(dev, *g.stamps);
  if (dev.debug_level < 2) {
    const bool marked = g.timeline && timeline_begin(dev, *g.timeline);
    check(d, d.cuGraphLaunch(g.exec, dev.stream), "cuGraphLaunch", KILN_ERR_LAUNCH);
    if (marked) timeline_end(dev, *g.timeline);
    if (g.stamps) stamps_after(dev, *g.stamps);
    return;
  }
  // KILN_DEBUG>=2: the replay's GPU time against the host time spent preparing it
  const double host_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - host_start)
          .count();
  check(d, d.cuStreamSynchronize(dev.stream), "cuStreamSynchronize", KILN_ERR_LAUNCH);
  check(d, d.cuEventRecord(dev.t0, dev.stream), "cuEventRecord", KILN_ERR_LAUNCH);
  check(d, d.cuGraphLaunch(g.exec, dev.stream), "cuGraphLaunch", KILN_ERR_LAUNCH);
  check(d, d.cuEventRecord(dev.t1, dev.stream), "cuEventRecord", KILN_ERR_LAUNCH);
  check(d, d.cuEventSynchronize(dev.t1), "cuEventSynchronize (the graph failed)", KILN_ERR_LAUNCH);
  if (g.stamps) stamps_after(dev, *g.stamps);
  float ms = 0;
  d.cuEventElapsedTime(&ms, dev.t0, dev.t1);
  std::fprintf(
      stderr,
      "cuda_ptx: graph of %u kernels (%u patched): %.1f us on the GPU, %.1f us to prepare\n", n,
      patched, double(ms) * 1e3, host_us);
}

void release_graph(Device& dev, Graph* g) {
  const Driver& d = *dev.drv;
  if (g->timeline) timeline_report(dev, *g->timeline, g->nodes.size());
  if (g->stamps) {
    std::vector<std::string> names;
    for (const auto& a : g->args) names.push_back(a->program->name);
    stamps_report(dev, *g->stamps, names);
  }
  if (g->exec) d.cuGraphExecDestroy(g->exec);
  if (g->graph) d.cuGraphDestroy(g->graph);
  for (auto& a : g->args) a->program->graph_refs--;
  g->magic = 0;
  delete g;
}

void destroy_graph(Device& dev, Graph* graph) {
  std::lock_guard<std::mutex> lock(dev.mu);
  if (!dev.graphs.erase(graph))
    fail(KILN_ERR_INVALID, "cuda_ptx: graph_destroy: not a graph of this device");
  make_current(dev);
  release_graph(dev, graph);
}

}  // namespace kiln::cuda
