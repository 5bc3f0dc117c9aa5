#include "text/normalizers.h"

#include "text/utf8.h"

namespace kiln::text {

void SequenceNormalizer::normalize(std::string& s) const {
  for (const auto& step : steps_) step->normalize(s);
}

void StripNormalizer::normalize(std::string& s) const {
  size_t b = 0, e = s.size();
  if (left_) {
    while (b < e) {
      const Utf8Char c = utf8_decode(s, b);
      if (!is_white_space(c.cp)) break;
      b += c.len;
    }
  }
  if (right_) {
    while (e > b) {
      size_t p = e - 1;
      while (p > b && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
      if (!is_white_space(utf8_decode(s, p).cp)) break;
      e = p;
    }
  }
  s = s.substr(b, e - b);
}

void StripAccentsNormalizer::normalize(std::string& s) const {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const Utf8Char c = utf8_decode(s, i);
    if (!is_nonspacing_mark(c.cp)) out.append(s, i, c.len);
    i += c.len;
  }
  s = std::move(out);
}

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

void ReplaceNormalizer::normalize(std::string& s) const {
  if (!regex_) {
    if (s.find(literal_) != std::string::npos) s = replace_all(s, literal_, content_);
    return;
  }
  std::vector<Match> matches;
  regex_->find_all(s, matches);
  if (matches.empty()) return;
  std::string out;
  size_t pos = 0;
  for (const Match& m : matches) {
    out.append(s, pos, m.begin - pos);
    out.append(content_);
    pos = m.end;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

void BertNormalizer::normalize(std::string& s) const {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const Utf8Char c = utf8_decode(s, i);
    i += c.len;
    if (clean_text_) {
      if (c.cp == 0 || c.cp == 0xFFFD || is_control(c.cp)) continue;
      if (is_white_space(c.cp)) {
        out.push_back(' ');
        continue;
      }
    }
    if (chinese_chars_ && is_cjk_ideograph(c.cp)) {
      out.push_back(' ');
      utf8_append(out, c.cp);
      out.push_back(' ');
      continue;
    }
    utf8_append(out, c.cp);
  }
  if (strip_accents_) {
    out = unicode_normalize(out, NormalForm::NFD);
    StripAccentsNormalizer{}.normalize(out);
  }
  if (lowercase_) out = unicode_lowercase(out);
  s = std::move(out);
}

}  // namespace kiln::text
