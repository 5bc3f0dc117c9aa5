// Byte-pair encoding with a merge table, as Hugging Face tokenizers' BPE model: a word starts
// as one symbol per character (unknown characters become byte tokens <0xXX> with
// byte_fallback, or the unknown token), then the adjacent pair with the lowest merge rank is
// merged (leftmost first on ties) until no pair has a rank. Results per word are cached.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "text/pipeline.h"
#include "text/vocab.h"
#include "text/cached_model.h"

namespace kiln::text {

// (left id, right id) -> (rank, merged id), open addressing.
class PairMap {
 public:
  struct Entry {
    uint32_t rank;
    TokenId merged;
  };
  void reserve(size_t n);
  // A repeated pair takes the later rank when `overwrite` (Hugging Face), else keeps the first
  // (llama.cpp).
  void insert(TokenId a, TokenId b, uint32_t rank, TokenId merged, bool overwrite);
  const Entry* find(TokenId a, TokenId b) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pack(a, b);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.entry;
      if (s.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return count_; }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  struct Slot {
    uint64_t key = kEmpty;
    Entry entry{};
  };
  static uint64_t pack(TokenId a, TokenId b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t key) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> 17); }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

struct BpeOptions {
  std::optional<TokenId> unk;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;  // a word that is itself a token is not merged (Llama 3)
  // llama.cpp's Gemma 4 rule: a run of newlines that is a token is taken whole.
  bool whole_newline_runs = false;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
};

class BpeModel : public CachedModel {
 public:
  BpeModel(std::shared_ptr<const Vocab> vocab, PairMap merges, BpeOptions options);

 protected:
  // The ids of one word: the ignore_merges / newline rules, then merges.
  void compute(std::string_view word, std::vector<TokenId>& out) const override;

 private:
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;
  // The id of one character as a symbol (with the subword prefix / suffix), or -1.
  TokenId char_id(std::string_view ch, bool first, bool last) const;

  std::shared_ptr<const Vocab> vocab_;
  PairMap merges_;
  BpeOptions opt_;
  std::vector<TokenId> bmp_ids_;      // code point < 0x10000 -> id of that one-character token
  TokenId byte_ids_[256];             // byte -> id of <0xXX>, or -1

};

}  // namespace kiln::text
