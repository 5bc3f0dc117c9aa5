// Finding the special tokens a generation loop needs (BOS, EOS, end of turn, ...) when a file
// does not name them all: by tokenizer_config.json names, then by well-known token strings.
#pragma once

#include <vector>

#include "kiln/tokenizer.h"

namespace kiln::text {

// Fills what `ids` leaves empty from tok.config() names and well-known strings.
SpecialTokenIds resolve_special_ids(const Tokenizer& tok, SpecialTokenIds ids);
// EOS, EOT and every well-known end-of-turn token present in the vocabulary.
std::vector<TokenId> end_of_generation_ids_for(const Tokenizer& tok);

}  // namespace kiln::text
