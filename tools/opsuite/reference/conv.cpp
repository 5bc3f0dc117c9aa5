// Convolution (any number of spatial axes), average pooling and nearest upsampling.
#include <cmath>
#include <string>

#include "dtype_info.h"
#include "kiln/error.h"
#include "linalg.h"

namespace kiln::ref {

namespace {

std::string ints(const std::vector<int64_t>& v) { return shape_string(v); }

// One value per spatial axis: a single value applies to all of them.
std::vector<int64_t> per_axis(const std::vector<int64_t>& v, size_t axes, const char* what,
                              const Shape& x) {
  if (v.size() == 1) return std::vector<int64_t>(axes, v[0]);
  if (v.size() != axes)
    throw Error(std::string("reference: ") + what + " " + ints(v) + " for input " +
                shape_string(x));
  return v;
}

}  // namespace

NDArray conv(const NDArray& x, const NDArray& weight, const NDArray* bias, const ConvParams& p) {
  size_t s = x.shape.size() < 3 ? 0 : x.shape.size() - 2;
  if (s == 0 || weight.shape.size() != s + 2)
    throw Error("reference: conv of input " + shape_string(x.shape) + " with weight " +
                shape_string(weight.shape));
  int64_t n = x.shape[0], cin = x.shape[1], cout = weight.shape[0], g = p.groups;
  if (g <= 0 || cin % g != 0 || cout % g != 0 || weight.shape[1] != cin / g)
    throw Error("reference: conv of input " + shape_string(x.shape) + " with weight " +
                shape_string(weight.shape) + " and " + std::to_string(g) + " groups");
  if (bias && (bias->ndim() != 1 || bias->shape[0] != cout))
    throw Error("reference: conv bias of shape " + shape_string(bias->shape));
  auto stride = per_axis(p.stride, s, "stride", x.shape);
  auto pad = per_axis(p.padding, s, "padding", x.shape);
  auto dil = per_axis(p.dilation, s, "dilation", x.shape);
  Shape out_shape{n, cout};
  Shape kernel(weight.shape.begin() + 2, weight.shape.end());
  for (size_t a = 0; a < s; ++a) {
    int64_t span = dil[a] * (kernel[a] - 1) + 1;
    int64_t o = (x.shape[a + 2] + 2 * pad[a] - span) / stride[a] + 1;
    if (x.shape[a + 2] + 2 * pad[a] < span || stride[a] <= 0 || dil[a] <= 0)
      throw Error("reference: conv kernel " + shape_string(kernel) + " larger than input " +
                  shape_string(x.shape));
    out_shape.push_back(o);
  }
  NDArray out(x.dtype, out_shape);
  int64_t cin_g = cin / g, cout_g = cout / g;
  Shape wsub(weight.shape.begin() + 1, weight.shape.end());  // (cin_g, kernel...)
  int64_t i = 0;
  for_each_index(out_shape, [&](const Index& o) {
    int64_t b = o[0], co = o[1], grp = co / cout_g;
    double acc = bias ? bias->data[co] : 0.0;
    for_each_index(wsub, [&](const Index& w) {
      Index xi(x.shape.size());
      xi[0] = b;
      xi[1] = grp * cin_g + w[0];
      for (size_t a = 0; a < s; ++a) {
        xi[a + 2] = o[a + 2] * stride[a] - pad[a] + w[a + 1] * dil[a];
        if (xi[a + 2] < 0 || xi[a + 2] >= x.shape[a + 2]) return;
      }
      Index wi{co};
      wi.insert(wi.end(), w.begin(), w.end());
      acc += x.at(xi) * weight.at(wi);
    });
    out.data[static_cast<size_t>(i++)] = round_to(out.dtype, acc);
  });
  return out;
}

NDArray avg_pool2d(const NDArray& x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                   std::vector<int64_t> padding) {
  if (x.ndim() != 4) throw Error("reference: avg_pool2d of shape " + shape_string(x.shape));
  kernel = per_axis(kernel, 2, "kernel", x.shape);
  stride = stride.empty() ? kernel : per_axis(stride, 2, "stride", x.shape);
  padding = per_axis(padding, 2, "padding", x.shape);
  Shape out_shape{x.shape[0], x.shape[1]};
  for (int a = 0; a < 2; ++a) {
    if (padding[a] * 2 > kernel[a] || x.shape[a + 2] + 2 * padding[a] < kernel[a])
      throw Error("reference: avg_pool2d kernel " + ints(kernel) + " for shape " +
                  shape_string(x.shape));
    out_shape.push_back((x.shape[a + 2] + 2 * padding[a] - kernel[a]) / stride[a] + 1);
  }
  NDArray out(x.dtype, out_shape);
  int64_t i = 0;
  for_each_index(out_shape, [&](const Index& o) {
    double acc = 0;
    for (int64_t ky = 0; ky < kernel[0]; ++ky) {
      for (int64_t kx = 0; kx < kernel[1]; ++kx) {
        int64_t y = o[2] * stride[0] - padding[0] + ky, xx = o[3] * stride[1] - padding[1] + kx;
        if (y >= 0 && y < x.shape[2] && xx >= 0 && xx < x.shape[3]) acc += x.at({o[0], o[1], y, xx});
      }
    }
    out.data[static_cast<size_t>(i++)] =
        round_to(out.dtype, acc / static_cast<double>(kernel[0] * kernel[1]));
  });
  return out;
}

NDArray upsample_nearest2d(const NDArray& x, int64_t scale) {
  if (x.ndim() != 4 || scale <= 0)
    throw Error("reference: upsample_nearest2d by " + std::to_string(scale) + " of shape " +
                shape_string(x.shape));
  Shape shape{x.shape[0], x.shape[1], x.shape[2] * scale, x.shape[3] * scale};
  NDArray out(x.dtype, shape);
  int64_t i = 0;
  for_each_index(shape, [&](const Index& o) {
    out.data[static_cast<size_t>(i++)] = x.at({o[0], o[1], o[2] / scale, o[3] / scale});
  });
  return out;
}

}  // namespace kiln::ref
