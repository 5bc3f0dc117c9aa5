// softmax, log_softmax, cumsum and topk along one axis.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "dtype_info.h"
#include "int_math.h"
#include "kiln/error.h"
#include "linalg.h"
#include "lines.h"

namespace kiln::ref {

namespace {
NDArray softmax_impl(const NDArray& a, int axis, bool log) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  NDArray out(float_result(a.dtype), a.shape);
  for_each_line(a.shape, d, [&](const std::vector<int64_t>& off) {
    double m = -INFINITY;
    for (int64_t o : off) m = std::max(m, a.data[o]);
    double s = 0;
    for (int64_t o : off) s += std::exp(a.data[o] - m);
    for (int64_t o : off)
      out.data[o] = round_to(out.dtype, log ? a.data[o] - m - std::log(s) : std::exp(a.data[o] - m) / s);
  });
  return out;
}
}  // namespace

NDArray softmax(const NDArray& a, int axis) { return softmax_impl(a, axis, false); }
NDArray log_softmax(const NDArray& a, int axis) { return softmax_impl(a, axis, true); }

NDArray cumsum(const NDArray& a, int axis) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  NDArray out(sum_result(a.dtype), a.shape);
  for_each_line(a.shape, d, [&](const std::vector<int64_t>& off) {
    double fs = 0;
    __int128 is = 0;
    for (int64_t o : off) {
      if (is_float_type(out.dtype)) {
        fs += a.data[o];
        out.data[o] = round_to(out.dtype, fs);
      } else {
        is += to_int128(a.data[o]);
        out.data[o] = wrap_exact(is, out.dtype);
      }
    }
  });
  return out;
}

std::pair<NDArray, NDArray> topk(const NDArray& a, int64_t k, int axis) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  if (k < 0 || k > a.shape[d])
    throw Error("reference: topk k=" + std::to_string(k) + " along axis " + std::to_string(axis) +
                " of shape " + shape_string(a.shape));
  Shape shape = a.shape;
  shape[d] = k;
  NDArray values(a.dtype, shape), indices(DType::I32, shape);
  std::vector<std::vector<int64_t>> out_lines;
  for_each_line(shape, d, [&](const std::vector<int64_t>& off) { out_lines.push_back(off); });
  size_t line = 0;
  for_each_line(a.shape, d, [&](const std::vector<int64_t>& off) {
    std::vector<int64_t> order(off.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return a.data[off[x]] > a.data[off[y]];
    });
    const std::vector<int64_t>& dst = out_lines[line++];
    for (int64_t i = 0; i < k; ++i) {
      values.data[dst[i]] = a.data[off[order[i]]];
      indices.data[dst[i]] = static_cast<double>(order[i]);
    }
  });
  return {values, indices};
}

}  // namespace kiln::ref
