// Movement ops: views over the source (ShapeTracker index math), never copies.
#include <algorithm>

#include "tensor/tensor_internal.h"

namespace kiln {

using namespace detail;

namespace {
// The tracker the next movement applies to, and the node under it.
std::pair<UOpRef, ShapeTracker> base_view(const Tensor& t) {
  const UOpRef& n = t.node();
  if (n->op == Op::View && !n->realized()) return {n->src[0], n->st};
  return {n, ShapeTracker(n->shape)};
}

template <class F>
Tensor move(const Tensor& t, F&& f) {
  auto [src, st] = base_view(t);
  return Tensor(make_view(src, f(st)));
}
}  // namespace

Tensor Tensor::reshape(const Shape& shape_in) const {
  const Shape& s = node_of(*this, "reshape")->shape;
  Shape shape = shape_in;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0)
        throw Error("reshape: more than one -1 in " + shape_str(shape_in) + " for " + shape_str(s));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw Error("reshape: negative dimension in " + shape_str(shape_in) + " for " + shape_str(s));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0)
      throw Error("reshape: cannot reshape " + shape_str(s) + " into " + shape_str(shape_in));
    shape[infer] = numel() / known;
  }
  if (shape_numel(shape) != numel())
    throw Error("reshape: cannot reshape " + shape_str(s) + " (" + std::to_string(numel()) +
                " elements) into " + shape_str(shape_in));
  if (shape == s) return *this;
  return move(*this, [&](const ShapeTracker& st) { return st.reshape(shape); });
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  const Shape& s = node_of(*this, "permute")->shape;
  if (order.size() != s.size())
    throw Error("permute: order of " + std::to_string(order.size()) + " axes for shape " + shape_str(s));
  std::vector<int> norm;
  std::vector<bool> seen(s.size(), false);
  for (int a : order) {
    int n = normalize_axis(a, ndim(), "permute", s);
    if (seen[n]) throw Error("permute: axis " + std::to_string(a) + " repeated for shape " + shape_str(s));
    seen[n] = true;
    norm.push_back(n);
  }
  bool identity = true;
  for (size_t i = 0; i < norm.size(); ++i) identity &= norm[i] == static_cast<int>(i);
  if (identity) return *this;
  return move(*this, [&](const ShapeTracker& st) { return st.permute(norm); });
}

Tensor Tensor::transpose(int a, int b) const {
  const Shape& s = node_of(*this, "transpose")->shape;
  int x = normalize_axis(a, ndim(), "transpose", s), y = normalize_axis(b, ndim(), "transpose", s);
  std::vector<int> order(s.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::swap(order[x], order[y]);
  return permute(order);
}

Tensor Tensor::expand(const Shape& shape_in) const {
  const Shape& s = node_of(*this, "expand")->shape;
  if (shape_in.size() < s.size())
    throw Error("expand: cannot expand " + shape_str(s) + " to fewer dims " + shape_str(shape_in));
  Shape shape = shape_in;
  size_t lead = shape.size() - s.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t cur = i < lead ? 1 : s[i - lead];
    if (shape[i] == -1) {
      if (i < lead) throw Error("expand: -1 for a new leading dim in " + shape_str(shape_in));
      shape[i] = cur;
    }
    if (cur != shape[i] && cur != 1)
      throw Error("expand: cannot expand " + shape_str(s) + " to " + shape_str(shape_in));
  }
  Tensor t = *this;
  if (lead) {
    Shape r(lead, 1);
    r.insert(r.end(), s.begin(), s.end());
    t = reshape(r);
  }
  if (t.shape() == shape) return t;
  return move(t, [&](const ShapeTracker& st) { return st.expand(shape); });
}

Tensor Tensor::pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value) const {
  const Shape& s = node_of(*this, "pad")->shape;
  if (padding.size() != s.size())
    throw Error("pad: " + std::to_string(padding.size()) + " (before, after) pairs for shape " + shape_str(s));
  bool any = false, negative = false;
  for (auto [b, a] : padding) {
    any |= b != 0 || a != 0;
    negative |= b < 0 || a < 0;
  }
  if (!any) return *this;
  if (negative) {
    // negative padding crops
    std::vector<std::pair<int64_t, int64_t>> crop, grow;
    for (size_t i = 0; i < s.size(); ++i) {
      auto [b, a] = padding[i];
      int64_t lo = b < 0 ? -b : 0, hi = s[i] - (a < 0 ? -a : 0);
      if (hi < lo) throw Error("pad: negative padding larger than shape " + shape_str(s));
      crop.push_back({lo, hi});
      grow.push_back({std::max<int64_t>(b, 0), std::max<int64_t>(a, 0)});
    }
    return shrink(crop).pad(grow, value);
  }
  Tensor padded = move(*this, [&](const ShapeTracker& st) { return st.pad(padding); });
  if (value == 0) return padded;
  Tensor inside = Tensor::ones(s, DType::Bool, device()).pad(padding, 0);
  return where(inside, padded, scalar_like(value));
}

