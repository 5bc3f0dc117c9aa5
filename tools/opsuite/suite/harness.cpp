#include "harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

namespace kiln::opsuite {

std::string dtype_str(DType t) { return ref::name_of(t); }
std::string shape_str_of(const Shape& s) { return ref::shape_string(s); }

Domain full_domain(DType t) {
  if (t == DType::Bool) return Domain::range(0, 1);
  if (ref::is_float_type(t)) return Domain::range(-3, 3);
  if (ref::size_of(t) == 8) return Domain::range(ref::is_unsigned_type(t) ? 0 : -0x1p40, 0x1p40);
  return Domain::range(ref::int_min(t), ref::int_max(t));
}

ref::NDArray random_array(Rng& rng, DType t, const Shape& shape, const Domain& d) {
  ref::NDArray a(t, shape);
  bool is_float = ref::is_float_type(t);
  double lo = d.lo, hi = d.hi;
  if (is_float) {
    double m = ref::float_max(t) / 2;
    lo = std::clamp(lo, -m, m);
    hi = std::clamp(hi, -m, m);
  } else {
    lo = std::ceil(std::max(lo, ref::int_min(t)));
    hi = std::floor(std::min(hi, t == DType::U64 || t == DType::I64 ? 0x1p62 : ref::int_max(t)));
  }
  for (double& v : a.data) {
    for (int attempt = 0;; ++attempt) {
      double u = d.log_uniform ? std::exp(rng.uniform(std::log(lo), std::log(hi))) : rng.uniform(lo, hi);
      v = is_float ? ref::round_to(t, d.whole ? std::round(u) : u)
                   : static_cast<double>(rng.integer(static_cast<int64_t>(lo),
                                                     static_cast<int64_t>(hi)));
      if (std::fabs(v) >= d.min_abs || attempt > 100) break;
    }
  }
  return a;
}

const char* view_name(View v) {
  switch (v) {
    case View::Contiguous: return "contiguous";
    case View::Permuted: return "permuted";
    case View::Strided: return "strided";
    case View::Flipped: return "flipped";
    case View::Expanded: return "expanded";
    case View::Padded: return "padded";
    case View::Shrunk: return "shrunk";
  }
  return "?";
}

namespace {
int first_axis_at_least(const Shape& s, int64_t n) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] >= n) return static_cast<int>(i);
  return -1;
}

Tensor upload(Context& cx, const ref::NDArray& a) {
  std::vector<uint8_t> bytes = ref::encode(a);
  return Tensor::from_host(bytes.data(), bytes.size(), a.dtype, a.shape, cx.device);
}
}  // namespace

View effective_view(View v, const Shape& s) {
  switch (v) {
    case View::Permuted: return s.size() >= 2 ? v : View::Contiguous;
    case View::Expanded: return first_axis_at_least(s, 2) >= 0 ? v : View::Contiguous;
    case View::Padded: return first_axis_at_least(s, 2) >= 0 ? v : View::Contiguous;
    case View::Strided: case View::Flipped: case View::Shrunk:
      return s.empty() ? View::Contiguous : v;
    default: return v;
  }
}

Input make_input(Context& cx, const ref::NDArray& values) { return {values, upload(cx, values)}; }

Input make_input(Context& cx, DType t, const Shape& shape, const Domain& d, View view) {
  int n = static_cast<int>(shape.size());
  switch (effective_view(view, shape)) {
    case View::Contiguous: {
      return make_input(cx, random_array(cx.rng, t, shape, d));
    }
    case View::Permuted: {  // reversed axes of a buffer laid out the other way round
      std::vector<int> order(n);
      Shape base_shape(n);
      for (int i = 0; i < n; ++i) {
        order[i] = n - 1 - i;
        base_shape[n - 1 - i] = shape[i];
      }
      ref::NDArray base = random_array(cx.rng, t, base_shape, d);
      return {ref::permute(base, order), upload(cx, base).permute(order)};
    }
    case View::Strided: {  // every other element: from 1 up on even axes, from the end down on odd
      Shape base_shape(shape);
      for (int64_t& s : base_shape) s *= 2;
      ref::NDArray r = random_array(cx.rng, t, base_shape, d);
      Tensor x = upload(cx, r);
      for (int i = 0; i < n; ++i) {
        if (i % 2 == 0) {
          r = ref::slice(r, i, 1, std::nullopt, 2);
          x = x.slice(i, 1, std::nullopt, 2);
        } else {
          r = ref::slice(r, i, std::nullopt, std::nullopt, -2);
          x = x.slice(i, std::nullopt, std::nullopt, -2);
        }
      }
      return {r, x};
    }
    case View::Flipped: {
      std::vector<int> axes(n);
      for (int i = 0; i < n; ++i) axes[i] = i;
      ref::NDArray base = random_array(cx.rng, t, shape, d);
      return {ref::flip(base, axes), upload(cx, base).flip(axes)};
    }
    case View::Expanded: {  // a broadcast of a smaller buffer: a new leading dim, or a size-1 dim
      Shape base_shape(shape);
      if (n >= 2 && shape[0] >= 2) base_shape.erase(base_shape.begin());
      else base_shape[first_axis_at_least(shape, 2)] = 1;
      ref::NDArray base = random_array(cx.rng, t, base_shape, d);
      return {ref::expand(base, shape), upload(cx, base).expand(shape)};
    }
    case View::Padded: {  // one border element on each side of one axis is the pad value
      int axis = first_axis_at_least(shape, 2);
      Shape base_shape(shape);
      base_shape[axis] -= 2;
      std::vector<std::pair<int64_t, int64_t>> padding(n, {0, 0});
      padding[axis] = {1, 1};
      // A fixed value (not a random one): the pad value is folded into the kernel.
      double value = d.lo <= 1 && 1 <= d.hi && d.min_abs <= 1 ? 1.0 : ref::is_float_type(t) ? ref::round_to(t, d.lo) : std::ceil(d.lo);
      ref::NDArray base = random_array(cx.rng, t, base_shape, d);
      return {ref::pad(base, padding, value), upload(cx, base).pad(padding, value)};
    }
    case View::Shrunk: {  // the interior of a buffer one element bigger on every side
      Shape base_shape(shape);
      std::vector<std::pair<int64_t, int64_t>> bounds(n);
      for (int i = 0; i < n; ++i) {
        base_shape[i] += 2;
        bounds[i] = {1, shape[i] + 1};
      }
      ref::NDArray base = random_array(cx.rng, t, base_shape, d);
      return {ref::shrink(base, bounds), upload(cx, base).shrink(bounds)};
    }
  }
  return {};
}

