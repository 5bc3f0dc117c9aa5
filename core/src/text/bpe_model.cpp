#include "text/bpe_model.h"

#include <algorithm>
#include <cstdio>

#include "text/utf8.h"

namespace kiln::text {

void PairMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  count_ = 0;
  for (const Slot& s : old) {
    if (s.key == kEmpty) continue;
    for (size_t i = hash(s.key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty) {
        slots_[i] = s;
        ++count_;
        break;
      }
    }
  }
}

void PairMap::grow() { reserve(std::max<size_t>(16, count_ * 2 + 2)); }

void PairMap::insert(TokenId a, TokenId b, uint32_t rank, TokenId merged, bool overwrite) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  const uint64_t key = pack(a, b);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) {
      if (overwrite) s.entry = {rank, merged};
      return;
    }
    if (s.key == kEmpty) {
      s.key = key;
      s.entry = {rank, merged};
      ++count_;
      return;
    }
  }
}

BpeModel::BpeModel(std::shared_ptr<const Vocab> vocab, PairMap merges, BpeOptions options)
    : CachedModel(*vocab), vocab_(std::move(vocab)), merges_(std::move(merges)), opt_(std::move(options)) {
  bmp_ids_.assign(0x10000, -1);
  for (size_t id = 0; id < vocab_->size(); ++id) {
    const std::string* t = vocab_->token(static_cast<TokenId>(id));
    if (t == nullptr || t->empty() || t->size() > 3) continue;
    const Utf8Char c = utf8_decode(*t, 0);
    if (c.valid && c.len == t->size() && c.cp < 0x10000 && bmp_ids_[c.cp] < 0) {
      // The vocabulary map decides which id a string has (the last one set wins).
      bmp_ids_[c.cp] = *vocab_->find(*t);
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = vocab_->find(name).value_or(-1);
  }
}

TokenId BpeModel::char_id(std::string_view ch, bool first, bool last) const {
  const bool decorated = (!first && !opt_.continuing_subword_prefix.empty()) ||
                         (last && !opt_.end_of_word_suffix.empty());
  if (!decorated) {
    const Utf8Char c = utf8_decode(ch, 0);
    if (c.valid && c.len == ch.size() && c.cp < 0x10000) return bmp_ids_[c.cp];
    return vocab_->find(ch).value_or(-1);
  }
  std::string s;
  if (!first) s += opt_.continuing_subword_prefix;
  s += ch;
  if (last) s += opt_.end_of_word_suffix;
  return vocab_->find(s).value_or(-1);
}

namespace {

struct Symbol {
  TokenId id;
  int32_t prev;
  int32_t next;
  uint32_t len;  // bytes of the word it covers; 0 once merged into its left neighbour
};

struct Candidate {
  uint32_t rank;
  uint32_t pos;
  TokenId merged;
};

// std heap functions build a max-heap; "less" here means "merged later".
struct MergedLater {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

struct Scratch {
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

}  // namespace

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  thread_local Scratch scratch;
  std::vector<Symbol>& syms = scratch.symbols;
  syms.clear();
  auto add = [&](TokenId id, uint32_t len) {
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back({id, n - 1, -1, len});
    if (n > 0) syms[static_cast<size_t>(n) - 1].next = n;
  };

  // A pending unknown token (fused over consecutive unknown characters when fuse_unk).
  TokenId unk_id = -1;
  uint32_t unk_len = 0;
  auto flush_unk = [&] {
    if (unk_id >= 0) add(unk_id, unk_len);
    unk_id = -1;
  };
  for (size_t i = 0; i < word.size();) {
    const uint32_t len = std::min<uint32_t>(utf8_len_fast(static_cast<unsigned char>(word[i])),
                                            static_cast<uint32_t>(word.size() - i));
    const bool first = i == 0, last = i + len == word.size();
    const std::string_view ch = word.substr(i, len);
    i += len;
    const TokenId id = char_id(ch, first, last);
    if (id >= 0) {
      flush_unk();
      add(id, len);
      continue;
    }
    if (opt_.byte_fallback) {
      std::string decorated;
      if (!first) decorated += opt_.continuing_subword_prefix;
      decorated += ch;
      if (last) decorated += opt_.end_of_word_suffix;
      bool all = true;
      for (char b : decorated) all = all && byte_ids_[static_cast<uint8_t>(b)] >= 0;
      if (all) {
        flush_unk();
        for (char b : decorated) add(byte_ids_[static_cast<uint8_t>(b)], 1);
        continue;
      }
    }
    if (opt_.unk) {
      if (unk_id >= 0 && opt_.fuse_unk) {
        unk_len += len;
      } else {
        flush_unk();
        unk_id = *opt_.unk;
        unk_len = len;
      }
    }
    // No unknown token and no byte fallback: the character is dropped, as Hugging Face does.
  }
  flush_unk();

  std::vector<Candidate>& heap = scratch.heap;
  heap.clear();
  for (size_t i = 0; i + 1 < syms.size(); ++i) {
    if (const PairMap::Entry* m = merges_.find(syms[i].id, syms[i + 1].id)) {
      heap.push_back({m->rank, static_cast<uint32_t>(i), m->merged});
    }
  }
  std::make_heap(heap.begin(), heap.end(), MergedLater{});
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), MergedLater{});
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& cur = syms[top.pos];
    if (cur.len == 0 || cur.next < 0) continue;
    const auto next_pos = static_cast<size_t>(cur.next);
    const Symbol right = syms[next_pos];
    const PairMap::Entry* m = merges_.find(cur.id, right.id);
    if (m == nullptr || m->merged != top.merged) continue;  // stale entry
    cur.id = top.merged;
    cur.len += right.len;
    cur.next = right.next;
    syms[next_pos].len = 0;
    if (right.next >= 0) syms[static_cast<size_t>(right.next)].prev = static_cast<int32_t>(top.pos);
    if (cur.prev >= 0) {
      const Symbol& prev = syms[static_cast<size_t>(cur.prev)];
      if (const PairMap::Entry* pm = merges_.find(prev.id, cur.id)) {
        heap.push_back({pm->rank, static_cast<uint32_t>(cur.prev), pm->merged});
        std::push_heap(heap.begin(), heap.end(), MergedLater{});
      }
    }
    if (cur.next >= 0) {
      const Symbol& nxt = syms[static_cast<size_t>(cur.next)];
      if (const PairMap::Entry* nm = merges_.find(cur.id, nxt.id)) {
        heap.push_back({nm->rank, top.pos, nm->merged});
        std::push_heap(heap.begin(), heap.end(), MergedLater{});
      }
    }
  }
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[static_cast<size_t>(i)].next) {
    out.push_back(syms[static_cast<size_t>(i)].id);
  }
}

void BpeModel::compute(std::string_view word, std::vector<TokenId>& out) const {
  const bool whole = opt_.ignore_merges ||
                     (opt_.whole_newline_runs && word.find_first_not_of('\n') == std::string_view::npos);
  if (whole) {
    if (auto id = vocab_->find(word)) {
      out.push_back(*id);
      return;
    }
  }
  merge_word(word, out);
}

}  // namespace kiln::text