Tensor Tensor::shrink(const std::vector<std::pair<int64_t, int64_t>>& bounds) const {
  const Shape& s = node_of(*this, "shrink")->shape;
  if (bounds.size() != s.size())
    throw Error("shrink: " + std::to_string(bounds.size()) + " bounds for shape " + shape_str(s));
  bool identity = true;
  for (size_t i = 0; i < s.size(); ++i) {
    auto [lo, hi] = bounds[i];
    if (lo < 0 || hi > s[i] || lo > hi)
      throw Error("shrink: bounds (" + std::to_string(lo) + ", " + std::to_string(hi) +
                  ") invalid for axis " + std::to_string(i) + " of shape " + shape_str(s));
    identity &= lo == 0 && hi == s[i];
  }
  if (identity) return *this;
  return move(*this, [&](const ShapeTracker& st) { return st.shrink(bounds); });
}

Tensor Tensor::shrink_at(int axis_in, const Variable& start, int64_t length) const {
  const Shape& s = node_of(*this, "shrink_at")->shape;
  int axis = normalize_axis(axis_in, ndim(), "shrink_at", s);
  if (length < 0 || start.min_value() < 0 || start.max_value() + length > s[axis])
    throw Error("shrink_at: [" + start.name() + ", " + start.name() + "+" + std::to_string(length) +
                ") with " + start.name() + " in [" + std::to_string(start.min_value()) + ", " +
                std::to_string(start.max_value()) + "] does not fit axis " + std::to_string(axis) +
                " of shape " + shape_str(s));
  auto [src, st] = base_view(*this);
  if (st.has_mask())
    throw Error("shrink_at: the view of shape " + shape_str(s) + " is padded; realize it first");
  return Tensor(make_view(src, st.shrink_var(axis, start, length)));
}

Tensor Tensor::flip(const std::vector<int>& axes) const {
  const Shape& s = node_of(*this, "flip")->shape;
  auto norm = normalize_axes(axes, ndim(), "flip", s);
  if (axes.empty()) return *this;
  return move(*this, [&](const ShapeTracker& st) { return st.flip(norm); });
}

Tensor Tensor::slice(int axis_in, std::optional<int64_t> start_in, std::optional<int64_t> stop_in,
                     int64_t step) const {
  const Shape& s = node_of(*this, "slice")->shape;
  int axis = normalize_axis(axis_in, ndim(), "slice", s);
  if (step == 0) throw Error("slice: step is zero (shape " + shape_str(s) + ")");
  int64_t n = s[axis];
  // Python's slice.indices
  auto clamp_index = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + n : *v;
    return std::clamp<int64_t>(x, lo, hi);
  };
  int64_t start, stop;
  if (step > 0) {
    start = clamp_index(start_in, 0, 0, n);
    stop = clamp_index(stop_in, n, 0, n);
  } else {
    start = clamp_index(start_in, n - 1, -1, n - 1);
    stop = clamp_index(stop_in, -1, -1, n - 1);
  }
  int64_t count = step > 0 ? std::max<int64_t>(0, (stop - start + step - 1) / step)
                           : std::max<int64_t>(0, (start - stop + (-step) - 1) / (-step));
  Tensor t = *this;
  int64_t first = start, astep = step;
  if (step < 0) {
    // flip, then walk forward from the mirrored start
    t = t.flip({axis});
    first = n - 1 - start;
    astep = -step;
  }
  std::vector<std::pair<int64_t, int64_t>> b;
  for (size_t i = 0; i < s.size(); ++i) b.push_back({0, s[i]});
  if (count == 0) {
    b[axis] = {0, 0};
    return t.shrink(b);
  }
  int64_t span = (count - 1) * astep + 1;
  b[axis] = {first, first + span};
  t = t.shrink(b);
  if (astep == 1) return t;
  return move(t, [&](const ShapeTracker& st) { return st.stride_axis(axis, astep); });
}

