// The per-layer KV cache: (slots, kv_heads, rows, head_dim) buffers written at a symbolic
// position; sliding-window layers as rings (see kv_cache.h for the layout).
#include "kiln/kv_cache.h"

#include <algorithm>

#include "kiln/error.h"
#include "kiln/nn.h"

namespace kiln::nn {

KVCache::KVCache(const std::vector<KVLayerSpec>& layers, int64_t slots, int64_t context,
                 int64_t max_write, DType dtype, Device* device)
    : specs_(layers), slots_(slots), context_(context), max_write_(max_write) {
  if (slots <= 0 || context <= 0 || max_write <= 0)
    throw Error("KVCache: slots " + std::to_string(slots) + ", context " + std::to_string(context) +
                " and max_write " + std::to_string(max_write) + " must be positive");
  const int64_t full_rows = context + max_write - 1;  // a padded write at the last position
  for (size_t i = 0; i < layers.size(); ++i) {
    const KVLayerSpec& s = layers[i];
    if (s.kv_heads <= 0 || s.head_dim <= 0)
      throw Error("KVCache: layer " + std::to_string(i) + " needs positive kv_heads and head_dim");
    if (s.sliding_window && *s.sliding_window <= 0)
      throw Error("KVCache: layer " + std::to_string(i) + " has sliding window " +
                  std::to_string(*s.sliding_window) + "; it must be positive");
    int64_t rows = full_rows;
    ring_of_.push_back(-1);
    if (s.sliding_window) {
      const int64_t size = *s.sliding_window + max_write - 1;
      const int64_t ring_rows = max_write + size + max_write - 1;
      if (ring_rows < full_rows) {  // a ring only where it saves memory
        int found = -1;
        for (size_t r = 0; r < rings_.size(); ++r)
          if (rings_[r].size == size) found = static_cast<int>(r);
        if (found < 0) {
          std::string n = std::to_string(size);
          rings_.push_back({size, Variable("ring" + n + "_at", max_write, max_write + size - 1),
                            Variable("ring" + n + "_wrap", 0, max_write - 1)});
          found = static_cast<int>(rings_.size() - 1);
        }
        ring_of_.back() = found;
        rows = ring_rows;
      }
    }
    // keys and values of a layer in one buffer (2, slots, kv_heads, rows, head_dim): one kernel
    // writes both. Zeros, not garbage: positions past a sequence's end are never read, but NaN
    // bit patterns would still be a hazard for masked-out lanes of vector loads
    Shape shape{2, slots, s.kv_heads, rows, s.head_dim};
    kv_.push_back(Tensor::zeros(shape, dtype, device).contiguous().realize());
  }
  set_position(0, 1);
}

int64_t KVCache::positions(size_t layer) const {
  int r = ring_of_.at(layer);
  return r >= 0 ? rings_[r].size : context_ + max_write_ - 1;
}

uint64_t KVCache::bytes() const {
  uint64_t total = 0;
  for (const auto& t : kv_) total += static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
  return total;
}

void KVCache::set_position(int64_t start_pos, int64_t length) {
  if (start_pos < 0 || length <= 0 || length > max_write_)
    throw Error("KVCache: a write of " + std::to_string(length) + " rows at position " +
                std::to_string(start_pos) + " (at most " + std::to_string(max_write_) +
                " rows, position >= 0)");
  // a ring keeps only its last `size` positions: going back (start_pos at or below the
  // highest position written) works while the window before start_pos is still there
  if (start_pos > 0 && start_pos <= written_hi_) {
    for (const Ring& r : rings_) {
      const int64_t window = r.size - max_write_ + 1, oldest = written_hi_ - r.size + 1;
      if (std::max<int64_t>(0, start_pos - window + 1) < oldest)
        throw Error("KVCache: cannot go back to position " + std::to_string(start_pos) +
                    " after position " + std::to_string(written_hi_) +
                    " was written: sliding-window layers keep the last " + std::to_string(r.size) +
                    " positions only (start a new sequence at 0)");
    }
  }
  written_hi_ = start_pos == 0 ? length - 1 : std::max(written_hi_, start_pos + length - 1);
  for (Ring& r : rings_) {
    const int64_t o = start_pos % r.size;
    r.at.bind(max_write_ + o);
    r.wrap.bind(o + length > r.size ? max_write_ + o - r.size : 0);
  }
}

// (2, 1, kv_heads, rows, head_dim): keys and values of one slot
Tensor KVCache::slot_view(size_t layer, int64_t slot) const {
  if (slot < 0 || slot >= slots_)
    throw Error("KVCache: slot " + std::to_string(slot) + " outside 0.." + std::to_string(slots_ - 1));
  const Tensor& t = kv_.at(layer);
  return slots_ == 1 ? t : t.slice(1, slot, slot + 1);
}

// part 0 (keys) or 1 (values) of a slot, (1, kv_heads, positions(layer), head_dim)
Tensor KVCache::part_view(size_t layer, int part, int64_t slot) const {
  Tensor s = slot_view(layer, slot);
  s = s.slice(0, part, part + 1).reshape(Shape(s.shape().begin() + 1, s.shape().end()));
  int r = ring_of_.at(layer);
  return r >= 0 ? s.slice(2, max_write_, max_write_ + rings_[r].size) : s;
}

void KVCache::write(size_t layer, int64_t slot, const Variable& start, const Tensor& k, const Tensor& v) {
  const KVLayerSpec& s = specs_.at(layer);
  int64_t len = k.dim(2);
  if (k.shape() != Shape{1, s.kv_heads, len, s.head_dim} || v.shape() != k.shape())
    throw Error("KVCache: layer " + std::to_string(layer) + " expects k, v (1, " + std::to_string(s.kv_heads) +
                ", L, " + std::to_string(s.head_dim) + "), got " + shape_str(k.shape()) + " and " +
                shape_str(v.shape()));
  if (len > max_write_)
    throw Error("KVCache: layer " + std::to_string(layer) + " write of " + std::to_string(len) +
                " rows exceeds max_write " + std::to_string(max_write_));
  const int r = ring_of_[layer];
  Tensor dst = slot_view(layer, slot);
  // keys and values in one kernel
  Tensor both =
      Tensor::cat({k.cast(dst.dtype()).unsqueeze(0), v.cast(dst.dtype()).unsqueeze(0)}, 0);
  if (r < 0) {
    dst.shrink_at(3, start, len).assign(both);
    return;
  }
  dst.shrink_at(3, rings_[r].at, len).assign(both);
  // a single row never wraps (slot o <= size - 1); longer writes also go to the wrap offset
  if (len > 1) dst.shrink_at(3, rings_[r].wrap, len).assign(both);
}

Tensor KVCache::keys(size_t layer, int64_t slot) const {
  return part_view(layer, 0, slot);
}
Tensor KVCache::values(size_t layer, int64_t slot) const {
  return part_view(layer, 1, slot);
}

namespace {
// The options of a layer's attention over the cache: causal at `start`, its window, its ring
AttentionOptions layer_attention(const KVLayerSpec& s, bool ring, const Variable& start,
                                 std::optional<double> scale) {
  AttentionOptions o;
  o.causal = true;
  o.q_offset_var = start;
  o.sliding_window = s.sliding_window;
  o.ring = ring;
  o.scale = scale;
  return o;
}
}  // namespace

Tensor KVCache::write_and_attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                                 const Tensor& k, const Tensor& v, std::optional<double> scale) {
  const KVLayerSpec& s = specs_.at(layer);
  if (is_ring(layer) || q.ndim() != 4 || q.dim(2) != 1 ||
      k.shape() != Shape{1, s.kv_heads, 1, s.head_dim} || v.shape() != k.shape()) {
    write(layer, slot, start, k, v);
    return attend(layer, slot, start, q, scale);
  }
  AttentionOptions o = layer_attention(s, false, start, scale);
  o.write_k = k;
  o.write_v = v;
  return scaled_dot_product_attention(q, keys(layer, slot), values(layer, slot), o);
}

Tensor KVCache::attend(size_t layer, int64_t slot, const Variable& start, const Tensor& q,
                       std::optional<double> scale) const {
  return scaled_dot_product_attention(
      q, keys(layer, slot), values(layer, slot),
      layer_attention(specs_.at(layer), is_ring(layer), start, scale));
}

}  // namespace kiln::nn
