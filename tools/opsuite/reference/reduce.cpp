#include "reduce.h"

#include <cmath>
#include <functional>
#include <string>

#include "dtype_info.h"
#include "elementwise.h"
#include "int_math.h"
#include "kiln/error.h"

namespace kiln::ref {

namespace {

std::vector<bool> reduced_mask(const Shape& shape, const std::vector<int>& axes) {
  int n = static_cast<int>(shape.size());
  std::vector<bool> mask(n, axes.empty());
  for (int a : axes) {
    int d = normalize_axis(a, n, shape);
    if (mask[d])
      throw Error("reference: axis " + std::to_string(a) + " repeated reducing shape " +
                  shape_string(shape));
    mask[d] = true;
  }
  return mask;
}

// Sets each output element to combine(the input values it reduces, in row-major order).
void for_each_group(const NDArray& a, const std::vector<int>& axes, NDArray& out,
                    const std::function<double(const std::vector<double>&)>& combine) {
  std::vector<bool> mask = reduced_mask(a.shape, axes);
  Shape kept(a.shape.size());
  for (size_t d = 0; d < a.shape.size(); ++d) kept[d] = mask[d] ? 1 : a.shape[d];
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel_of(kept)));
  Shape kept_strides = row_major_strides(kept);
  int64_t i = 0;
  for_each_index(a.shape, [&](const Index& idx) {
    int64_t g = 0;
    for (size_t d = 0; d < idx.size(); ++d) g += mask[d] ? 0 : idx[d] * kept_strides[d];
    groups[static_cast<size_t>(g)].push_back(a.data[static_cast<size_t>(i++)]);
  });
  for (size_t g = 0; g < groups.size(); ++g) out.data[g] = round_to(out.dtype, combine(groups[g]));
}

}  // namespace

Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdim) {
  std::vector<bool> mask = reduced_mask(shape, axes);
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!mask[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

NDArray sum(const NDArray& a, std::vector<int> axes, bool keepdim) {
  DType t = sum_result(a.dtype);
  NDArray out(t, reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [&](const std::vector<double>& v) {
    if (is_float_type(t)) {
      double s = 0;
      for (double x : v) s += x;
      return s;
    }
    __int128 s = 0;
    for (double x : v) s += to_int128(x);
    return wrap_exact(s, t);
  });
  return out;
}

NDArray prod(const NDArray& a, std::vector<int> axes, bool keepdim) {
  DType t = sum_result(a.dtype);
  NDArray out(t, reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [&](const std::vector<double>& v) {
    if (is_float_type(t)) {
      double p = 1;
      for (double x : v) p *= x;
      return p;
    }
    double p = 1;
    for (double x : v) p = int_mul(p, x, t);
    return p;
  });
  return out;
}

namespace {
NDArray extreme(const NDArray& a, const std::vector<int>& axes, bool keepdim, bool is_max) {
  NDArray out(a.dtype, reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [&](const std::vector<double>& v) {
    if (v.empty())
      throw Error("reference: " + std::string(is_max ? "max" : "min") +
                  " of an empty selection of shape " + shape_string(a.shape));
    double m = v[0];
    for (double x : v) m = is_max ? std::max(m, x) : std::min(m, x);
    return m;
  });
  return out;
}
}  // namespace

NDArray max(const NDArray& a, std::vector<int> axes, bool keepdim) {
  return extreme(a, axes, keepdim, true);
}
NDArray min(const NDArray& a, std::vector<int> axes, bool keepdim) {
  return extreme(a, axes, keepdim, false);
}

NDArray mean(const NDArray& a, std::vector<int> axes, bool keepdim) {
  NDArray out(float_result(a.dtype), reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  });
  return out;
}

NDArray var(const NDArray& a, std::vector<int> axes, bool keepdim, int64_t correction) {
  NDArray out(float_result(a.dtype), reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [&](const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / static_cast<double>(static_cast<int64_t>(v.size()) - correction);
  });
  return out;
}

NDArray abs_sum(const NDArray& a, std::vector<int> axes, bool keepdim) {
  NDArray out(DType::F64, reduced_shape(a.shape, axes, keepdim));
  for_each_group(a, axes, out, [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += std::fabs(x);
    return s;
  });
  return out;
}

namespace {
NDArray arg_extreme(const NDArray& a, int axis, bool keepdim, bool is_max) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  NDArray out(DType::I32, reduced_shape(a.shape, {d}, keepdim));
  for_each_group(a, {d}, out, [&](const std::vector<double>& v) {
    if (v.empty())
      throw Error("reference: arg" + std::string(is_max ? "max" : "min") +
                  " over an empty axis of shape " + shape_string(a.shape));
    size_t best = 0;
    for (size_t i = 1; i < v.size(); ++i)
      if (is_max ? v[i] > v[best] : v[i] < v[best]) best = i;
    return static_cast<double>(best);
  });
  return out;
}
}  // namespace

NDArray argmax(const NDArray& a, int axis, bool keepdim) { return arg_extreme(a, axis, keepdim, true); }
NDArray argmin(const NDArray& a, int axis, bool keepdim) { return arg_extreme(a, axis, keepdim, false); }

}  // namespace kiln::ref