Tensor Tensor::squeeze(std::optional<int> axis) const {
  const Shape& s = node_of(*this, "squeeze")->shape;
  Shape out;
  if (axis) {
    int a = normalize_axis(*axis, ndim(), "squeeze", s);
    for (size_t i = 0; i < s.size(); ++i)
      if (static_cast<int>(i) != a || s[i] != 1) out.push_back(s[i]);
  } else {
    for (auto d : s)
      if (d != 1) out.push_back(d);
  }
  return reshape(out);
}

Tensor Tensor::unsqueeze(int axis) const {
  const Shape& s = node_of(*this, "unsqueeze")->shape;
  int a = normalize_axis(axis, ndim() + 1, "unsqueeze", s);
  Shape out = s;
  out.insert(out.begin() + a, 1);
  return reshape(out);
}

Tensor Tensor::flatten(int start_axis, int end_axis) const {
  const Shape& s = node_of(*this, "flatten")->shape;
  if (s.empty()) return reshape({1});
  int a = normalize_axis(start_axis, ndim(), "flatten", s), b = normalize_axis(end_axis, ndim(), "flatten", s);
  if (a > b) throw Error("flatten: start axis after end axis for shape " + shape_str(s));
  Shape out(s.begin(), s.begin() + a);
  int64_t m = 1;
  for (int i = a; i <= b; ++i) m *= s[i];
  out.push_back(m);
  out.insert(out.end(), s.begin() + b + 1, s.end());
  return reshape(out);
}

Tensor Tensor::repeat(const std::vector<int64_t>& times) const {
  const Shape& s0 = node_of(*this, "repeat")->shape;
  if (times.size() < s0.size())
    throw Error("repeat: " + std::to_string(times.size()) + " repeat counts for shape " + shape_str(s0));
  Shape s(times.size() - s0.size(), 1);
  s.insert(s.end(), s0.begin(), s0.end());
  Shape inter, big, out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (times[i] < 0) throw Error("repeat: negative count for shape " + shape_str(s0));
    inter.push_back(1);
    inter.push_back(s[i]);
    big.push_back(times[i]);
    big.push_back(s[i]);
    out.push_back(times[i] * s[i]);
  }
  return reshape(inter).expand(big).reshape(out);
}

Tensor Tensor::cat(const std::vector<Tensor>& tensors, int axis_in) {
  if (tensors.empty()) throw Error("cat: no tensors");
  const Shape& s0 = node_of(tensors[0], "cat")->shape;
  int axis = normalize_axis(axis_in, static_cast<int>(s0.size()), "cat", s0);
  DType t = tensors[0].dtype();
  int64_t total = 0;
  for (const auto& x : tensors) {
    const Shape& s = node_of(x, "cat")->shape;
    bool ok = s.size() == s0.size();
    for (size_t i = 0; ok && i < s.size(); ++i) ok = static_cast<int>(i) == axis || s[i] == s0[i];
    if (!ok) throw Error("cat: shapes " + shape_str(s0) + " and " + shape_str(s) + " differ off axis " + std::to_string(axis));
    t = promote(t, x.dtype());
    total += s[axis];
  }
  DType acc = t == DType::Bool ? DType::U8 : t;
  Tensor out;
  int64_t offset = 0;
  for (const auto& x : tensors) {
    std::vector<std::pair<int64_t, int64_t>> p(s0.size(), {0, 0});
    p[axis] = {offset, total - offset - x.shape()[axis]};
    offset += x.shape()[axis];
    Tensor part = x.cast(acc).pad(p);
    out = out.defined() ? out + part : part;
  }
  return out.cast(t);
}

Tensor Tensor::stack(const std::vector<Tensor>& tensors, int axis) {
  if (tensors.empty()) throw Error("stack: no tensors");
  int a = normalize_axis(axis, tensors[0].ndim() + 1, "stack", tensors[0].shape());
  std::vector<Tensor> u;
  for (const auto& t : tensors) {
    if (t.shape() != tensors[0].shape())
      throw Error("stack: shapes " + shape_str(tensors[0].shape()) + " and " + shape_str(t.shape()) + " differ");
    u.push_back(t.unsqueeze(a));
  }
  return cat(u, a);
}

}  // namespace kiln
