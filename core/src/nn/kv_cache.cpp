// The per-layer KV cache: (slots, kv_heads, capacity, head_dim) buffers written at a
// symbolic position.
#include "kiln/kv_cache.h"

#include "kiln/error.h"
#include "kiln/nn.h"

namespace kiln::nn {

KVCache::KVCache(const std::vector<KVLayerSpec>& layers, int64_t slots, int64_t capacity, DType dtype,
                 Device* device)
    : specs_(layers), slots_(slots), capacity_(capacity) {
  if (slots <= 0 || capacity <= 0)
    throw Error("KVCache: slots " + std::to_string(slots) + " and capacity " + std::to_string(capacity) +
                " must be positive");
  for (size_t i = 0; i < layers.size(); ++i) {
    const KVLayerSpec& s = layers[i];
    if (s.kv_heads <= 0 || s.head_dim <= 0)
      throw Error("KVCache: layer " + std::to_string(i) + " needs positive kv_heads and head_dim");
    Shape shape{slots, s.kv_heads, capacity, s.head_dim};
    // zeros, not garbage: positions past a sequence's end are never read, but NaN bit
    // patterns would still be a hazard for masked-out lanes of vector loads
    k_.push_back(Tensor::zeros(shape, dtype, device).contiguous().realize());
    v_.push_back(Tensor::zeros(shape, dtype, device).contiguous().realize());
  }
}

uint64_t KVCache::bytes() const {
  uint64_t total = 0;
  for (const auto& t : k_) total += static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype()) * 2;
  return total;
}

Tensor KVCache::slot_view(const Tensor& t, int64_t slot) const {
  if (slot < 0 || slot >= slots_)
    throw Error("KVCache: slot " + std::to_string(slot) + " outside 0.." + std::to_string(slots_ - 1));
  return slots_ == 1 ? t : t.slice(0, slot, slot + 1);
}

void KVCache::write(size_t layer, int64_t slot, const Variable& start, const Tensor& k, const Tensor& v) {
  const KVLayerSpec& s = specs_.at(layer);
  int64_t len = k.dim(2);
  if (k.shape() != Shape{1, s.kv_heads, len, s.head_dim} || v.shape() != k.shape())
    throw Error("KVCache: layer " + std::to_string(layer) + " expects k, v (1, " + std::to_string(s.kv_heads) +
                ", L, " + std::to_string(s.head_dim) + "), got " + shape_str(k.shape()) + " and " +
                shape_str(v.shape()));
  slot_view(k_[layer], slot).shrink_at(2, start, len).assign(k);
  slot_view(v_[layer], slot).shrink_at(2, start, len).assign(v);
}

Tensor KVCache::keys(size_t layer, int64_t slot) const { return slot_view(k_.at(layer), slot); }
Tensor KVCache::values(size_t layer, int64_t slot) const { return slot_view(v_.at(layer), slot); }

Tensor KVCache::attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                       std::optional<double> scale) const {
  AttentionOptions o;
  o.causal = true;
  o.q_offset_var = start;
  o.sliding_window = specs_.at(layer).sliding_window;
  o.scale = scale;
  return scaled_dot_product_attention(q, keys(layer, slot), values(layer, slot), o);
}

}  // namespace kiln::nn
