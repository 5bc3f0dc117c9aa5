// Reductions. Each is one REDUCE node (keepdim shape) plus a reshape when keepdim is false.
#include <algorithm>
#include <limits>
#include <cmath>
#include <cstdlib>
#include <string>

#include "kiln/device_runtime.h"
#include "kiln/env.h"

#include "tensor/tensor_internal.h"

namespace kiln {

using namespace detail;

namespace {
double identity_for(ReduceOp op, DType t) {
  switch (op) {
    case ReduceOp::Sum: return 0;
    case ReduceOp::Prod: return 1;
    case ReduceOp::Max: return is_float(t) ? -INFINITY : (is_unsigned(t) ? 0 : -std::ldexp(1.0, 8 * int(dtype_size(t)) - 1));
    case ReduceOp::Min: return is_float(t) ? INFINITY : (is_unsigned(t) ? std::ldexp(1.0, 8 * int(dtype_size(t))) - 1 : std::ldexp(1.0, 8 * int(dtype_size(t)) - 1) - 1);
  }
  return 0;
}

// A long reduction with few outputs would run on one core: reduce it in two steps, first into
// `parts` partial results per output (spread over all cores), then over the parts.
Tensor split_reduce(ReduceOp op, const Tensor& x, const std::vector<int>& axes) {
  const Shape& s = x.shape();
  int64_t outputs = 1, length = 1;
  for (int i = 0; i < x.ndim(); ++i) {
    if (std::find(axes.begin(), axes.end(), i) != axes.end()) length *= s[i];
    else outputs *= s[i];
  }
  int cores = std::max<int>(1, static_cast<int>(x.device()->caps().compute_units));
  bool few_outputs = outputs < static_cast<int64_t>(cores) * 8;
  if (!few_outputs || length < 32768 || dtype_size(x.dtype()) > 4) return Tensor(make_reduce(op, x.node(), axes));
  int64_t parts = std::min<int64_t>(256, std::max<int64_t>(cores * 16 / outputs, 2));
  // reduced axes last, flattened: (kept..., length)
  std::vector<int> order, kept;
  for (int i = 0; i < x.ndim(); ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
      order.push_back(i);
      kept.push_back(i);
    }
  for (int a : axes) order.push_back(a);
  Shape ks;
  for (int i : kept) ks.push_back(s[i]);
  Shape flat = ks;
  flat.push_back(length);
  Tensor t = x.permute(order).reshape(flat);
  int64_t chunk = (length + parts - 1) / parts;
  if (chunk * parts != length) {
    std::vector<std::pair<int64_t, int64_t>> pad(flat.size(), {0, 0});
    pad.back() = {0, chunk * parts - length};
    t = t.pad(pad, identity_for(op, x.dtype()));
  }
  Shape split = ks;
  split.push_back(parts);
  split.push_back(chunk);
  t = t.reshape(split);
  int last = static_cast<int>(split.size()) - 1;
  Tensor partial = Tensor(make_reduce(op, t.node(), {last}));            // (kept..., parts, 1)
  Tensor total = Tensor(make_reduce(op, partial.node(), {last - 1}));    // (kept..., 1, 1)
  // back to the keepdim shape of the original reduce
  Shape keep = s;
  for (int a : axes) keep[a] = 1;
  return total.reshape(keep);
}
}  // namespace

Tensor Tensor::reduce(ReduceOp op, std::vector<int> axes_in, bool keepdim) const {
  const UOpRef& n = node_of(*this, "reduce");
  auto axes = normalize_axes(axes_in, ndim(), "reduce", n->shape);
  Tensor x = *this;
  // like torch: sums and products of integers and bools accumulate in i64
  if ((op == ReduceOp::Sum || op == ReduceOp::Prod) && !is_float(x.dtype()) && x.dtype() != DType::U64)
    x = x.cast(DType::I64);
  if (op == ReduceOp::Max || op == ReduceOp::Min) {
    bool empty_axis = false;
    for (int a : axes) empty_axis |= n->shape[a] == 0;
    if (empty_axis && numel() == 0 && [&] {
          int64_t out = 1;
          for (int i = 0; i < ndim(); ++i)
            if (std::find(axes.begin(), axes.end(), i) == axes.end()) out *= n->shape[i];
          return out > 0;
        }())
      throw Error("reduce: max/min over an empty axis of shape " + shape_str(n->shape));
  }
  std::vector<int> real;
  for (int a : axes)
    if (n->shape[a] != 1) real.push_back(a);
  Tensor r = real.empty() ? x : split_reduce(op, x, real);
  if (keepdim) return r;
  Shape out;
  for (int i = 0; i < ndim(); ++i)
    if (std::find(axes.begin(), axes.end(), i) == axes.end()) out.push_back(n->shape[i]);
  return r.reshape(out);
}

Tensor Tensor::sum(std::vector<int> axes, bool keepdim) const { return reduce(ReduceOp::Sum, axes, keepdim); }
Tensor Tensor::max(std::vector<int> axes, bool keepdim) const { return reduce(ReduceOp::Max, axes, keepdim); }
Tensor Tensor::min(std::vector<int> axes, bool keepdim) const { return reduce(ReduceOp::Min, axes, keepdim); }
Tensor Tensor::prod(std::vector<int> axes, bool keepdim) const { return reduce(ReduceOp::Prod, axes, keepdim); }

Tensor Tensor::mean(std::vector<int> axes_in, bool keepdim) const {
  const UOpRef& n = node_of(*this, "mean");
  auto axes = normalize_axes(axes_in, ndim(), "mean", n->shape);
  int64_t count = 1;
  for (int a : axes) count *= n->shape[a];
  Tensor s = to_float(*this).sum(axes, keepdim);
  return s * (1.0 / static_cast<double>(count));
}

Tensor Tensor::var(std::vector<int> axes_in, bool keepdim, int64_t correction) const {
  const UOpRef& n = node_of(*this, "var");
  auto axes = normalize_axes(axes_in, ndim(), "var", n->shape);
  int64_t count = 1;
  for (int a : axes) count *= n->shape[a];
  // halves compute in f32 (like torch's opmath): a rounded mean would swamp the deviations
  Tensor x = to_float(*this).cast(compute_dtype(to_float(*this).dtype()));
  Tensor d = x - x.mean(axes, true);
  double denom = static_cast<double>(std::max<int64_t>(0, count - correction));
  Tensor r = (d * d).sum(axes, keepdim) / denom;
  return is_float(dtype()) ? r.cast(dtype()) : r;
}

namespace {
// Rows of 256 for an arg-reduce over one long row (len >= 16384), the row padded to a whole
// number of them, and that number rounded up to a multiple of 32 so both stages split evenly
// across GPU warps; 0 for shorter rows. A GPU warp's row is then one 16-byte load a lane:
// rows of 1024 (four loads a lane in a loop) took 8.7 us for the row stage of a 128k-token
// vocabulary on an H100, rows of 256 2.9 us (the last stage over 512 row keys then 2.7 us
// instead of 1.1, 0.96 once a kernel of one group spread over 4 warps), +0.3-0.4% decode
// (docs/benchmarks.md, session 16).
// KILN_ARGMAX_COLS=C, a power of two from 64 to 4096 (for measuring): rows of C instead.
int64_t arg_cols() {
  static const int64_t cols = [] {
    const int64_t c = env::integer("KILN_ARGMAX_COLS", 256);
    return c >= 64 && c <= 4096 && (c & (c - 1)) == 0 ? c : 256;
  }();
  return cols;
}
int64_t long_row_rows(int64_t len) {
  if (len < 16384) return 0;
  return ((len + arg_cols() - 1) / arg_cols() + 31) / 32 * 32;
}

// An arg-reduce's result shape: the reduced axis kept as 1 or dropped
Shape arg_result_shape(Shape shape, int axis, bool keepdim) {
  if (keepdim) shape[axis] = 1;
  else shape.erase(shape.begin() + axis);
  return shape;
}

// A long float row's arg-reduce as one max over u64 keys (KILN_ARGMAX_PACKED=0: the max, then
// the search for its first position, to compare): a decode step's greedy pick in two kernels
// instead of three, +0.8% decode on an H100 (docs/benchmarks.md, session 15)
bool packed_arg_keys() {
  static const bool on = !env::is_off("KILN_ARGMAX_PACKED");
  return on;
}

// The first position of one long float row's maximum as one max over u64 keys: the value's bits
// made order-preserving in the high word, the position reversed in the low one (the first of
// equal values wins), so the max and its position come out of one reduction in two stages
// instead of a max and then a search for it. NaN is passed over and -0 equals +0, as the max
// and compare form does.
Tensor packed_arg_max(const Tensor& v, const Shape& shape, int axis, bool keepdim, int64_t rows) {
  const int64_t len = shape[axis], padded = rows * arg_cols();
  Device* dev = v.device();
  const double inf = std::numeric_limits<double>::infinity();
  Tensor f = v.contiguous().reshape({len}).cast(DType::F32);
  Tensor zero = Tensor::full({}, 0, DType::F32, dev);
  f = Tensor::where(f.ne(f), Tensor::full({}, -inf, DType::F32, dev),
                    Tensor::where(f.eq(zero), zero, f));
  Tensor u = f.pad({{0, padded - len}}, -inf).bitcast(DType::U32);
  Tensor sign = Tensor::full({}, 2147483648.0, DType::U32, dev);
  Tensor high = Tensor::where(u.ge(sign), u.bitwise_not(), u.bitwise_or(sign))
                    .cast(DType::U64)
                    .shl(Tensor::full({}, 32, DType::U64, dev));
  Tensor rev = Tensor::full({}, double(padded), DType::U64, dev) -
               Tensor::arange(padded, DType::I32, dev).cast(DType::U64);
  Tensor best = high.bitwise_or(rev).reshape({rows, arg_cols()}).max({1}).contiguous().max({0});
  Tensor low = best.bitwise_and(Tensor::full({}, 4294967295.0, DType::U64, dev));
  Tensor idx = (Tensor::full({}, double(padded), DType::U64, dev) - low).cast(DType::I32);
  return idx.reshape(arg_result_shape(shape, axis, keepdim));
}

Tensor arg_extreme(const Tensor& x, int axis_in, bool keepdim, bool is_max) {
  const UOpRef& n = node_of(x, is_max ? "argmax" : "argmin");
  int axis = normalize_axis(axis_in, x.ndim(), is_max ? "argmax" : "argmin", n->shape);
  int64_t len = n->shape[axis];
  if (len == 0) throw Error("argmax: empty axis in shape " + shape_str(n->shape));
  // min of x = max of a decreasing map: ~x for integers never overflows (-x does at INT_MIN)
  Tensor v = x;
  if (!is_max) {
    if (x.dtype() == DType::Bool) v = x.logical_not();
    else if (is_int(x.dtype())) v = x.bitwise_not();
    else v = -x;
  }
  const int64_t rows = long_row_rows(len);
  if (rows > 0 && n->numel() == len && is_float(v.dtype()) && v.dtype() != DType::F64 &&
      packed_arg_keys())
    return packed_arg_max(v, n->shape, axis, keepdim, rows);
  if (rows > 0 && n->numel() == len) {
    // one long row (a vocabulary of logits): (rows, 1024), padded with -inf, so both the max
    // and the index search run as many parallel row reductions and a short one, not as one
    // serial row. v is kept in its own shape (a logits GEMV reshaped before it is computed
    // gets other tiles), and each stage is realized (left lazy, a GPU ran the row stage as one
    // group: ~0.3 ms for 128k logits on an H100).
    const int64_t padded = rows * arg_cols();
    Tensor v2 = v.contiguous()
                    .reshape({len})
                    .pad({{0, padded - len}}, -std::numeric_limits<double>::infinity())
                    .reshape({rows, arg_cols()});
    Tensor m = v2.max({1}).contiguous().max({0}).reshape({1, 1});
    // reversed positions: padding sorts after every real position
    Tensor rev = (Tensor::full({}, double(padded), DType::I32, x.device()) -
                  Tensor::arange(padded, DType::I32, x.device()))
                     .reshape({rows, arg_cols()});
    Tensor hit = Tensor::where(v2.eq(m), rev, Tensor::full({}, 0, DType::I32, x.device()));
    Tensor idx = Tensor::full({}, double(padded), DType::I32, x.device()) - hit.max({1}).contiguous().max({0});
    return idx.reshape(arg_result_shape(n->shape, axis, keepdim));
  }
  Tensor m = v.max({axis}, true);
  // first index of the extreme: max over (v == m) * (len - i), then len - that
  Shape ishape(x.ndim(), 1);
  ishape[axis] = len;
  Tensor rev = (Tensor::full({}, double(len), DType::I32, x.device()) -
                Tensor::arange(len, DType::I32, x.device())).reshape(ishape);
  Tensor hit = Tensor::where(v.eq(m), rev, Tensor::full({}, 0, DType::I32, x.device()));
  Tensor best = hit.max({axis}, keepdim);
  return Tensor::full({}, double(len), DType::I32, x.device()) - best;
}
}  // namespace

Tensor Tensor::argmax(int axis, bool keepdim) const { return arg_extreme(*this, axis, keepdim, true); }
Tensor Tensor::argmin(int axis, bool keepdim) const { return arg_extreme(*this, axis, keepdim, false); }

}  // namespace kiln
