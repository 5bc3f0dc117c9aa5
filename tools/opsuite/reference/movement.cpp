#include "movement.h"

#include <algorithm>
#include <string>

#include "dtype_info.h"
#include "elementwise.h"
#include "kiln/error.h"

namespace kiln::ref {

namespace {

// out[idx] = a[source(idx)], or `fill` where source returns false.
NDArray remap(const NDArray& a, const Shape& shape,
              const std::function<bool(const Index&, Index&)>& source, double fill = 0) {
  NDArray out(a.dtype, shape);
  Index src(a.shape.size());
  int64_t i = 0;
  double filled = round_to(a.dtype, fill);
  for_each_index(shape, [&](const Index& idx) {
    out.data[static_cast<size_t>(i++)] = source(idx, src) ? a.at(src) : filled;
  });
  return out;
}

std::string ints(const std::vector<int64_t>& v) { return shape_string(v); }
std::string ints(const std::vector<int>& v) { return shape_string(Shape(v.begin(), v.end())); }

}  // namespace

NDArray reshape(const NDArray& a, Shape shape) {
  int infer = -1;
  int64_t known = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      if (infer >= 0)
        throw Error("reference: reshape " + shape_string(a.shape) + " to " + ints(shape) +
                    ": more than one -1");
      infer = static_cast<int>(d);
    } else if (shape[d] < 0) {
      throw Error("reference: reshape " + shape_string(a.shape) + " to " + ints(shape));
    } else {
      known *= shape[d];
    }
  }
  if (infer >= 0) {
    if (known == 0 || a.numel() % known != 0)
      throw Error("reference: reshape " + shape_string(a.shape) + " to " + ints(shape));
    shape[infer] = a.numel() / known;
  }
  if (numel_of(shape) != a.numel())
    throw Error("reference: cannot reshape " + shape_string(a.shape) + " to " + ints(shape));
  return NDArray(a.dtype, shape, a.data);
}

NDArray permute(const NDArray& a, const std::vector<int>& order) {
  if (static_cast<int>(order.size()) != a.ndim())
    throw Error("reference: permute " + ints(order) + " of shape " + shape_string(a.shape));
  std::vector<int> o(order.size());
  std::vector<bool> seen(order.size(), false);
  Shape shape(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    o[i] = normalize_axis(order[i], a.ndim(), a.shape);
    if (seen[o[i]])
      throw Error("reference: permute " + ints(order) + " of shape " + shape_string(a.shape));
    seen[o[i]] = true;
    shape[i] = a.shape[o[i]];
  }
  return remap(a, shape, [&](const Index& idx, Index& src) {
    for (size_t i = 0; i < o.size(); ++i) src[o[i]] = idx[i];
    return true;
  });
}

NDArray transpose(const NDArray& a, int d0, int d1) {
  std::vector<int> order(a.ndim());
  for (int i = 0; i < a.ndim(); ++i) order[i] = i;
  std::swap(order[normalize_axis(d0, a.ndim(), a.shape)],
            order[normalize_axis(d1, a.ndim(), a.shape)]);
  return permute(a, order);
}

NDArray expand(const NDArray& a, const Shape& shape) {
  if (shape.size() < a.shape.size())
    throw Error("reference: expand " + shape_string(a.shape) + " to " + ints(shape));
  size_t lead = shape.size() - a.shape.size();
  Shape target = shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (d >= lead && shape[d] == -1) target[d] = a.shape[d - lead];
    if (target[d] < 0 || (d >= lead && a.shape[d - lead] != 1 && a.shape[d - lead] != target[d]))
      throw Error("reference: expand " + shape_string(a.shape) + " to " + ints(shape));
  }
  return broadcast_to(a, target);
}

