// A per-layer key/value cache for decoder LLMs: each layer has its own number of KV heads,
// head_dim and attention span (full or a sliding window), and a slot axis so several
// sequences can share one cache later. Memory is Tensor::empty; writes land at a symbolic
// position (Tensor::shrink_at + assign), so one compiled kernel serves every position.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::nn {

struct KVLayerSpec {
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  std::optional<int64_t> sliding_window;  // keys further back are masked in attention
};

class KVCache {
 public:
  KVCache() = default;
  // `capacity` positions per slot (the context plus any padding a chunked prefill writes).
  KVCache(const std::vector<KVLayerSpec>& layers, int64_t slots, int64_t capacity,
          DType dtype = DType::F32, Device* device = nullptr);

  size_t layers() const { return specs_.size(); }
  int64_t slots() const { return slots_; }
  int64_t capacity() const { return capacity_; }
  const KVLayerSpec& spec(size_t layer) const { return specs_.at(layer); }
  uint64_t bytes() const;

  // Writes k, v (1, kv_heads, L, head_dim) of `slot` at positions [start, start + L).
  void write(size_t layer, int64_t slot, const Variable& start, const Tensor& k, const Tensor& v);
  // The whole cache of one slot: (1, kv_heads, capacity, head_dim) views for attention.
  Tensor keys(size_t layer, int64_t slot) const;
  Tensor values(size_t layer, int64_t slot) const;

  // Attention of q (1, heads, L, head_dim) at positions [start, start + L) over this slot's
  // cached keys (causal, plus the layer's sliding window): only keys up to each query's
  // position are read.
  Tensor attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                std::optional<double> scale = std::nullopt) const;

 private:
  Tensor slot_view(const Tensor& t, int64_t slot) const;
  std::vector<KVLayerSpec> specs_;
  std::vector<Tensor> k_, v_;
  int64_t slots_ = 0, capacity_ = 0;
};

}  // namespace kiln::nn
