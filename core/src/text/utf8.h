// UTF-8 helpers for the tokenizers: validation with Rust's from_utf8_lossy rules (one U+FFFD
// per maximal invalid subpart), code point iteration, and the "complete prefix" a streaming
// decoder may emit without splitting a character.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::text {

struct Utf8Char {
  uint32_t cp;    // the code point; 0xFFFD for an invalid sequence
  uint32_t len;   // bytes consumed (>= 1)
  bool valid;
};

// Decodes the character starting at s[i] (i < s.size()). An invalid sequence consumes its
// maximal valid prefix (at least one byte), like Rust's Utf8Chunks.
Utf8Char utf8_decode(std::string_view s, size_t i);

// Length of the character at s[i] assuming valid UTF-8 (1 for a stray byte).
inline uint32_t utf8_len_fast(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

void utf8_append(std::string& out, uint32_t cp);
bool utf8_valid(std::string_view s);
// Replaces every invalid subpart with U+FFFD (Rust String::from_utf8_lossy).
std::string utf8_repair(std::string_view s);
// The longest prefix of s that does not end inside an incomplete (still possibly valid)
// character. Invalid bytes count as complete: the caller repairs them.
size_t utf8_complete_prefix(std::string_view s);
// Number of code points (invalid subparts count as one each).
size_t utf8_count(std::string_view s);

}  // namespace kiln::text
