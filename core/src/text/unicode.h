// Unicode properties and normalization forms the tokenizers need, with the semantics of the
// Rust functions Hugging Face tokenizers uses (char::is_whitespace, is_alphanumeric, ...).
// Backed by ICU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::text {

bool is_white_space(uint32_t cp);   // Unicode White_Space (Rust char::is_whitespace)
bool is_alphanumeric(uint32_t cp);  // Alphabetic or Numeric (Rust char::is_alphanumeric)
bool is_punctuation(uint32_t cp);   // ASCII punctuation or general category P*
bool is_nonspacing_mark(uint32_t cp);  // general category Mn
bool is_control(uint32_t cp);          // general category Cc/Cf/Co/Cn... as BERT's clean_text
bool is_cjk_ideograph(uint32_t cp);    // the CJK blocks BERT pads with spaces

enum class NormalForm { NFC, NFD, NFKC, NFKD };
// `s` must be valid UTF-8.
std::string unicode_normalize(std::string_view s, NormalForm form);
std::string unicode_lowercase(std::string_view s);

}  // namespace kiln::text
