#include "text/pipeline_tokenizer.h"

#include <algorithm>

#include "kiln/error.h"
#include "text/special_tokens.h"
#include "text/utf8.h"

namespace kiln::text {

PipelineTokenizer::PipelineTokenizer(PipelineParts parts, TokenizerConfig config, std::string description)
    : p_(std::move(parts)) {
  config_ = std::move(config);
  description_ = std::move(description);
  vocab_size_ = p_.vocab ? p_.vocab->size() : 0;
  for (const AddedToken& t : p_.added.tokens()) {
    vocab_size_ = std::max(vocab_size_, static_cast<size_t>(t.id) + 1);
  }
}

std::vector<TokenId> PipelineTokenizer::encode(std::string_view text, bool add_special) const {
  std::string repaired;
  if (!utf8_valid(text)) {
    repaired = utf8_repair(text);
    text = repaired;
  }
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  thread_local Pieces in, out;  // reused between calls
  for (const Segment& seg : p_.added.split(text, p_.normalizer.get())) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    in.clear();
    in.add(seg.text, seg.offset);
    const Pieces* words = &in;
    if (p_.pre_tokenizer) {
      p_.pre_tokenizer->pre_tokenize(in, out);
      words = &out;
    }
    p_.model->tokenize_words(*words, ids);
  }
  in.trim();
  out.trim();
  if (add_special && p_.post_processor) p_.post_processor->process(ids);
  return ids;
}

std::string PipelineTokenizer::decode_impl(std::span<const TokenId> ids, bool skip_special,
                                           const DecodeContext& ctx) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (TokenId id : ids) {
    if (skip_special && is_special(id)) continue;
    if (const AddedToken* t = p_.added.by_id(id)) {
      tokens.push_back(t->content);
    } else if (const std::string* s = p_.vocab ? p_.vocab->token(id) : nullptr) {
      tokens.push_back(*s);
    }
    // Ids without a token are dropped, as Hugging Face does.
  }
  if (!p_.decoder) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  p_.decoder->decode_chain(tokens, ctx);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string PipelineTokenizer::decode(std::span<const TokenId> ids, bool skip_special) const {
  std::string out = decode_impl(ids, skip_special, DecodeContext{true, false});
  return utf8_valid(out) ? out : utf8_repair(out);
}

std::string PipelineTokenizer::decode_bytes(std::span<const TokenId> ids, bool skip_special, bool at_start) const {
  return decode_impl(ids, skip_special, DecodeContext{at_start, true});
}

std::string PipelineTokenizer::token_text(TokenId id) const {
  if (const AddedToken* t = p_.added.by_id(id)) return t->content;
  if (const std::string* s = p_.vocab ? p_.vocab->token(id) : nullptr) return *s;
  throw Error("tokenizer: token id " + std::to_string(id) + " has no token (vocabulary size " +
              std::to_string(vocab_size_) + ")");
}

std::optional<TokenId> PipelineTokenizer::token_to_id(std::string_view token_text) const {
  if (auto id = p_.added.find(token_text)) return id;
  return p_.vocab ? p_.vocab->find(token_text) : std::nullopt;
}

bool PipelineTokenizer::is_special(TokenId id) const {
  const AddedToken* t = p_.added.by_id(id);
  return t != nullptr && t->special;
}

void PipelineTokenizer::set_special_ids(SpecialTokenIds ids) {
  special_ = resolve_special_ids(*this, std::move(ids));
  eog_ = end_of_generation_ids_for(*this);
}

}  // namespace kiln::text
