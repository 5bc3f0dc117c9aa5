// GPT-2's reversible byte <-> printable character mapping used by byte-level BPE: every byte
// becomes one visible code point (space -> 'Ġ', newline -> 'Ċ', ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::text {

// UTF-8 of the character standing for byte b.
std::string_view byte_to_char_utf8(uint8_t b);
// The byte a code point stands for, or -1 when it is not one of the 256 characters.
int char_to_byte(uint32_t cp);
// Maps every byte of `in` to its character and appends the UTF-8 to `out`.
void byte_level_encode(std::string_view in, std::string& out);

}  // namespace kiln::text
