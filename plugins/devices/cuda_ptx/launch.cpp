// Launching: checks a launch against the program's meta (slots, variable ranges, aliasing of
// written buffers), then cuLaunchKernel on the device's stream. Kernels whose groups use no
// threads ("flat") run one group per CUDA thread in blocks of 128; one-warp groups that share
// no memory run 4 to a block; the others run global_size groups of local_size threads.
#include <algorithm>

#include "device.h"
#include "errors.h"
#include "launch_args.h"

namespace kiln::cuda {

void prepare_launch(Device& dev, const kiln_launch& l, LaunchArgs& out) {
  Program& p = checked(l.program);
  const KernelMeta& m = p.meta;
  auto bad = [&](const std::string& why) {
    fail(KILN_ERR_INVALID, "cuda_ptx: launch '" + p.name + "': " + why);
  };
  if (l.n_buffers != m.n_params)
    bad(std::to_string(l.n_buffers) + " buffers bound, the kernel has " +
        std::to_string(m.n_params));
  if (l.n_vars != m.n_vars)
    bad(std::to_string(l.n_vars) + " variables given, the kernel has " + std::to_string(m.n_vars));
  if (m.n_params > 0 && l.buffers == nullptr) bad("buffers is NULL");
  if (m.n_vars > 0 && l.vars == nullptr) bad("vars is NULL");
  out.program = &p;
  out.values.assign(m.n_params + m.n_vars, 0);
  for (uint32_t s = 0; s < m.n_params; ++s) {
    Buffer& b = checked(l.buffers[s], "a bound buffer");
    out.values[s] = b.ptr;
  }
  for (uint32_t s = 0; s < m.n_params; ++s) {
    if (!m.written[s]) continue;
    for (uint32_t o = 0; o < m.n_params; ++o)
      if (o != s && out.values[o] == out.values[s])
        bad("slot " + std::to_string(s) + " is written and its buffer is also bound to slot " +
            std::to_string(o));
  }
  for (uint32_t v = 0; v < m.n_vars; ++v) {
    int64_t x = l.vars[v];
    if (x < m.var_min[v] || x > m.var_max[v])
      bad("variable " + std::to_string(v) + " = " + std::to_string(x) + " outside its range [" +
          std::to_string(m.var_min[v]) + ", " + std::to_string(m.var_max[v]) + "]");
    out.values[m.n_params + v] = uint64_t(x);
  }
  for (int a = 0; a < 3; ++a)
    if (l.global_size[a] == 0) bad("global_size has a zero extent");
  out.grid_x = l.global_size[0];
  if (m.flat) {
    unsigned threads = l.global_size[0] >= 128 ? 128 : (l.global_size[0] + 31) / 32 * 32;
    out.block = {threads, 1, 1};
    out.grid = {(l.global_size[0] + threads - 1) / threads, l.global_size[1], l.global_size[2]};
  } else if (m.pack > 1) {
    if (l.local_size[0] != 32 || l.local_size[1] > 1 || l.local_size[2] > 1)
      bad("the kernel was rendered for groups of one warp (local size 32), launched with " +
          std::to_string(l.local_size[0]) + "x" + std::to_string(l.local_size[1]) + "x" +
          std::to_string(l.local_size[2]));
    out.block = {32 * m.pack, 1, 1};
    out.grid = {(l.global_size[0] + m.pack - 1) / m.pack, l.global_size[1], l.global_size[2]};
  } else {
    uint64_t threads = 1;
    for (int a = 0; a < 3; ++a) {
      uint32_t n = std::max<uint32_t>(l.local_size[a], 1);
      if (n > uint32_t(dev.max_block[a])) bad("local_size exceeds the device's block limits");
      threads *= n;
      out.block[a] = n;
    }
    if (threads > uint64_t(dev.max_threads)) bad("more threads per group than the device allows");
    if (m.max_threads != 0 && threads != m.max_threads)
      bad("launched with " + std::to_string(threads) + " threads per group; the kernel shares " +
          "memory sized for " + std::to_string(m.max_threads));
    out.grid = {l.global_size[0], l.global_size[1], l.global_size[2]};
  }
  for (int a = 0; a < 3; ++a)
    if (out.grid[a] > uint32_t(dev.max_grid[a]))
      bad("grid of " + std::to_string(out.grid[a]) + " blocks along axis " + std::to_string(a) +
          " exceeds the device's " + std::to_string(dev.max_grid[a]));
}

std::vector<void*> kernel_params(const Device& dev, LaunchArgs& a) {
  std::vector<void*> params;
  params.reserve(a.values.size() + 3);
  for (auto& v : a.values) params.push_back(&v);
  params.push_back(&a.grid_x);
  params.push_back(&a.const_mask);
  if (dev.stamps) params.push_back(&a.stamps);  // (kernels rendered with stamps take it)
  return params;
}

void enqueue(Device& dev, LaunchArgs& a) {
  std::vector<void*> params = kernel_params(dev, a);
  const Driver& d = *dev.drv;
  check(d,
        d.cuLaunchKernel(a.program->fn, a.grid[0], a.grid[1], a.grid[2], a.block[0], a.block[1],
                         a.block[2], 0, dev.stream, params.data(), nullptr),
        "cuLaunchKernel", KILN_ERR_LAUNCH);
}

void launch(Device& dev, const kiln_launch* l, double* time_s) {
  if (l == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: launch is NULL");
  LaunchArgs args;
  prepare_launch(dev, *l, args);
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  const Driver& d = *dev.drv;
  if (time_s == nullptr) {
    enqueue(dev, args);
    return;
  }
  check(d, d.cuEventRecord(dev.t0, dev.stream), "cuEventRecord", KILN_ERR_LAUNCH);
  enqueue(dev, args);
  check(d, d.cuEventRecord(dev.t1, dev.stream), "cuEventRecord", KILN_ERR_LAUNCH);
  check(d, d.cuEventSynchronize(dev.t1), "cuEventSynchronize (the kernel failed)", KILN_ERR_LAUNCH);
  float ms = 0;
  check(d, d.cuEventElapsedTime(&ms, dev.t0, dev.t1), "cuEventElapsedTime", KILN_ERR_LAUNCH);
  *time_s = double(ms) * 1e-3;
}

}  // namespace kiln::cuda
