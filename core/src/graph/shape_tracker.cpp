#include "graph/shape_tracker.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include "kiln/error.h"

namespace kiln::detail {

namespace {
size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }

bool mask_is_full(const View& v) {
  if (v.mask.empty()) return true;
  for (size_t i = 0; i < v.shape.size(); ++i)
    if (v.mask[i].first != 0 || v.mask[i].second != v.shape[i]) return false;
  return true;
}

View normalized(View v) {
  // A size-1 or size-0 axis never moves the index: its stride is irrelevant.
  for (size_t i = 0; i < v.shape.size(); ++i)
    if (v.shape[i] <= 1) v.strides[i] = 0;
  if (mask_is_full(v)) v.mask.clear();
  return v;
}

// Tries to express `v` reshaped to `shape` as a single view. Returns false if impossible.
bool reshape_view(const View& v, const Shape& shape, View& out) {
  out = View{};
  out.shape = shape;
  out.strides.assign(shape.size(), 0);
  out.offset = v.offset;
  out.var = v.var;
  out.var_coef = v.var_coef;
  // Axes of size != 1 on both sides, grouped by equal products.
  std::vector<size_t> old_axes, new_axes;
  for (size_t i = 0; i < v.shape.size(); ++i)
    if (v.shape[i] != 1) old_axes.push_back(i);
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1) new_axes.push_back(i);
  bool masked = !v.mask.empty();
  if (masked) {
    out.mask.assign(shape.size(), {0, 1});
    // a masked-out size-1 axis makes everything invalid: keep that information
    for (size_t i = 0; i < v.shape.size(); ++i)
      if (v.shape[i] == 1 && v.mask[i].first >= v.mask[i].second) return false;
  }
  size_t oi = 0, ni = 0;
  while (oi < old_axes.size() || ni < new_axes.size()) {
    if (oi >= old_axes.size() || ni >= new_axes.size()) return false;
    size_t og = oi, ng = ni;
    int64_t op = v.shape[old_axes[oi++]], np = shape[new_axes[ni++]];
    while (op != np) {
      if (op < np) {
        if (oi >= old_axes.size()) return false;
        op *= v.shape[old_axes[oi++]];
      } else {
        if (ni >= new_axes.size()) return false;
        np *= shape[new_axes[ni++]];
      }
    }
    // old axes og..oi-1 must be mutually contiguous
    for (size_t k = og; k + 1 < oi; ++k) {
      size_t a = old_axes[k], b = old_axes[k + 1];
      if (v.strides[a] != v.strides[b] * v.shape[b]) return false;
    }
    if (masked) {
      bool group_masked = false;
      for (size_t k = og; k < oi; ++k) {
        auto m = v.mask[old_axes[k]];
        if (m.first != 0 || m.second != v.shape[old_axes[k]]) group_masked = true;
      }
      if (group_masked) {
        if (oi - og != 1 || ni - ng != 1) return false;
        out.mask[new_axes[ng]] = v.mask[old_axes[og]];
      } else {
        for (size_t k = ng; k < ni; ++k) out.mask[new_axes[k]] = {0, shape[new_axes[k]]};
      }
    }
    int64_t stride = v.strides[old_axes[oi - 1]];
    for (size_t k = ni; k-- > ng;) {
      out.strides[new_axes[k]] = stride;
      stride *= shape[new_axes[k]];
    }
  }
  out = normalized(out);
  return true;
}
}  // namespace

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 0);
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = shape[i] == 1 ? 0 : acc;
    acc *= shape[i];
  }
  return s;
}

View View::contiguous(const Shape& shape) {
  View v;
  v.shape = shape;
  v.strides = contiguous_strides(shape);
  return v;
}

bool View::is_contiguous() const {
  return offset == 0 && !var && mask.empty() && strides == contiguous_strides(shape);
}

bool View::operator==(const View& o) const {
  bool same_var = var.has_value() == o.var.has_value() && (!var || (*var == *o.var && var_coef == o.var_coef));
  return shape == o.shape && strides == o.strides && offset == o.offset && mask == o.mask && same_var;
}

size_t View::hash() const {
  size_t h = mix(0, shape.size());
  for (auto s : shape) h = mix(h, static_cast<size_t>(s));
  for (auto s : strides) h = mix(h, static_cast<size_t>(s));
  h = mix(h, static_cast<size_t>(offset));
  if (var) h = mix(mix(h, static_cast<size_t>(var->id())), static_cast<size_t>(var_coef));
  for (auto [a, b] : mask) h = mix(mix(h, static_cast<size_t>(a)), static_cast<size_t>(b));
  return h;
}

std::string View::str() const {
  std::ostringstream os;
  os << "View(shape=" << shape_str(shape) << ", strides=" << shape_str(strides)
     << ", offset=" << offset;
  if (var) os << "+" << var_coef << "*" << var->name();
  if (!mask.empty()) {
    os << ", mask=(";
    for (size_t i = 0; i < mask.size(); ++i)
      os << (i ? ", " : "") << "(" << mask[i].first << ", " << mask[i].second << ")";
    os << ")";
  }
  os << ")";
  return os.str();
}

bool ShapeTracker::has_mask() const {
  for (const auto& v : views_)
    if (!v.mask.empty()) return true;
  return false;
}

