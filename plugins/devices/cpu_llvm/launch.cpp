// One launch: check it, spread the grid over the pool (or run it on the caller when it is too
// small to be worth waking anyone), optionally time it.
#include <algorithm>
#include <chrono>
#include <climits>

#include "errors.h"
#include "launch_plan.h"

namespace kiln::cpu {
namespace {

constexpr uint64_t kChunkWork = 1u << 13;    // ~ops per chunk: a few microseconds of work
constexpr uint32_t kChunksPerThread = 8;     // load balance without much counter traffic
constexpr uint32_t kStackBuffers = 32;

struct LaunchJob {
  KernelFn fn;
  void* const* buffers;
  const int64_t* vars;
  int64_t total, n_chunks, gx, gy;
};

// Chunk c covers an equal share of the linear group ids (the first total % n get one more).
void run_chunk(void* ctx, uint32_t c) {
  const auto& j = *static_cast<const LaunchJob*>(ctx);
  const int64_t base = j.total / j.n_chunks, rem = j.total % j.n_chunks;
  const int64_t begin = int64_t(c) * base + std::min<int64_t>(c, rem);
  const int64_t end = begin + base + (int64_t(c) < rem ? 1 : 0);
  j.fn(j.buffers, j.vars, begin, end, j.gx, j.gy);
}

[[noreturn]] void bad_launch(const Program& p, const std::string& why) {
  fail(KILN_ERR_INVALID, "cpu_llvm: launch of kernel '" + p.name + "': " + why);
}

}  // namespace

void check_grid(const Program& p, const uint32_t global[3], const uint32_t local[3]) {
  for (int i = 0; i < 3; ++i) {
    if (global[i] > uint32_t(INT32_MAX))
      bad_launch(p, "global_size[" + std::to_string(i) + "] = " + std::to_string(global[i]) +
                        " exceeds max_global_size (2^31-1)");
    if (local[i] > 1)
      bad_launch(p, "local_size[" + std::to_string(i) + "] = " + std::to_string(local[i]) +
                        ", this device runs one thread per group (max_local_size 1)");
  }
}

void check_bindings(const Program& p, const kiln_launch& l) {
  if (l.n_buffers < p.n_params)
    bad_launch(p, "needs " + std::to_string(p.n_params) + " buffers, got " +
                      std::to_string(l.n_buffers));
  if (p.n_params > 0 && l.buffers == nullptr) bad_launch(p, "buffers is NULL");
  for (uint32_t s = 0; s < p.n_params; ++s) {
    auto* b = reinterpret_cast<Buffer*>(l.buffers[s]);
    if (b == nullptr) bad_launch(p, "buffer slot " + std::to_string(s) + " is NULL");
    if (b->magic != kBufferMagic) bad_launch(p, "buffer slot " + std::to_string(s) + " is not a live buffer");
  }
  // Parameters are noalias in the generated code.
  for (uint32_t w : p.written)
    for (uint32_t s = 0; s < p.n_params; ++s)
      if (s != w && l.buffers[s] == l.buffers[w])
        bad_launch(p, "buffer slot " + std::to_string(w) + " is written and also bound to slot " +
                          std::to_string(s) + "; a written buffer must have one slot");
  if (l.n_vars < p.n_vars)
    bad_launch(p, "needs " + std::to_string(p.n_vars) + " variables, got " + std::to_string(l.n_vars));
  if (p.n_vars > 0 && l.vars == nullptr) bad_launch(p, "vars is NULL");
  for (uint32_t s = 0; s < p.n_vars; ++s) {
    if (l.vars[s] < p.var_min[s] || l.vars[s] > p.var_max[s])
      bad_launch(p, "variable slot " + std::to_string(s) + " = " + std::to_string(l.vars[s]) +
                        " is outside its declared range [" + std::to_string(p.var_min[s]) + ", " +
                        std::to_string(p.var_max[s]) + "]");
  }
}

void execute(Device& dev, const Program& p, const kiln_launch& l, const uint32_t grid[3]) {
  const int64_t total = int64_t(grid[0]) * grid[1] * grid[2];
  if (total == 0) return;
  void* stack_ptrs[kStackBuffers];
  std::vector<void*> heap_ptrs;
  void** ptrs = stack_ptrs;
  if (p.n_params > kStackBuffers) {
    heap_ptrs.resize(p.n_params);
    ptrs = heap_ptrs.data();
  }
  for (uint32_t s = 0; s < p.n_params; ++s) ptrs[s] = reinterpret_cast<Buffer*>(l.buffers[s])->data;

  const uint64_t work = uint64_t(total) > UINT64_MAX / p.work_per_group
                            ? UINT64_MAX
                            : uint64_t(total) * p.work_per_group;
  const uint64_t max_chunks = std::min<uint64_t>(uint64_t(total),
                                                 uint64_t(dev.pool->threads()) * kChunksPerThread);
  const uint64_t chunks = std::clamp<uint64_t>(work / kChunkWork, 1, std::max<uint64_t>(max_chunks, 1));
  if (chunks <= 1) {  // too small to share: no thread is woken
    p.fn(ptrs, l.vars, 0, total, grid[0], grid[1]);
    return;
  }
  LaunchJob job{p.fn, ptrs, l.vars, total, int64_t(chunks), grid[0], grid[1]};
  dev.pool->run(&run_chunk, &job, uint32_t(chunks));
}

void launch(Device& dev, const kiln_launch* l, double* time_s) {
  if (l == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: launch is NULL");
  Program& p = checked(l->program);
  check_grid(p, l->global_size, l->local_size);
  check_bindings(p, *l);
  if (time_s == nullptr) {
    execute(dev, p, *l, l->global_size);
    return;
  }
  auto start = std::chrono::steady_clock::now();
  execute(dev, p, *l, l->global_size);
  *time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace kiln::cpu
