// Scaled-dot-product attention, written the textbook way (every score, then softmax, in double).
#include <cmath>
#include <string>
#include <vector>

#include "dtype_info.h"
#include "kiln/error.h"
#include "linalg.h"

namespace kiln::ref {

namespace {

void check_attention_shapes(const NDArray& q, const NDArray& k, const NDArray& v) {
  if (q.ndim() != 4 || k.ndim() != 4 || v.shape != k.shape || q.shape[0] != k.shape[0] ||
      q.shape[3] != k.shape[3] || k.shape[1] == 0 || q.shape[1] % k.shape[1] != 0)
    throw Error("reference: attention of q " + shape_string(q.shape) + ", k " +
                shape_string(k.shape) + ", v " + shape_string(v.shape));
}

// Output row (b, h, i) into out_row (D values, rounded to q's dtype).
void attention_row(const NDArray& q, const NDArray& k, const NDArray& v, const AttentionParams& p,
                   int64_t b, int64_t h, int64_t i, double* out_row) {
  int64_t hq = q.shape[1], lq = q.shape[2], d = q.shape[3];
  int64_t hkv = k.shape[1], lk = k.shape[2], kh = h / (hq / hkv);
  double scale = p.scale ? *p.scale : 1.0 / std::sqrt(static_cast<double>(d));
  const double* qr = q.data.data() + ((b * hq + h) * lq + i) * d;
  const double* kb = k.data.data() + (b * hkv + kh) * lk * d;
  const double* vb = v.data.data() + (b * hkv + kh) * lk * d;
  int64_t pos = p.q_offset + i;
  std::vector<double> w(static_cast<size_t>(lk));
  double m = -INFINITY;
  for (int64_t j = 0; j < lk; ++j) {
    bool masked = (p.causal && j > pos) || (p.sliding_window && pos - j >= *p.sliding_window);
    double s = -INFINITY;
    if (!masked) {
      s = 0;
      for (int64_t x = 0; x < d; ++x) s += qr[x] * kb[j * d + x];
      s *= scale;
    }
    w[j] = s;
    m = std::max(m, s);
  }
  if (m == -INFINITY) throw Error("reference: attention query " + std::to_string(i) + " sees no key");
  double total = 0;
  for (int64_t j = 0; j < lk; ++j) total += (w[j] = std::exp(w[j] - m));
  for (int64_t x = 0; x < d; ++x) {
    double acc = 0;
    for (int64_t j = 0; j < lk; ++j) acc += w[j] * vb[j * d + x];
    out_row[x] = round_to(q.dtype, acc / total);
  }
}

}  // namespace

NDArray attention(const NDArray& q, const NDArray& k, const NDArray& v, const AttentionParams& p) {
  check_attention_shapes(q, k, v);
  NDArray out(q.dtype, q.shape);
  int64_t d = q.shape[3];
  for (int64_t b = 0; b < q.shape[0]; ++b)
    for (int64_t h = 0; h < q.shape[1]; ++h)
      for (int64_t i = 0; i < q.shape[2]; ++i)
        attention_row(q, k, v, p, b, h, i, out.data.data() + ((b * q.shape[1] + h) * q.shape[2] + i) * d);
  return out;
}

NDArray attention_rows(const NDArray& q, const NDArray& k, const NDArray& v,
                       const AttentionParams& p, const std::vector<Index>& rows) {
  check_attention_shapes(q, k, v);
  int64_t d = q.shape[3];
  NDArray out(q.dtype, {static_cast<int64_t>(rows.size()), d});
  for (size_t r = 0; r < rows.size(); ++r)
    attention_row(q, k, v, p, rows[r].at(0), rows[r].at(1), rows[r].at(2),
                  out.data.data() + static_cast<int64_t>(r) * d);
  return out;
}

}  // namespace kiln::ref
