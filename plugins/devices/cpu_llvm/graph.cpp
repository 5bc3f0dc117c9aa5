// Graphs: a launch list checked once at creation. A replay only confirms each launch names
// the same program and grid and binds valid buffers and variables, then runs it.
#include <chrono>
#include <cstdio>

#include "errors.h"
#include "launch_plan.h"

namespace kiln::cpu {

Graph* create_graph(Device& dev, const kiln_launch* launches, uint32_t n) {
  if (n > 0 && launches == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: graph launches is NULL");
  auto graph = std::make_unique<Graph>();
  graph->steps.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const kiln_launch& l = launches[i];
    Program& p = checked(l.program);
    check_grid(p, l.global_size, l.local_size);
    check_bindings(p, l);
    graph->steps.push_back({&p, {l.global_size[0], l.global_size[1], l.global_size[2]}});
  }
  std::lock_guard<std::mutex> lock(dev.mu);
  dev.graphs.insert(graph.get());
  for (const GraphStep& s : graph->steps) ++s.program->graph_refs;
  return graph.release();
}

void launch_graph(Device& dev, Graph& graph, const kiln_launch* launches, uint32_t n) {
  if (n != graph.steps.size())
    fail(KILN_ERR_INVALID, "cpu_llvm: graph has " + std::to_string(graph.steps.size()) +
                               " launches, replay passed " + std::to_string(n));
  if (n > 0 && launches == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: graph launches is NULL");
  for (uint32_t i = 0; i < n; ++i) {
    const GraphStep& step = graph.steps[i];
    const kiln_launch& l = launches[i];
    if (reinterpret_cast<Program*>(l.program) != step.program || step.program->magic != kProgramMagic)
      fail(KILN_ERR_INVALID, "cpu_llvm: graph launch " + std::to_string(i) +
                                 " names another program than at creation, or it was unloaded");
    for (int a = 0; a < 3; ++a)
      if (l.global_size[a] != step.grid[a])
        fail(KILN_ERR_INVALID, "cpu_llvm: graph launch " + std::to_string(i) +
                                   " changes global_size; a graph's grids are fixed at creation");
    check_bindings(*step.program, l);
    if (dev.debug_level < 2) {
      execute(dev, *step.program, l, step.grid);
      continue;
    }
    // KILN_DEBUG>=2: each replayed kernel's time, for per-kernel profiles of a Jit step
    auto t0 = std::chrono::steady_clock::now();
    execute(dev, *step.program, l, step.grid);
    double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "kiln: replay %u %s %.3f us\n", i, step.program->name.c_str(), us);
  }
}

void destroy_graph(Device& dev, Graph* graph) {
  std::lock_guard<std::mutex> lock(dev.mu);
  if (dev.graphs.erase(graph) == 0) return;
  for (const GraphStep& s : graph->steps)
    if (--s.program->graph_refs == 0 && s.program->magic != kProgramMagic)
      release_program(dev, s.program);  // unloaded while this graph held it
  graph->magic = 0;
  delete graph;
}

}  // namespace kiln::cpu