NDArray pad(const NDArray& a, const std::vector<std::pair<int64_t, int64_t>>& padding,
            double value) {
  if (static_cast<int>(padding.size()) != a.ndim())
    throw Error("reference: " + std::to_string(padding.size()) + " padding pairs for shape " +
                shape_string(a.shape));
  Shape shape(a.shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (padding[d].first < 0 || padding[d].second < 0)
      throw Error("reference: negative padding of shape " + shape_string(a.shape));
    shape[d] += padding[d].first + padding[d].second;
  }
  return remap(
      a, shape,
      [&](const Index& idx, Index& src) {
        for (size_t d = 0; d < idx.size(); ++d) {
          src[d] = idx[d] - padding[d].first;
          if (src[d] < 0 || src[d] >= a.shape[d]) return false;
        }
        return true;
      },
      value);
}

NDArray shrink(const NDArray& a, const std::vector<std::pair<int64_t, int64_t>>& bounds) {
  if (static_cast<int>(bounds.size()) != a.ndim())
    throw Error("reference: " + std::to_string(bounds.size()) + " shrink bounds for shape " +
                shape_string(a.shape));
  Shape shape(a.shape.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    auto [lo, hi] = bounds[d];
    if (lo < 0 || hi < lo || hi > a.shape[d])
      throw Error("reference: shrink [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  ") out of range for shape " + shape_string(a.shape));
    shape[d] = hi - lo;
  }
  return remap(a, shape, [&](const Index& idx, Index& src) {
    for (size_t d = 0; d < idx.size(); ++d) src[d] = idx[d] + bounds[d].first;
    return true;
  });
}

NDArray flip(const NDArray& a, const std::vector<int>& axes) {
  std::vector<bool> flipped(a.shape.size(), false);
  for (int ax : axes) flipped[normalize_axis(ax, a.ndim(), a.shape)] = true;
  return remap(a, a.shape, [&](const Index& idx, Index& src) {
    for (size_t d = 0; d < idx.size(); ++d) src[d] = flipped[d] ? a.shape[d] - 1 - idx[d] : idx[d];
    return true;
  });
}

SliceRange slice_range(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop,
                       int64_t step) {
  if (step == 0) throw Error("reference: slice step cannot be zero");
  auto clamp_index = [&](int64_t v, int64_t lo, int64_t hi) {
    if (v < 0) v += n;
    return std::clamp(v, lo, hi);
  };
  int64_t first, last;
  if (step > 0) {
    first = start ? clamp_index(*start, 0, n) : 0;
    last = stop ? clamp_index(*stop, 0, n) : n;
    int64_t count = last > first ? (last - first + step - 1) / step : 0;
    return {first, step, count};
  }
  first = start ? clamp_index(*start, -1, n - 1) : n - 1;
  last = stop ? clamp_index(*stop, -1, n - 1) : -1;
  int64_t count = first > last ? (first - last + (-step) - 1) / (-step) : 0;
  return {first, step, count};
}

NDArray slice(const NDArray& a, int axis, std::optional<int64_t> start,
              std::optional<int64_t> stop, int64_t step) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  SliceRange r = slice_range(a.shape[d], start, stop, step);
  Shape shape = a.shape;
  shape[d] = r.count;
  return remap(a, shape, [&](const Index& idx, Index& src) {
    src = idx;
    src[d] = r.first + idx[d] * r.step;
    return true;
  });
}

NDArray assign_slice(const NDArray& a, int axis, std::optional<int64_t> start,
                     std::optional<int64_t> stop, int64_t step, const NDArray& value) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  SliceRange r = slice_range(a.shape[d], start, stop, step);
  Shape shape = a.shape;
  shape[d] = r.count;
  NDArray v = cast(broadcast_to(value, shape), a.dtype);
  NDArray out = a;
  int64_t i = 0;
  for_each_index(shape, [&](const Index& idx) {
    Index dst = idx;
    dst[d] = r.first + idx[d] * r.step;
    out.at(dst) = v.data[static_cast<size_t>(i++)];
  });
  return out;
}

