// layer, RMS and group normalization (biased variance, as in PyTorch).
#include <cmath>
#include <string>

#include "dtype_info.h"
#include "elementwise.h"
#include "kiln/error.h"
#include "linalg.h"
#include "lines.h"

namespace kiln::ref {

namespace {
void check_param(const NDArray* p, int64_t n, const char* what, const Shape& x) {
  if (p && (p->ndim() != 1 || p->shape[0] != n))
    throw Error(std::string("reference: ") + what + " of shape " + shape_string(p->shape) +
                " for input " + shape_string(x));
}
}  // namespace

NDArray layer_norm(const NDArray& x, const NDArray* weight, const NDArray* bias, double eps) {
  if (x.ndim() == 0) throw Error("reference: layer_norm of a scalar");
  int d = x.ndim() - 1;
  check_param(weight, x.shape[d], "layer_norm weight", x.shape);
  check_param(bias, x.shape[d], "layer_norm bias", x.shape);
  NDArray out(x.dtype, x.shape);
  for_each_line(x.shape, d, [&](const std::vector<int64_t>& off) {
    double m = 0, v = 0;
    for (int64_t o : off) m += x.data[o];
    m /= static_cast<double>(off.size());
    for (int64_t o : off) v += (x.data[o] - m) * (x.data[o] - m);
    v /= static_cast<double>(off.size());
    double r = 1.0 / std::sqrt(v + eps);
    for (size_t i = 0; i < off.size(); ++i) {
      double y = (x.data[off[i]] - m) * r;
      if (weight) y *= weight->data[i];
      if (bias) y += bias->data[i];
      out.data[off[i]] = round_to(out.dtype, y);
    }
  });
  return out;
}

NDArray rms_norm(const NDArray& x, const NDArray* weight, double eps) {
  if (x.ndim() == 0) throw Error("reference: rms_norm of a scalar");
  int d = x.ndim() - 1;
  check_param(weight, x.shape[d], "rms_norm weight", x.shape);
  NDArray out(x.dtype, x.shape);
  for_each_line(x.shape, d, [&](const std::vector<int64_t>& off) {
    double ms = 0;
    for (int64_t o : off) ms += x.data[o] * x.data[o];
    ms /= static_cast<double>(off.size());
    double r = 1.0 / std::sqrt(ms + eps);
    for (size_t i = 0; i < off.size(); ++i) {
      double y = x.data[off[i]] * r;
      if (weight) y *= weight->data[i];
      out.data[off[i]] = round_to(out.dtype, y);
    }
  });
  return out;
}

NDArray group_norm(const NDArray& x, int64_t groups, const NDArray* weight, const NDArray* bias,
                   double eps) {
  if (x.ndim() < 2 || groups <= 0 || x.shape[1] % groups != 0)
    throw Error("reference: group_norm with " + std::to_string(groups) + " groups of shape " +
                shape_string(x.shape));
  int64_t n = x.shape[0], c = x.shape[1];
  check_param(weight, c, "group_norm weight", x.shape);
  check_param(bias, c, "group_norm bias", x.shape);
  int64_t spatial = x.numel() / std::max<int64_t>(1, n * c);
  int64_t per_group = c / groups * spatial;
  NDArray out(x.dtype, x.shape);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      int64_t base = (b * c + g * (c / groups)) * spatial;
      double m = 0, v = 0;
      for (int64_t i = 0; i < per_group; ++i) m += x.data[base + i];
      m /= static_cast<double>(per_group);
      for (int64_t i = 0; i < per_group; ++i) v += (x.data[base + i] - m) * (x.data[base + i] - m);
      v /= static_cast<double>(per_group);
      double r = 1.0 / std::sqrt(v + eps);
      for (int64_t i = 0; i < per_group; ++i) {
        int64_t ch = g * (c / groups) + i / spatial;
        double y = (x.data[base + i] - m) * r;
        if (weight) y *= weight->data[ch];
        if (bias) y += bias->data[ch];
        out.data[base + i] = round_to(out.dtype, y);
      }
    }
  }
  return out;
}

}  // namespace kiln::ref
