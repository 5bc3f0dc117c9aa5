#include "jinja/unicode.h"

namespace kiln::jinja {

namespace {

// Length of the sequence starting with `b`, 0 when `b` cannot start one.
int sequence_length(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// Decodes one code point at s[i]; returns its length, 0 when invalid. Lone surrogates
// (which Python strings may hold) are accepted.
int decode_one(std::string_view s, size_t i, char32_t& cp) {
  unsigned char b0 = static_cast<unsigned char>(s[i]);
  int len = sequence_length(b0);
  if (len == 0 || i + len > s.size()) return 0;
  if (len == 1) {
    cp = b0;
    return 1;
  }
  char32_t value = b0 & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    unsigned char b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3F);
  }
  static const char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMin[len] || value > 0x10FFFF) return 0;
  cp = value;
  return len;
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }
bool even(char32_t c) { return (c & 1) == 0; }

}  // namespace

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    int len = decode_one(s, i, cp);
    if (len == 0) {
      out.push_back(0xFFFD);
      ++i;
    } else {
      out.push_back(cp);
      i += len;
    }
  }
  return out;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

size_t utf8_invalid_at(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    int len = decode_one(s, i, cp);
    if (len == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || in(c, 0x2000, 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool py_isdigit(char32_t c) {
  return in(c, '0', '9') || c == 0xB2 || c == 0xB3 || c == 0xB9 || in(c, 0x660, 0x669) ||
         in(c, 0x6F0, 0x6F9) || in(c, 0x966, 0x96F) || in(c, 0x2070, 0x2079) ||
         in(c, 0x2080, 0x2089) || in(c, 0xFF10, 0xFF19);
}

char32_t py_to_lower(char32_t c) {
  if (in(c, 'A', 'Z')) return c + 32;
  if (c < 0xC0) return c;
  if (in(c, 0xC0, 0xDE) && c != 0xD7) return c + 32;
  if (in(c, 0x100, 0x137) && even(c)) return c == 0x130 ? U'i' : c + 1;
  if (in(c, 0x139, 0x148) && !even(c)) return c + 1;
  if (in(c, 0x14A, 0x177) && even(c)) return c + 1;
  if (c == 0x178) return 0xFF;
  if (in(c, 0x179, 0x17E) && !even(c)) return c + 1;
  if (c == 0x386) return 0x3AC;
  if (in(c, 0x388, 0x38A)) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (in(c, 0x38E, 0x38F)) return c + 63;
  if (in(c, 0x391, 0x3A9) && c != 0x3A2) return c + 32;
  if (in(c, 0x400, 0x40F)) return c + 80;
  if (in(c, 0x410, 0x42F)) return c + 32;
  if ((in(c, 0x460, 0x481) || in(c, 0x48A, 0x4BF) || in(c, 0x4D0, 0x52F)) && even(c)) return c + 1;
  if (in(c, 0x531, 0x556)) return c + 48;
  if ((in(c, 0x1E00, 0x1E95) || in(c, 0x1EA0, 0x1EFF)) && even(c)) return c + 1;
  if (in(c, 0xFF21, 0xFF3A)) return c + 32;
  return c;
}

char32_t py_to_upper(char32_t c) {
  if (in(c, 'a', 'z')) return c - 32;
  if (c < 0xB5) return c;
  if (c == 0xB5) return 0x39C;
  if (in(c, 0xE0, 0xFE) && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (in(c, 0x101, 0x137) && !even(c)) return c == 0x131 ? U'I' : c - 1;
  if (in(c, 0x13A, 0x148) && even(c)) return c - 1;
  if (in(c, 0x14B, 0x177) && !even(c)) return c - 1;
  if (in(c, 0x17A, 0x17E) && even(c)) return c - 1;
  if (c == 0x17F) return U'S';
  if (c == 0x3AC) return 0x386;
  if (in(c, 0x3AD, 0x3AF)) return c - 37;
  if (c == 0x3C2) return 0x3A3;
  if (in(c, 0x3B1, 0x3C9)) return c - 32;
  if (c == 0x3CC) return 0x38C;
  if (in(c, 0x3CD, 0x3CE)) return c - 63;
  if (in(c, 0x430, 0x44F)) return c - 32;
  if (in(c, 0x450, 0x45F)) return c - 80;
  if ((in(c, 0x461, 0x481) || in(c, 0x48B, 0x4BF) || in(c, 0x4D1, 0x52F)) && !even(c)) return c - 1;
  if (in(c, 0x561, 0x586)) return c - 48;
  if ((in(c, 0x1E01, 0x1E95) || in(c, 0x1EA1, 0x1EFF)) && !even(c)) return c - 1;
  if (in(c, 0xFF41, 0xFF5A)) return c - 32;
  return c;
}

void py_append_upper(std::u32string& out, char32_t c) {
  if (c == 0xDF) {  // ß
    out += U"SS";
    return;
  }
  out.push_back(py_to_upper(c));
}

void py_append_lower(std::u32string& out, char32_t c) {
  if (c == 0x130) {  // İ lowers to i + combining dot above
    out += U"i\u0307";
    return;
  }
  out.push_back(py_to_lower(c));
}

bool py_isupper(char32_t c) { return py_to_lower(c) != c || c == 0x130; }
bool py_islower(char32_t c) {
  return py_to_upper(c) != c || c == 0xDF || c == 0x131 || c == 0x17F;
}

bool py_isalpha(char32_t c) {
  if (c < 0x80) return in(c, 'a', 'z') || in(c, 'A', 'Z');
  if (py_isupper(c) || py_islower(c)) return true;
  return c == 0xAA || c == 0xBA || in(c, 0x5D0, 0x5EA) || in(c, 0x620, 0x64A) ||
         in(c, 0x904, 0x939) || in(c, 0xE01, 0xE30) || in(c, 0x3041, 0x3096) ||
         in(c, 0x30A1, 0x30FA) || in(c, 0x3400, 0x4DBF) || in(c, 0x4E00, 0x9FFF) ||
         in(c, 0xAC00, 0xD7A3) || in(c, 0xF900, 0xFAFF) || in(c, 0x20000, 0x2FA1F);
}

bool py_isprintable(char32_t c) {
  if (c < 0x20 || in(c, 0x7F, 0xA0) || c == 0xAD) return false;
  if (c < 0x600) return true;
  if (in(c, 0x600, 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F || in(c, 0x890, 0x891) ||
      c == 0x8E2 || c == 0x1680 || c == 0x180E || in(c, 0x2000, 0x200F) ||
      in(c, 0x2028, 0x202F) || in(c, 0x205F, 0x206F) || c == 0x3000 || in(c, 0xD800, 0xF8FF) ||
      c == 0xFEFF || in(c, 0xFFF9, 0xFFFB) || in(c, 0xFFFE, 0xFFFF) || c == 0x110BD ||
      c == 0x110CD || in(c, 0x13430, 0x1343F) || in(c, 0x1BCA0, 0x1BCA3) ||
      in(c, 0x1D173, 0x1D17A) || in(c, 0xE0000, 0xE0FFF) || c >= 0xF0000)
    return false;
  return true;
}

}  // namespace kiln::jinja
