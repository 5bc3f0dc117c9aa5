// Reference composite ops: matmul, softmax, scans, indexing, normalization, convolution,
// pooling and attention, each written directly from its definition and accumulated in double.
// Results round once to the output dtype.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "ndarray.h"

namespace kiln::ref {

// numpy matmul: 1-D operands gain (and then lose) a dim; batch dims broadcast.
NDArray matmul(const NDArray& a, const NDArray& b);
// The same product of |a| and |b| in f64: the magnitude a dot product's rounding error scales
// with.
NDArray abs_matmul(const NDArray& a, const NDArray& b);
// x @ weight^T + bias (bias may be null).
NDArray linear(const NDArray& x, const NDArray& weight, const NDArray* bias);

NDArray softmax(const NDArray& a, int axis);
NDArray log_softmax(const NDArray& a, int axis);
NDArray cumsum(const NDArray& a, int axis);
// Values (a's dtype) and I32 indices of the k largest along axis, descending; equal values keep
// index order.
std::pair<NDArray, NDArray> topk(const NDArray& a, int64_t k, int axis);
// torch.gather: out[i][j] = a[index[i][j]][j] for axis 0, etc.
NDArray gather(const NDArray& a, int axis, const NDArray& index);
// Rows of table (V, D) selected by ids of any shape -> ids.shape + (D).
NDArray embedding(const NDArray& table, const NDArray& ids);

NDArray layer_norm(const NDArray& x, const NDArray* weight, const NDArray* bias, double eps);
NDArray rms_norm(const NDArray& x, const NDArray* weight, double eps);
NDArray group_norm(const NDArray& x, int64_t groups, const NDArray* weight, const NDArray* bias,
                   double eps);

struct ConvParams {
  std::vector<int64_t> stride{1}, padding{0}, dilation{1};  // one value applies to every axis
  int64_t groups = 1;
};
// x (N, C_in, spatial...), weight (C_out, C_in/groups, kernel...) -> (N, C_out, out...)
NDArray conv(const NDArray& x, const NDArray& weight, const NDArray* bias, const ConvParams& p);
// x (N, C, H, W); padded positions count in the divisor (PyTorch's count_include_pad default).
NDArray avg_pool2d(const NDArray& x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                   std::vector<int64_t> padding);
NDArray upsample_nearest2d(const NDArray& x, int64_t scale);

struct AttentionParams {
  bool causal = false;
  std::optional<int64_t> sliding_window;  // key j is masked for query position p when p - j >= window
  std::optional<double> scale;            // default 1/sqrt(D)
  int64_t q_offset = 0;                   // query i sits at key position q_offset + i
};
// q (B, Hq, Lq, D), k/v (B, Hkv, Lk, D): softmax(q k^T * scale + mask) v, query head h reading
// kv head h / (Hq / Hkv).
NDArray attention(const NDArray& q, const NDArray& k, const NDArray& v, const AttentionParams& p);
// Only the output rows (b, h, i) listed, as a (rows, D) array: for shapes too large to evaluate
// every row of in a test.
NDArray attention_rows(const NDArray& q, const NDArray& k, const NDArray& v,
                       const AttentionParams& p, const std::vector<Index>& rows);

}  // namespace kiln::ref
