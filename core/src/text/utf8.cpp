#include "text/utf8.h"

namespace kiln::text {

namespace {

// Valid range of the second byte for each lead byte (Unicode Table 3-7).
bool second_byte_ok(unsigned char lead, unsigned char b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  return b >= 0x80 && b <= 0xBF;
}

uint32_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // never a lead byte
}

}  // namespace

Utf8Char utf8_decode(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const uint32_t need = sequence_length(lead);
  if (need == 1) return {lead, 1, true};
  if (need == 0) return {0xFFFD, 1, false};
  uint32_t cp = lead & (need == 2 ? 0x1F : need == 3 ? 0x0F : 0x07);
  for (uint32_t k = 1; k < need; ++k) {
    if (i + k >= s.size()) return {0xFFFD, k, false};
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {0xFFFD, k, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  return {cp, need, true};
}

void utf8_append(std::string& out, uint32_t cp) {
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

bool utf8_valid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Char c = utf8_decode(s, i);
    if (!c.valid) return false;
    i += c.len;
  }
  return true;
}

std::string utf8_repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out.push_back(s[i++]);
      continue;
    }
    const Utf8Char c = utf8_decode(s, i);
    if (c.valid) {
      out.append(s.substr(i, c.len));
    } else {
      utf8_append(out, 0xFFFD);
    }
    i += c.len;
  }
  return out;
}

size_t utf8_complete_prefix(std::string_view s) {
  // Only the last (at most 3) bytes can start an unfinished character.
  const size_t start = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t i = start; i < s.size(); ++i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    const uint32_t need = sequence_length(lead);
    if (need <= 1) continue;
    if (i + need <= s.size()) continue;  // complete (valid or not)
    // Truncated here: is what we have so far a valid beginning?
    const Utf8Char c = utf8_decode(s, i);
    if (i + c.len == s.size()) return i;
  }
  return s.size();
}

size_t utf8_count(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    const auto b = static_cast<unsigned char>(s[i]);
    i += b < 0x80 ? 1 : utf8_decode(s, i).len;
  }
  return n;
}

}  // namespace kiln::text
