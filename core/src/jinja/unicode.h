// UTF-8 and the few Unicode properties Python's str methods need: code point access (Python
// indexes strings by code point), whitespace, case mapping and printability for repr().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja {

// Decodes leniently: an invalid byte becomes U+FFFD (inputs are validated at the boundary).
std::u32string utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(std::u32string_view s);
// Byte offset of the first invalid sequence, or npos when `s` is valid UTF-8.
size_t utf8_invalid_at(std::string_view s);
bool is_ascii(std::string_view s);
// Number of code points.
size_t utf8_length(std::string_view s);

bool py_isspace(char32_t c);
bool py_isdigit(char32_t c);
bool py_isalpha(char32_t c);
bool py_isprintable(char32_t c);
bool py_isupper(char32_t c);
bool py_islower(char32_t c);
// Simple case mappings (Latin, Greek, Cyrillic, fullwidth); appends because a few expand
// (ß -> SS).
void py_append_upper(std::u32string& out, char32_t c);
void py_append_lower(std::u32string& out, char32_t c);
char32_t py_to_upper(char32_t c);
char32_t py_to_lower(char32_t c);

}  // namespace kiln::jinja
