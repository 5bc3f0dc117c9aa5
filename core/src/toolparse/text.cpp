// Marker search, edge trimming, UTF-8 boundaries, call ids, JSON string escaping.
#include "kiln/toolparse_text.h"

#include <algorithm>
#include <cstdio>

namespace kiln::toolparse {

FrontMatch match_front(std::string_view text, std::string_view marker) {
  if (text.starts_with(marker)) return FrontMatch::yes;
  if (text.size() < marker.size() && marker.starts_with(text)) return FrontMatch::maybe;
  return FrontMatch::no;
}

MarkerHit find_marker(std::string_view text, const std::vector<std::string_view>& markers) {
  MarkerHit best;
  for (size_t i = 0; i < markers.size(); ++i) {
    if (markers[i].empty()) continue;
    size_t p = text.find(markers[i]);
    if (p == std::string_view::npos) continue;
    if (p < best.pos || (p == best.pos && markers[i].size() > markers[best.which].size())) {
      best.pos = p;
      best.which = static_cast<int>(i);
    }
  }
  return best;
}

size_t partial_marker_tail(std::string_view text, const std::vector<std::string_view>& markers) {
  size_t best = 0;
  for (auto m : markers) {
    size_t max_len = std::min(text.size(), m.size() > 0 ? m.size() - 1 : 0);
    for (size_t len = max_len; len > best; --len) {
      if (text.substr(text.size() - len) == m.substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

size_t incomplete_utf8_tail(std::string_view text) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

std::string EdgeTrimmer::push(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (is_space(c)) {
      if (started_) held_space_.push_back(c);
      continue;
    }
    started_ = true;
    if (!held_space_.empty()) {
      out += held_space_;
      held_space_.clear();
    }
    out.push_back(c);
  }
  // Prepend what was held from a previous push, then hold an incomplete UTF-8 tail. Bytes held
  // as a UTF-8 tail are never spaces, so the two holds do not interact.
  if (!held_utf8_.empty() && !out.empty()) {
    out.insert(0, held_utf8_);
    held_utf8_.clear();
  }
  size_t tail = incomplete_utf8_tail(out);
  if (tail > 0 && held_space_.empty()) {
    held_utf8_.append(out, out.size() - tail, tail);
    out.resize(out.size() - tail);
  }
  return out;
}

std::string EdgeTrimmer::finish() {
  std::string out;
  out.swap(held_utf8_);
  held_space_.clear();
  return out;
}

std::string IdGenerator::next(IdStyle style) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const size_t n = style == IdStyle::mistral ? 9 : 24;
  std::string id = style == IdStyle::mistral ? "" : "call_";
  for (size_t i = 0; i < n; ++i) {
    // splitmix64: small, fast, and good enough for ids that only need to differ.
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    id.push_back(alphabet[z % 62]);
  }
  return id;
}

bool is_mistral_call_id(std::string_view id) {
  if (id.size() != 9) return false;
  for (char c : id) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

int json_max_nesting(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace kiln::toolparse
