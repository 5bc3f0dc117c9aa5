// A per-layer key/value cache for decoder LLMs: each layer has its own number of KV heads,
// head_dim and attention span (full or a sliding window), and a slot axis so several
// sequences can share one cache later. A layer's keys and values share one zeroed buffer;
// writes land at a symbolic position (Tensor::shrink_at + assign), so one compiled kernel
// writes both at every position.
//
// Full layers keep every position of the context. Sliding-window layers keep a ring of
// window + max_write - 1 positions (position p in ring slot p mod size), so their memory is
// bounded by the window, not the context: the ring must also hold a whole write (a padded
// prefill chunk) without overwriting keys that the chunk's first query still needs.
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
  // `context` positions per slot; `max_write` is the longest write (a padded prefill chunk:
  // written rows past the real tokens are never read).
  KVCache(const std::vector<KVLayerSpec>& layers, int64_t slots, int64_t context, int64_t max_write,
          DType dtype = DType::F32, Device* device = nullptr);

  size_t layers() const { return specs_.size(); }
  int64_t slots() const { return slots_; }
  int64_t context() const { return context_; }
  const KVLayerSpec& spec(size_t layer) const { return specs_.at(layer); }
  // Positions a layer holds: the ring size for sliding layers, else context + max_write - 1.
  int64_t positions(size_t layer) const;
  bool is_ring(size_t layer) const { return ring_of_.at(layer) >= 0; }
  uint64_t bytes() const;

  // Binds the ring layers' write offsets for a step that writes `length` rows at
  // `start_pos` (their Variables are read by captured kernels at each replay, like `start`
  // below). Call before every step when any layer is a ring. Going back to an earlier
  // position is an Error once a ring no longer holds the window before it (position 0
  // always starts a new sequence).
  void set_position(int64_t start_pos, int64_t length);

  // Writes k, v (1, kv_heads, L, head_dim) of `slot` at positions [start, start + L).
  // `start` must hold the start_pos given to set_position.
  void write(size_t layer, int64_t slot, const Variable& start, const Tensor& k, const Tensor& v);
  // One slot's keys / values, (1, kv_heads, positions(layer), head_dim): the full cache, or
  // for ring layers the ring (position p in row p mod positions(layer)).
  Tensor keys(size_t layer, int64_t slot) const;
  Tensor values(size_t layer, int64_t slot) const;

  // Attention of q (1, heads, L, head_dim) at positions [start, start + L) over this slot's
  // cached keys (causal, plus the layer's sliding window): only keys up to each query's
  // position are read.
  Tensor attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                std::optional<double> scale = std::nullopt) const;
  // write() then attend(), as one attention kernel that stores the new rows itself where it
  // can (one query row, a full layer: AttentionOptions::write_k), else as the two.
  Tensor write_and_attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                          const Tensor& k, const Tensor& v,
                          std::optional<double> scale = std::nullopt);

 private:
  // A ring of `size` positions stored in rows [pad, pad + size) of a buffer of
  // pad + size + max_write - 1 rows. A write of L rows at ring slot o goes to row pad + o
  // (its wrapped part spills into the tail) and again to row pad + o - size when it wraps (the
  // wrapped part lands on slots 0.., the rest in the head padding) or else to row 0 (padding
  // only), so every write is two plain slices with symbolic starts.
  struct Ring {
    int64_t size = 0;
    Variable at, wrap;
  };
  Tensor slot_view(size_t layer, int64_t slot) const;
  Tensor part_view(size_t layer, int part, int64_t slot) const;
  std::vector<KVLayerSpec> specs_;
  std::vector<Tensor> kv_;    // per layer (2, slots, kv_heads, rows, head_dim): keys, then values
  std::vector<int> ring_of_;  // index into rings_, -1 for full layers
  std::vector<Ring> rings_;
  int64_t slots_ = 0, context_ = 0, max_write_ = 1;
  int64_t written_hi_ = -1;  // highest position written since position 0 (padding included)
};

}  // namespace kiln::nn
