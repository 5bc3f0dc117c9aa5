// The BPE word cache: word -> token ids, shared by all threads (reads under a shared lock).
// Flat storage: one arena of records and an open-addressing table of offsets; when it is full
// it starts over, which keeps memory bounded without per-entry bookkeeping.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string_view>
#include <vector>

#include "kiln/tokenizer.h"
#include "text/pipeline.h"
#include "text/string_hash.h"

namespace kiln::text {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 255;

  WordCache();
  // Appends the cached ids of `word` to `out`; false when it is not cached.
  bool lookup(std::string_view word, std::vector<TokenId>& out) const;
  void insert(std::string_view word, const TokenId* ids, size_t n);

  // A word of a batch that missed: its span index and the ids computed for it in `out`.
  struct Pending {
    uint32_t span;
    uint32_t begin;
    uint32_t end;
  };
  // Appends the ids of words.spans[first...] to `out` under one reader lock, computing misses
  // with `compute(word, out)`; stops after kBatch misses. Returns the next span to do.
  template <typename Compute>
  size_t lookup_batch(const Pieces& words, size_t first, std::vector<TokenId>& out, std::vector<Pending>& pending,
                      Compute&& compute) const {
    std::shared_lock lock(mutex_);
    for (size_t i = first; i < words.spans.size(); ++i) {
      const std::string_view w = words.view(words.spans[i]);
      if (w.size() <= kMaxWordBytes && lookup_locked(w, out)) continue;
      const size_t begin = out.size();
      compute(w, out);
      if (w.size() <= kMaxWordBytes) {
        pending.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(begin), static_cast<uint32_t>(out.size())});
        if (pending.size() >= kBatch) return i + 1;
      }
    }
    return words.spans.size();
  }
  void insert_batch(const Pieces& words, const std::vector<TokenId>& out, const std::vector<Pending>& pending);

 private:
  static constexpr size_t kSlots = size_t{1} << 17;
  static constexpr size_t kMaxEntries = kSlots / 2;
  static constexpr size_t kMaxArenaWords = size_t{8} << 20;  // 32 MB
  static constexpr size_t kBatch = 256;

  bool lookup_locked(std::string_view word, std::vector<TokenId>& out) const;
  void insert_locked(std::string_view word, const TokenId* ids, size_t n);

  // Record layout in arena_: [word bytes | id count], ids..., word bytes packed in uint32s.
  std::string_view record_word(uint32_t offset) const;
  void clear_locked();

  mutable std::shared_mutex mutex_;
  std::vector<uint64_t> slots_;  // (hash tag << 32) | (offset + 1); 0 = empty
  std::vector<uint32_t> arena_;
  size_t entries_ = 0;
};

}  // namespace kiln::text
