#include "text/special_tokens.h"

#include <algorithm>

namespace kiln::text {

namespace {

// Chat models' end-of-turn markers (the list llama.cpp also recognises).
constexpr const char* kEndOfTurn[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<turn|>",
                                      "<|endoftext|>", "<|end_of_text|>", "<EOT>", "<|eom_id|>"};

std::optional<TokenId> by_name(const Tokenizer& tok, const std::optional<std::string>& name) {
  if (!name || name->empty()) return std::nullopt;
  return tok.token_to_id(*name);
}

}  // namespace

SpecialTokenIds resolve_special_ids(const Tokenizer& tok, SpecialTokenIds ids) {
  const TokenizerConfig& cfg = tok.config();
  if (!ids.bos) ids.bos = by_name(tok, cfg.bos_token);
  if (!ids.eos) ids.eos = by_name(tok, cfg.eos_token);
  if (!ids.pad) ids.pad = by_name(tok, cfg.pad_token);
  if (!ids.unk) ids.unk = by_name(tok, cfg.unk_token);
  if (!ids.eot) {
    for (const char* name : kEndOfTurn) {
      auto id = tok.token_to_id(name);
      if (id && tok.is_special(*id)) {
        ids.eot = id;
        break;
      }
    }
  }
  return ids;
}

std::vector<TokenId> end_of_generation_ids_for(const Tokenizer& tok) {
  std::vector<TokenId> out;
  auto add = [&](std::optional<TokenId> id) {
    if (id && std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
  };
  add(tok.eos_id());
  add(tok.eot_id());
  for (const char* name : kEndOfTurn) {
    auto id = tok.token_to_id(name);
    if (id && tok.is_special(*id)) add(id);
  }
  return out;
}

}  // namespace kiln::text
