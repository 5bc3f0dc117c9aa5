// Neural-network building blocks for model plugins, built from Tensor ops (so they run as
// generated kernels on every device).
#pragma once

#include <optional>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::nn {

// Normalization over the last axis (layer/rms) or over channel groups (group norm, input
// (N, C, ...)). weight/bias may be undefined tensors.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps);
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps);

// x @ weight^T + bias, weight (out, in) as stored by PyTorch.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

struct ConvOptions {
  std::vector<int64_t> stride{1};
  std::vector<int64_t> padding{0};
  std::vector<int64_t> dilation{1};
  int64_t groups = 1;
};
// x (N, C_in, L), weight (C_out, C_in/groups, K) -> (N, C_out, L_out)
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const ConvOptions& options = {});
// x (N, C_in, H, W), weight (C_out, C_in/groups, KH, KW) -> (N, C_out, H_out, W_out)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const ConvOptions& options = {});
// x (N, C, H, W); kernel/stride per spatial axis; count_include_pad as in PyTorch's default.
Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride = {},
                  std::vector<int64_t> padding = {0});
// x (N, C, H, W) -> (N, C, H*scale, W*scale)
Tensor upsample_nearest2d(const Tensor& x, int64_t scale);

struct AttentionOptions {
  bool causal = false;
  // Keys further back than this many positions are masked (sliding-window attention).
  std::optional<int64_t> sliding_window;
  std::optional<double> scale;  // default 1/sqrt(head_dim)
  // Position of query 0 relative to key 0 (queries are the last positions when the cache holds
  // earlier keys): query i sits at key position q_offset + i.
  int64_t q_offset = 0;
  std::optional<Variable> q_offset_var;  // symbolic q_offset (decode)
  // k/v hold a ring of the last Lk positions: key position r is row r mod Lk (a sliding-window
  // KV cache). Needs causal and a sliding window of at most Lk.
  bool ring = false;
  // A K/V write in the attention kernel: write_k / write_v (B, Hkv, 1, D) are stored into k / v
  // (views of realized memory, not a ring) at the query's position before any key is read,
  // as KVCache::write would first (one kernel a decode step fewer). One query row only.
  Tensor write_k, write_v;
};
// q (B, Hq, Lq, D), k/v (B, Hkv, Lk, D) with Hq a multiple of Hkv (GQA). Computed tiled with an
// online softmax: the (Lq, Lk) score matrix is never materialized in memory.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& options = {});

}  // namespace kiln::nn
