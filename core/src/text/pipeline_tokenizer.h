// A Tokenizer assembled from pipeline stages: what tokenizer.json and GGUF vocabularies load
// into. encode = added-token split -> normalize -> pre-tokenize -> model -> post-process.
#pragma once

#include <memory>
#include <string>

#include "kiln/tokenizer.h"
#include "text/added_vocabulary.h"
#include "text/pipeline.h"
#include "text/vocab.h"

namespace kiln::text {

struct PipelineParts {
  std::shared_ptr<Vocab> vocab;  // the model's vocabulary
  AddedVocabulary added;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
};

class PipelineTokenizer : public Tokenizer {
 public:
  PipelineTokenizer(PipelineParts parts, TokenizerConfig config, std::string description);

  std::vector<TokenId> encode(std::string_view text, bool add_special) const override;
  std::string decode(std::span<const TokenId> ids, bool skip_special) const override;
  std::string decode_bytes(std::span<const TokenId> ids, bool skip_special, bool at_start) const override;
  std::string token_text(TokenId id) const override;
  std::optional<TokenId> token_to_id(std::string_view token_text) const override;
  size_t vocab_size() const override { return vocab_size_; }
  bool is_special(TokenId id) const override;

  // Sets BOS/EOS/EOT/PAD/UNK and the end-of-generation list; ids given as nullopt are looked up
  // by the config's token names, then by well-known names.
  void set_special_ids(SpecialTokenIds ids);

 private:
  std::string decode_impl(std::span<const TokenId> ids, bool skip_special, const DecodeContext& ctx) const;

  PipelineParts p_;
  size_t vocab_size_ = 0;
};

}  // namespace kiln::text