Tolerance exact() { return {0, 0, 0}; }

Tolerance ulps(DType t, double k) { return {k * ref::epsilon(t), 0, 0}; }

ref::NDArray read_back(const Tensor& t) {
  const Shape& shape = t.shape();
  DType dt = t.dtype();
  size_t bytes = static_cast<size_t>(ref::numel_of(shape)) * ref::size_of(dt);
  std::vector<uint8_t> buf(bytes);
  if (bytes) t.copy_to_host(buf.data(), bytes);
  else Tensor(t).realize();  // nothing to copy: still run the kernels
  return ref::decode(dt, shape, buf.data(), bytes);
}

namespace {
std::string num(double v) {
  std::ostringstream o;
  o.precision(9);
  o << v;
  return o.str();
}

std::string index_str(const Shape& shape, int64_t flat) {
  Shape idx(shape.size());
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  return ref::shape_string(idx);
}
}  // namespace

Outcome compare(const ref::NDArray& want, const Tensor& got, const Tolerance& tol,
                const ref::NDArray* magnitude) {
  if (got.dtype() != want.dtype)
    return Outcome::fail("result dtype " + dtype_str(got.dtype()) + ", expected " +
                         dtype_str(want.dtype));
  if (got.shape() != want.shape)
    return Outcome::fail("result shape " + shape_str_of(got.shape()) + ", expected " +
                         shape_str_of(want.shape));
  return compare_values(want, read_back(got), tol, magnitude);
}

Outcome compare_values(const ref::NDArray& want, const ref::NDArray& g, const Tolerance& tol,
                       const ref::NDArray* magnitude) {
  if (g.dtype != want.dtype || g.shape != want.shape)
    return Outcome::fail("result " + dtype_str(g.dtype) + " " + shape_str_of(g.shape) + ", expected " +
                         dtype_str(want.dtype) + " " + shape_str_of(want.shape));
  Outcome out;
  int64_t bad = 0, first_bad = -1;
  double worst_excess = 0;
  int64_t worst = -1;
  for (size_t i = 0; i < want.data.size(); ++i) {
    double w = want.data[i], v = g.data[i];
    bool ok;
    double err = 0;
    if (std::isnan(w) || std::isnan(v)) {
      ok = std::isnan(w) && std::isnan(v);
    } else if (std::isinf(w) || std::isinf(v)) {
      ok = w == v;
    } else {
      err = std::fabs(v - w);
      double allowed = tol.atol + tol.rtol * std::fabs(w);
      if (magnitude) allowed += tol.mtol * magnitude->data[i];
      ok = err <= allowed;
      out.max_error = std::max(out.max_error, err);
      if (!ok && err - allowed > worst_excess) {
        worst_excess = err - allowed;
        worst = static_cast<int64_t>(i);
      }
    }
    if (!ok) {
      ++bad;
      if (first_bad < 0) first_bad = static_cast<int64_t>(i);
    }
  }
  if (bad) {
    int64_t at = worst >= 0 ? worst : first_bad;
    out.status = Status::Failed;
    out.message = std::to_string(bad) + " of " + std::to_string(want.data.size()) +
                  " elements differ; at " + index_str(want.shape, at) + " got " +
                  num(g.data[at]) + ", expected " + num(want.data[at]) + " (rtol " +
                  num(tol.rtol) + ", atol " + num(tol.atol) +
                  (magnitude ? ", mtol " + num(tol.mtol) + " x " + num(magnitude->data[at]) : "") + ")";
  }
  return out;
}

Outcome expect_error(const std::function<void()>& fn, const std::vector<std::string>& must_contain) {
  try {
    fn();
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const std::string& s : must_contain)
      if (msg.find(s) == std::string::npos)
        return Outcome::fail("kiln::Error \"" + msg + "\" does not mention " + s);
    return {};
  } catch (const std::exception& e) {
    return Outcome::fail(std::string("threw a non-kiln::Error exception: ") + e.what());
  }
  return Outcome::fail("no kiln::Error was thrown");
}

}  // namespace kiln::opsuite
