#include "linalg.h"

#include <cmath>
#include <string>

#include "dtype_info.h"
#include "elementwise.h"
#include "int_math.h"
#include "kiln/error.h"
#include "movement.h"

namespace kiln::ref {

namespace {

NDArray product(const NDArray& a, const NDArray& b, bool magnitude) {
  if (a.ndim() == 0 || b.ndim() == 0)
    throw Error("reference: matmul of shapes " + shape_string(a.shape) + " and " +
                shape_string(b.shape) + " needs at least 1-D operands");
  NDArray a2 = a.ndim() == 1 ? unsqueeze(a, 0) : a;
  NDArray b2 = b.ndim() == 1 ? unsqueeze(b, 1) : b;
  int64_t m = a2.shape[a2.ndim() - 2], k = a2.shape[a2.ndim() - 1];
  int64_t kb = b2.shape[b2.ndim() - 2], n = b2.shape[b2.ndim() - 1];
  if (k != kb)
    throw Error("reference: matmul of shapes " + shape_string(a.shape) + " and " +
                shape_string(b.shape) + ": inner dimensions differ");
  Shape batch_a(a2.shape.begin(), a2.shape.end() - 2), batch_b(b2.shape.begin(), b2.shape.end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape full_a = batch, full_b = batch;
  full_a.insert(full_a.end(), {m, k});
  full_b.insert(full_b.end(), {k, n});
  NDArray ab = broadcast_to(a2, full_a), bb = broadcast_to(b2, full_b);
  DType t = magnitude ? DType::F64 : promote_types(a.dtype, b.dtype);
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  NDArray out(t, out_shape);
  int64_t batches = numel_of(batch);
  for (int64_t bi = 0; bi < batches; ++bi) {
    const double* pa = ab.data.data() + bi * m * k;
    const double* pb = bb.data.data() + bi * k * n;
    double* po = out.data.data() + bi * m * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (is_float_type(t)) {
          double s = 0;
          for (int64_t x = 0; x < k; ++x) {
            double u = cast_value(pa[i * k + x], a.dtype, t), v = cast_value(pb[x * n + j], b.dtype, t);
            s += magnitude ? std::fabs(u * v) : u * v;
          }
          po[i * n + j] = round_to(t, s);
        } else {
          double s = 0;
          for (int64_t x = 0; x < k; ++x)
            s = int_add(s, int_mul(cast_value(pa[i * k + x], a.dtype, t),
                                   cast_value(pb[x * n + j], b.dtype, t), t), t);
          po[i * n + j] = s;
        }
      }
    }
  }
  if (a.ndim() == 1) out = squeeze(out, out.ndim() - 2);
  if (b.ndim() == 1) out = squeeze(out, out.ndim() - 1);
  return out;
}

}  // namespace

NDArray matmul(const NDArray& a, const NDArray& b) { return product(a, b, false); }
NDArray abs_matmul(const NDArray& a, const NDArray& b) { return product(a, b, true); }

NDArray linear(const NDArray& x, const NDArray& weight, const NDArray* bias) {
  if (weight.ndim() != 2)
    throw Error("reference: linear weight of shape " + shape_string(weight.shape));
  NDArray wt = transpose(weight, 0, 1);
  if (!bias) return matmul(x, wt);
  NDArray y = matmul(x, wt);
  // Bias added before the single rounding: recompute in f64 then round.
  NDArray y64 = product(NDArray(DType::F64, x.shape, x.data), NDArray(DType::F64, wt.shape, wt.data), false);
  NDArray b64 = broadcast_to(NDArray(DType::F64, bias->shape, bias->data), y64.shape);
  NDArray out(y.dtype, y.shape);
  for (size_t i = 0; i < out.data.size(); ++i) out.data[i] = round_to(out.dtype, y64.data[i] + b64.data[i]);
  return out;
}

}  // namespace kiln::ref
