// The shared part of the BPE models: a word cache, and for SentencePiece-style vocabularies
// (spaces written as U+2581 "▁") exact cuts of long words before each "▁", so a text with no
// pre-tokenizer still runs word by word through the cache.
//
// A cut between a character c and a following "▁" is exact when no token contains c
// immediately followed by "▁": then no merge can ever join the two sides. Load time
// collects the characters that do (e.g. '>' for a token ">▁</"); no cut is made after those.
#pragma once

#include <memory>
#include <vector>

#include "text/pipeline.h"
#include "text/vocab.h"
#include "text/word_cache.h"

namespace kiln::text {

class CachedModel : public Model {
 public:
  void tokenize(std::string_view word, std::vector<TokenId>& out) const override;
  void tokenize_words(const Pieces& words, std::vector<TokenId>& out) const override;

 protected:
  explicit CachedModel(const Vocab& vocab);
  // The ids of one word (no cache involved).
  virtual void compute(std::string_view word, std::vector<TokenId>& out) const = 0;

 private:
  // Appends the pieces of `word` cut before "▁" where that is exact.
  void cut_at_spaces(std::string_view word, uint32_t offset, Pieces& out) const;

  bool cut_spaces_ = false;              // the vocabulary has "▁"
  std::vector<uint32_t> joins_space_;    // sorted code points some token follows with "▁"
  mutable WordCache cache_;
};

}  // namespace kiln::text
