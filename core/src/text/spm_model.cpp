#include "text/spm_model.h"

#include <algorithm>
#include <cstdio>

#include "text/utf8.h"

namespace kiln::text {

SpmScoreModel::SpmScoreModel(std::shared_ptr<const Vocab> vocab, std::vector<float> scores,
                             std::optional<TokenId> unk)
    : CachedModel(*vocab), vocab_(std::move(vocab)), scores_(std::move(scores)), unk_(unk) {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = vocab_->find(name).value_or(-1);
  }
}

namespace {

struct Symbol {
  uint32_t begin;
  uint32_t len;  // 0 once merged into the left neighbour
  int32_t prev;
  int32_t next;
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t len;
};

// Max-heap: higher score first, then the leftmost pair.
struct PopsLater {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void SpmScoreModel::compute(std::string_view text, std::vector<TokenId>& out) const {
  if (text.empty()) return;
  std::vector<Symbol> syms;
  syms.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint32_t len = std::min<uint32_t>(utf8_len_fast(static_cast<unsigned char>(text[i])),
                                            static_cast<uint32_t>(text.size() - i));
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back({static_cast<uint32_t>(i), len, n - 1, i + len == text.size() ? -1 : n + 1});
    i += len;
  }

  std::vector<Bigram> heap;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = syms[static_cast<size_t>(left)];
    const Symbol& r = syms[static_cast<size_t>(right)];
    const auto id = vocab_->find(text.substr(l.begin, l.len + r.len));
    if (!id || static_cast<size_t>(*id) >= scores_.size()) return;
    heap.push_back({scores_[static_cast<size_t>(*id)], left, right, l.len + r.len});
    std::push_heap(heap.begin(), heap.end(), PopsLater{});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(syms.size()); ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), PopsLater{});
    const Bigram b = heap.back();
    heap.pop_back();
    Symbol& l = syms[static_cast<size_t>(b.left)];
    Symbol& r = syms[static_cast<size_t>(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[static_cast<size_t>(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
    const Symbol& s = syms[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(s.begin, s.len);
    if (auto id = vocab_->find(piece)) {
      out.push_back(*id);
      continue;
    }
    for (char c : piece) {
      const TokenId b = byte_ids_[static_cast<uint8_t>(c)];
      if (b >= 0) {
        out.push_back(b);
      } else if (unk_) {
        out.push_back(*unk_);
      }
    }
  }
}

}  // namespace kiln::text