ShapeTracker ShapeTracker::reshape(const Shape& shape) const {
  if (shape == this->shape()) return *this;
  std::vector<View> views = views_;
  View out;
  if (reshape_view(views.back(), shape, out)) {
    views.back() = out;
  } else {
    views.push_back(View::contiguous(shape));
  }
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::permute(const std::vector<int>& order) const {
  std::vector<View> views = views_;
  View& v = views.back();
  View p;
  for (int a : order) {
    p.shape.push_back(v.shape[a]);
    p.strides.push_back(v.strides[a]);
    if (!v.mask.empty()) p.mask.push_back(v.mask[a]);
  }
  p.offset = v.offset;
  p.var = v.var;
  p.var_coef = v.var_coef;
  v = normalized(p);
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::expand(const Shape& shape) const {
  std::vector<View> views = views_;
  View& v = views.back();
  for (size_t i = 0; i < shape.size(); ++i) {
    if (v.shape[i] == shape[i]) continue;
    // only size-1 axes expand (checked by the caller)
    if (!v.mask.empty()) {
      bool valid = v.mask[i].first < v.mask[i].second;
      v.mask[i] = valid ? std::make_pair<int64_t, int64_t>(0, int64_t(shape[i]))
                        : std::make_pair<int64_t, int64_t>(0, 0);
    }
    v.shape[i] = shape[i];
    v.strides[i] = 0;
  }
  v = normalized(v);
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::pad(const std::vector<std::pair<int64_t, int64_t>>& padding) const {
  std::vector<View> views = views_;
  View& v = views.back();
  bool any = false;
  for (auto [b, a] : padding) any |= (b != 0 || a != 0);
  if (!any) return *this;
  if (v.mask.empty())
    for (auto s : v.shape) v.mask.push_back({0, s});
  for (size_t i = 0; i < padding.size(); ++i) {
    auto [b, a] = padding[i];
    v.offset -= b * v.strides[i];
    v.mask[i] = {v.mask[i].first + b, v.mask[i].second + b};
    v.shape[i] += b + a;
  }
  // the padded axes keep their stride even if they grew from size 1
  View n = v;
  if (mask_is_full(n)) n.mask.clear();
  v = n;
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::shrink(const std::vector<std::pair<int64_t, int64_t>>& bounds) const {
  std::vector<View> views = views_;
  View& v = views.back();
  for (size_t i = 0; i < bounds.size(); ++i) {
    auto [lo, hi] = bounds[i];
    v.offset += lo * v.strides[i];
    if (!v.mask.empty()) {
      int64_t mlo = std::max<int64_t>(0, v.mask[i].first - lo);
      int64_t mhi = std::min<int64_t>(hi - lo, v.mask[i].second - lo);
      if (mhi < mlo) mhi = mlo;
      v.mask[i] = {mlo, mhi};
    }
    v.shape[i] = hi - lo;
  }
  v = normalized(v);
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::flip(const std::vector<int>& axes) const {
  std::vector<View> views = views_;
  View& v = views.back();
  for (int a : axes) {
    int64_t s = v.shape[a];
    if (s <= 1) continue;
    v.offset += (s - 1) * v.strides[a];
    v.strides[a] = -v.strides[a];
    if (!v.mask.empty()) v.mask[a] = {s - v.mask[a].second, s - v.mask[a].first};
  }
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::compose_onto(const ShapeTracker& inner) const {
  std::vector<View> views = inner.views_;
  size_t start = 0;
  if (views_[0].is_contiguous()) {
    // our first view just reinterprets inner's output row-major: fold it into a reshape
    ShapeTracker r = inner.reshape(views_[0].shape);
    views = r.views_;
    start = 1;
  }
  for (size_t i = start; i < views_.size(); ++i) views.push_back(views_[i]);
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::shrink_var(int axis, const Variable& start, int64_t length) const {
  std::vector<View> views = views_;
  View& v = views.back();
  if (v.var && !(*v.var == start) && v.var_coef != 0)
    throw Error("view: a second symbolic offset (" + start.name() + ") on one view");
  v.var_coef += v.strides[axis];
  v.var = start;
  v.shape[axis] = length;
  v = normalized(v);
  return ShapeTracker(std::move(views));
}

ShapeTracker ShapeTracker::stride_axis(int axis, int64_t step) const {
  std::vector<View> views = views_;
  View& v = views.back();
  int64_t n = v.shape[axis];
  int64_t count = (n + step - 1) / step;
  if (!v.mask.empty()) {
    auto [lo, hi] = v.mask[axis];
    int64_t nlo = (lo + step - 1) / step, nhi = (hi + step - 1) / step;
    v.mask[axis] = {std::min(nlo, count), std::min(std::max(nhi, nlo), count)};
  }
  v.strides[axis] *= step;
  v.shape[axis] = count;
  v = normalized(v);
  return ShapeTracker(std::move(views));
}

bool ShapeTracker::has_var() const {
  for (const auto& v : views_)
    if (v.var) return true;
  return false;
}

size_t ShapeTracker::hash() const {
  size_t h = 0x51;
  for (const auto& v : views_) h = mix(h, v.hash());
  return h;
}

std::string ShapeTracker::str() const {
  std::string s = "ShapeTracker(";
  for (size_t i = 0; i < views_.size(); ++i) s += (i ? ", " : "") + views_[i].str();
  return s + ")";
}

}  // namespace kiln::detail
