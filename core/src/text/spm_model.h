// SentencePiece BPE driven by token scores, as llama.cpp runs GGUF "llama" vocabularies:
// start from characters, repeatedly join the adjacent pair whose concatenation is a token
// with the highest score (leftmost on ties); what is left that is not a token becomes byte
// tokens <0xXX> (or the unknown token).
#pragma once

#include <memory>
#include <vector>

#include "text/cached_model.h"
#include "text/pipeline.h"
#include "text/vocab.h"

namespace kiln::text {

class SpmScoreModel : public CachedModel {
 public:
  SpmScoreModel(std::shared_ptr<const Vocab> vocab, std::vector<float> scores, std::optional<TokenId> unk);

 protected:
  void compute(std::string_view word, std::vector<TokenId>& out) const override;

 private:
  std::shared_ptr<const Vocab> vocab_;
  std::vector<float> scores_;
  std::optional<TokenId> unk_;
  TokenId byte_ids_[256];
};

}  // namespace kiln::text