NDArray squeeze(const NDArray& a, std::optional<int> axis) {
  Shape shape;
  if (axis) {
    int d = normalize_axis(*axis, a.ndim(), a.shape);
    for (int i = 0; i < a.ndim(); ++i)
      if (i != d || a.shape[i] != 1) shape.push_back(a.shape[i]);
  } else {
    for (int64_t s : a.shape)
      if (s != 1) shape.push_back(s);
  }
  return NDArray(a.dtype, shape, a.data);
}

NDArray unsqueeze(const NDArray& a, int axis) {
  int d = normalize_axis(axis, a.ndim() + 1, a.shape);
  Shape shape = a.shape;
  shape.insert(shape.begin() + d, 1);
  return NDArray(a.dtype, shape, a.data);
}

NDArray flatten(const NDArray& a, int start_axis, int end_axis) {
  if (a.ndim() == 0) return NDArray(a.dtype, {1}, a.data);
  int s = normalize_axis(start_axis, a.ndim(), a.shape);
  int e = normalize_axis(end_axis, a.ndim(), a.shape);
  if (e < s)
    throw Error("reference: flatten(" + std::to_string(start_axis) + ", " +
                std::to_string(end_axis) + ") of shape " + shape_string(a.shape));
  Shape shape(a.shape.begin(), a.shape.begin() + s);
  int64_t n = 1;
  for (int d = s; d <= e; ++d) n *= a.shape[d];
  shape.push_back(n);
  shape.insert(shape.end(), a.shape.begin() + e + 1, a.shape.end());
  return NDArray(a.dtype, shape, a.data);
}

NDArray repeat(const NDArray& a, const std::vector<int64_t>& times) {
  if (times.size() < a.shape.size())
    throw Error("reference: repeat " + ints(times) + " has fewer entries than shape " +
                shape_string(a.shape));
  size_t lead = times.size() - a.shape.size();
  Shape shape(times.size());
  for (size_t d = 0; d < times.size(); ++d) {
    if (times[d] < 0) throw Error("reference: negative repeat " + ints(times));
    shape[d] = times[d] * (d < lead ? 1 : a.shape[d - lead]);
  }
  return remap(a, shape, [&](const Index& idx, Index& src) {
    for (size_t d = 0; d < src.size(); ++d) src[d] = idx[d + lead] % a.shape[d];
    return true;
  });
}

NDArray cat(const std::vector<NDArray>& arrays, int axis) {
  if (arrays.empty()) throw Error("reference: cat of no arrays");
  const NDArray& first = arrays[0];
  int d = normalize_axis(axis, first.ndim(), first.shape);
  Shape shape = first.shape;
  shape[d] = 0;
  for (const NDArray& a : arrays) {
    Shape s = a.shape;
    if (a.ndim() == first.ndim()) s[d] = 0;
    if (s != shape || a.dtype != first.dtype)
      throw Error("reference: cat of shapes " + shape_string(first.shape) + " and " +
                  shape_string(a.shape) + " along axis " + std::to_string(axis));
  }
  for (const NDArray& a : arrays) shape[d] += a.shape[d];
  NDArray out(first.dtype, shape);
  int64_t i = 0;
  for_each_index(shape, [&](const Index& idx) {
    Index src = idx;
    size_t k = 0;
    while (src[d] >= arrays[k].shape[d]) src[d] -= arrays[k++].shape[d];
    out.data[static_cast<size_t>(i++)] = arrays[k].at(src);
  });
  return out;
}

NDArray stack(const std::vector<NDArray>& arrays, int axis) {
  if (arrays.empty()) throw Error("reference: stack of no arrays");
  std::vector<NDArray> expanded;
  for (const NDArray& a : arrays) {
    if (a.shape != arrays[0].shape)
      throw Error("reference: stack of shapes " + shape_string(arrays[0].shape) + " and " +
                  shape_string(a.shape));
    expanded.push_back(unsqueeze(a, axis));
  }
  return cat(expanded, axis);
}

}  // namespace kiln::ref
