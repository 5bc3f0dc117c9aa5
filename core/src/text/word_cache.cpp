#include "text/word_cache.h"

#include <cstring>
#include <mutex>


namespace kiln::text {

WordCache::WordCache() : slots_(kSlots, 0) {}

std::string_view WordCache::record_word(uint32_t offset) const {
  const uint32_t header = arena_[offset];
  const uint32_t n_ids = header & 0xFFFFFF;
  return {reinterpret_cast<const char*>(&arena_[offset + 1 + n_ids]), header >> 24};
}

bool WordCache::lookup(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() > kMaxWordBytes) return false;
  std::shared_lock lock(mutex_);
  return lookup_locked(word, out);
}

bool WordCache::lookup_locked(std::string_view word, std::vector<TokenId>& out) const {
  const uint64_t h = hash_string(word);
  const uint64_t tag = h >> 32;
  for (size_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const uint64_t s = slots_[i];
    if (s == 0) return false;
    if ((s >> 32) != tag) continue;
    const auto offset = static_cast<uint32_t>(s) - 1;
    if (record_word(offset) != word) continue;
    const uint32_t n_ids = arena_[offset] & 0xFFFFFF;
    const auto* ids = reinterpret_cast<const TokenId*>(&arena_[offset + 1]);
    out.insert(out.end(), ids, ids + n_ids);
    return true;
  }
}

void WordCache::clear_locked() {
  std::fill(slots_.begin(), slots_.end(), 0);
  arena_.clear();
  entries_ = 0;
}

void WordCache::insert(std::string_view word, const TokenId* ids, size_t n) {
  if (word.size() > kMaxWordBytes || n > 0xFFFFFF) return;
  std::unique_lock lock(mutex_);
  insert_locked(word, ids, n);
}

void WordCache::insert_batch(const Pieces& words, const std::vector<TokenId>& out, const std::vector<Pending>& pending) {
  if (pending.empty()) return;
  std::unique_lock lock(mutex_);
  for (const Pending& p : pending) {
    if (p.end - p.begin > 0xFFFFFF) continue;
    insert_locked(words.view(words.spans[p.span]), out.data() + p.begin, p.end - p.begin);
  }
}

void WordCache::insert_locked(std::string_view word, const TokenId* ids, size_t n) {
  const uint64_t h = hash_string(word);
  const size_t words_for_text = (word.size() + 3) / 4;
  if (entries_ >= kMaxEntries || arena_.size() + 1 + n + words_for_text > kMaxArenaWords) clear_locked();
  size_t i = h & (kSlots - 1);
  for (;; i = (i + 1) & (kSlots - 1)) {
    const uint64_t s = slots_[i];
    if (s == 0) break;
    // Another thread cached it meanwhile.
    if ((s >> 32) == (h >> 32) && record_word(static_cast<uint32_t>(s) - 1) == word) return;
  }
  const auto offset = static_cast<uint32_t>(arena_.size());
  arena_.push_back(static_cast<uint32_t>(word.size()) << 24 | static_cast<uint32_t>(n));
  arena_.insert(arena_.end(), reinterpret_cast<const uint32_t*>(ids), reinterpret_cast<const uint32_t*>(ids) + n);
  arena_.resize(arena_.size() + words_for_text, 0);
  std::memcpy(&arena_[arena_.size() - words_for_text], word.data(), word.size());
  slots_[i] = ((h >> 32) << 32) | (static_cast<uint64_t>(offset) + 1);
  ++entries_;
}

}  // namespace kiln::text
