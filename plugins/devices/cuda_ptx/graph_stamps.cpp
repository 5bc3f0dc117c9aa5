#include "graph_stamps.h"

#include "ptx_render.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

namespace kiln::cuda {

namespace {
// u64 words a node: a line with the start and the pass of the wait, then the end stamps' lines
constexpr size_t kLineWords = kStampLineBytes / 8, kWords = kLineWords * (1 + kStampEndLines);
constexpr size_t kMaxReplays = 4096;  // replays kept; later ones run unstamped

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}
}  // namespace

std::unique_ptr<GraphStamps> stamps_create(Device& dev, size_t n) {
  auto s = std::make_unique<GraphStamps>();
  if (n == 0 || dev.drv->cuMemAlloc(&s->buffer, n * kWords * 8) != CUDA_SUCCESS) return nullptr;
  s->reset.assign(n * kWords, 0);
  for (size_t i = 0; i < n; ++i)  // minima start high, the maxima low
    s->reset[i * kWords] = s->reset[i * kWords + 1] = std::numeric_limits<uint64_t>::max();
  return s;
}

uint64_t stamps_slot(const GraphStamps& s, size_t i) {
  return s.buffer + i * kWords * 8;
}

void stamps_before(Device& dev, GraphStamps& s) {
  if (s.replays.size() >= kMaxReplays) return;
  dev.drv->cuMemcpyHtoDAsync(s.buffer, s.reset.data(), s.reset.size() * 8, dev.stream);
}

void stamps_after(Device& dev, GraphStamps& s) {
  if (s.replays.size() >= kMaxReplays) return;
  std::vector<uint64_t> got(s.reset.size());
  const Driver& d = *dev.drv;
  if (d.cuMemcpyDtoHAsync(got.data(), s.buffer, got.size() * 8, dev.stream) != CUDA_SUCCESS ||
      d.cuStreamSynchronize(dev.stream) != CUDA_SUCCESS)
    return;
  s.replays.push_back(std::move(got));
}

void stamps_report(Device& dev, GraphStamps& s, const std::vector<std::string>& names) {
  const size_t n = s.reset.size() / kWords;
  constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();
  std::vector<std::vector<double>> start(n), past(n), end(n), advance(n);
  std::vector<double> spans;
  for (const auto& r : s.replays) {
    uint64_t t0 = kNone;
    for (size_t i = 0; i < n; ++i) t0 = std::min(t0, r[i * kWords]);
    if (t0 == kNone) continue;
    uint64_t last = t0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t b = r[i * kWords], w = r[i * kWords + 1];
      uint64_t e = 0;
      for (size_t l = 1; l <= kStampEndLines; ++l) e = std::max(e, r[i * kWords + l * kLineWords]);
      if (b == kNone || e == 0) continue;  // a node left out of the graph
      start[i].push_back(double(b - t0) * 1e-3);
      past[i].push_back(w == kNone ? 0 : double(w - t0) * 1e-3);
      end[i].push_back(double(e - t0) * 1e-3);
      advance[i].push_back(e > last ? double(e - last) * 1e-3 : 0);
      last = std::max(last, e);
    }
    spans.push_back(double(last - t0) * 1e-3);
  }
  if (!spans.empty()) {
    std::fprintf(stderr,
                 "cuda_ptx: stamps of a graph of %zu kernels, %zu replays: median %.1f us from the "
                 "first kernel's start to the last one's end\n"
                 "cuda_ptx: stamps: node, kernel, median us from the replay's start: started, past "
                 "the wait, done; advance of the replay's end\n",
                 n, spans.size(), median(spans));
    std::map<std::string, std::pair<int, double>> by_name;
    for (size_t i = 0; i < n; ++i) {
      if (start[i].empty()) continue;
      const std::string& name = i < names.size() ? names[i] : std::string("?");
      const double adv = median(advance[i]);
      std::fprintf(stderr, "cuda_ptx: stamps: %4zu %-48s %9.2f %9.2f %9.2f %7.2f\n", i,
                   name.c_str(), median(start[i]), median(past[i]), median(end[i]), adv);
      auto& e = by_name[name];
      e.first++;
      e.second += adv;
    }
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [name, e] : by_name) order.emplace_back(-e.second, name);
    std::sort(order.begin(), order.end());
    for (const auto& [neg, name] : order)
      std::fprintf(stderr, "cuda_ptx: stamps by kernel: %-48s x%-3d %8.1f us\n", name.c_str(),
                   by_name[name].first, -neg);
  }
  dev.drv->cuMemFree(s.buffer);
  s.buffer = 0;
}

}  // namespace kiln::cuda
