#include "graph_timeline.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kiln::cuda {

namespace {
constexpr size_t kMaxMarks = 16384;  // replays timed per graph; later ones are not marked

CUevent new_event(const Driver& d) {
  CUevent e = nullptr;
  if (d.cuEventCreate(&e, CU_EVENT_DEFAULT) != CUDA_SUCCESS) return nullptr;
  return e;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}
}  // namespace

bool graph_gaps_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("KILN_CUDA_GRAPH_GAPS");
    return e != nullptr && std::string(e) == "1";
  }();
  return on;
}

void timeline_begin(Device& dev, GraphTimeline& t) {
  if (t.marks.size() >= kMaxMarks) return;
  CUevent b = new_event(*dev.drv), e = new_event(*dev.drv);
  if (b == nullptr || e == nullptr) return;
  dev.drv->cuEventRecord(b, dev.stream);
  t.marks.emplace_back(b, e);
}

void timeline_end(Device& dev, GraphTimeline& t) {
  if (t.marks.empty() || t.marks.size() > kMaxMarks) return;
  dev.drv->cuEventRecord(t.marks.back().second, dev.stream);
}

void timeline_report(Device& dev, GraphTimeline& t, size_t kernels) {
  const Driver& d = *dev.drv;
  std::vector<double> busy, gaps;
  for (size_t i = 0; i < t.marks.size(); ++i) {
    float ms = 0;
    d.cuEventSynchronize(t.marks[i].second);
    if (d.cuEventElapsedTime(&ms, t.marks[i].first, t.marks[i].second) == CUDA_SUCCESS)
      busy.push_back(double(ms) * 1e3);
    if (i > 0 && d.cuEventElapsedTime(&ms, t.marks[i - 1].second, t.marks[i].first) == CUDA_SUCCESS)
      gaps.push_back(double(ms) * 1e3);
  }
  if (!busy.empty())
    std::fprintf(
        stderr,
        "cuda_ptx: graph of %zu kernels, %zu replays: %.1f us on the GPU (median %.1f), %.1f us "
        "between replays (median %.1f)\n",
        kernels, busy.size(), mean(busy), median(busy), mean(gaps), median(gaps));
  for (auto& [b, e] : t.marks) {
    d.cuEventDestroy(b);
    d.cuEventDestroy(e);
  }
  t.marks.clear();
}

}  // namespace kiln::cuda
