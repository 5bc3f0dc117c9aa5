#include "text/cached_model.h"

#include <algorithm>

#include "text/utf8.h"

namespace kiln::text {

namespace {
constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581
}

CachedModel::CachedModel(const Vocab& vocab) {
  cut_spaces_ = vocab.find(kSpace).has_value();
  if (!cut_spaces_) return;
  for (size_t id = 0; id < vocab.size(); ++id) {
    const std::string* t = vocab.token(static_cast<TokenId>(id));
    if (t == nullptr) continue;
    for (size_t pos = t->find(kSpace, 1); pos != std::string::npos; pos = t->find(kSpace, pos + 1)) {
      size_t b = pos - 1;
      while (b > 0 && (static_cast<unsigned char>((*t)[b]) & 0xC0) == 0x80) --b;
      const std::string_view prev = std::string_view(*t).substr(b, pos - b);
      if (prev != kSpace) joins_space_.push_back(utf8_decode(prev, 0).cp);
    }
  }
  std::sort(joins_space_.begin(), joins_space_.end());
  joins_space_.erase(std::unique(joins_space_.begin(), joins_space_.end()), joins_space_.end());
}

void CachedModel::cut_at_spaces(std::string_view word, uint32_t offset, Pieces& out) const {
  size_t start = 0;
  uint32_t prev = 0x2581;
  for (size_t i = 0; i < word.size();) {
    const Utf8Char c = utf8_decode(word, i);
    if (c.cp == 0x2581 && prev != 0x2581 && i > start &&
        !std::binary_search(joins_space_.begin(), joins_space_.end(), prev)) {
      out.add(word.substr(start, i - start), offset + static_cast<uint32_t>(start));
      start = i;
    }
    prev = c.cp;
    i += c.len;
  }
  out.add(word.substr(start), offset + static_cast<uint32_t>(start));
}

void CachedModel::tokenize(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (cache_.lookup(word, out)) return;
  const size_t before = out.size();
  compute(word, out);
  cache_.insert(word, out.data() + before, out.size() - before);
}

void CachedModel::tokenize_words(const Pieces& words, std::vector<TokenId>& out) const {
  thread_local Pieces cut;  // reused between calls
  const Pieces* src = &words;
  if (cut_spaces_) {
    const bool long_word = std::any_of(words.spans.begin(), words.spans.end(), [](const Span& s) {
      return s.end - s.begin > WordCache::kMaxWordBytes;
    });
    if (long_word) {
      cut.clear();
      for (const Span& s : words.spans) cut_at_spaces(words.view(s), s.offset, cut);
      src = &cut;
    }
  }
  // One reader lock per batch of words; misses are computed meanwhile and inserted together.
  thread_local std::vector<WordCache::Pending> pending;
  size_t next = 0;
  while (next < src->spans.size()) {
    pending.clear();
    next = cache_.lookup_batch(*src, next, out, pending,
                               [this](std::string_view w, std::vector<TokenId>& o) { compute(w, o); });
    cache_.insert_batch(*src, out, pending);
  }
  cut.trim();
}

}  // namespace kiln::text
