#include "graph_timeline.h"

#include <algorithm>
#include <cstdio>

namespace kiln::cuda {

namespace {
constexpr size_t kMaxMarks = 16384;  // replays timed per graph; later ones are not marked

CUevent new_event(const Driver& d) {
  CUevent e = nullptr;
  if (d.cuEventCreate(&e, CU_EVENT_DEFAULT) != CUDA_SUCCESS) return nullptr;
  return e;
}

// The q-quantile of v (0.5: the median).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t at = std::min(v.size() - 1, size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(at), v.end());
  return v[at];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}
}  // namespace

bool timeline_begin(Device& dev, GraphTimeline& t) {
  if (t.marks.size() >= kMaxMarks) return false;
  CUevent b = new_event(*dev.drv), e = new_event(*dev.drv);
  if (b == nullptr || e == nullptr) {
    if (b) dev.drv->cuEventDestroy(b);
    if (e) dev.drv->cuEventDestroy(e);
    return false;
  }
  dev.drv->cuEventRecord(b, dev.stream);
  t.marks.emplace_back(b, e);
  return true;
}

void timeline_end(Device& dev, GraphTimeline& t) {
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
  // the median and 90th percentile of the gaps speak for a steady decode; the mean and the
  // largest also hold the pauses between generate calls (a prompt's prefill runs another graph)
  if (!busy.empty())
    std::fprintf(
        stderr,
        "cuda_ptx: graph of %zu kernels, %zu replays: %.1f us on the GPU (median %.1f); between "
        "replays median %.1f us, p90 %.1f, mean %.1f, max %.1f\n",
        kernels, busy.size(), mean(busy), quantile(busy, 0.5), quantile(gaps, 0.5),
        quantile(gaps, 0.9), mean(gaps),
        gaps.empty() ? 0.0 : *std::max_element(gaps.begin(), gaps.end()));
  for (auto& [b, e] : t.marks) {
    d.cuEventDestroy(b);
    d.cuEventDestroy(e);
  }
  t.marks.clear();
}

}  // namespace kiln::cuda
