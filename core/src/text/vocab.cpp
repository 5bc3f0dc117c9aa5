#include "text/vocab.h"

namespace kiln::text {

void Vocab::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (s.id == kEmpty) continue;
    size_t i = hash_string(tokens_[s.id]) & mask_;
    while (slots_[i].id != kEmpty) i = (i + 1) & mask_;
    slots_[i] = s;
  }
  if (tokens_.capacity() < n) {
    tokens_.reserve(n);
    present_.reserve(n);
  }
}

void Vocab::grow() { reserve(std::max<size_t>(16, count_ * 2 + 2)); }

size_t Vocab::slot_of(std::string_view token) const {
  if (slots_.empty()) return SIZE_MAX;
  const uint64_t h = hash_string(token);
  const auto tag = static_cast<uint32_t>(h >> 32);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.id == kEmpty) return SIZE_MAX;
    if (s.tag == tag && tokens_[s.id] == token) return i;
  }
}

// Linear probing deletion: shift later members of the cluster back into the hole.
void Vocab::erase_slot(size_t hole) {
  slots_[hole] = Slot{};
  --count_;
  for (size_t i = (hole + 1) & mask_; slots_[i].id != kEmpty; i = (i + 1) & mask_) {
    const size_t home = hash_string(tokens_[slots_[i].id]) & mask_;
    // Move slot i into the hole when its home position is not in (hole, i].
    const bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!stays) {
      slots_[hole] = slots_[i];
      slots_[i] = Slot{};
      hole = i;
    }
  }
}

void Vocab::set(TokenId id, std::string token) {
  const auto index = static_cast<size_t>(id);
  if (index >= tokens_.size()) {
    tokens_.resize(index + 1);
    present_.resize(index + 1, 0);
  }
  if (present_[index]) {
    const size_t old = slot_of(tokens_[index]);
    if (old != SIZE_MAX && slots_[old].id == index) erase_slot(old);
    present_[index] = 0;
  }
  if (const size_t existing = slot_of(token); existing != SIZE_MAX) {
    // The string moves to the new id.
    present_[slots_[existing].id] = 0;
    erase_slot(existing);
  }
  if ((count_ + 1) * 2 > slots_.size()) grow();
  tokens_[index] = std::move(token);
  present_[index] = 1;
  const uint64_t h = hash_string(tokens_[index]);
  size_t i = h & mask_;
  while (slots_[i].id != kEmpty) i = (i + 1) & mask_;
  slots_[i] = Slot{static_cast<uint32_t>(index), static_cast<uint32_t>(h >> 32)};
  ++count_;
}

}  // namespace kiln::text
