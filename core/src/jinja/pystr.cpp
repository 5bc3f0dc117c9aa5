#include "jinja/pystr.h"

#include <algorithm>

#include "jinja/errors.h"
#include "jinja/unicode.h"

namespace kiln::jinja::pystr {

namespace {

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D ||
         c == 0x1E || c == 0x85 || c == 0x2028 || c == 0x2029;
}

bool cased(char32_t c) { return py_isupper(c) || py_islower(c); }

void clamp_range(int64_t length, std::optional<int64_t> start, std::optional<int64_t> end,
                 int64_t& lo, int64_t& hi) {
  lo = start.value_or(0);
  hi = end.value_or(length);
  if (lo < 0) lo = std::max<int64_t>(0, lo + length);
  if (hi < 0) hi = std::max<int64_t>(0, hi + length);
  hi = std::min(hi, length);
}

std::string map_chars(std::string_view s, void (*fn)(std::u32string&, char32_t)) {
  std::u32string out;
  for (char32_t c : utf8_decode(s)) fn(out, c);
  return utf8_encode(out);
}

}  // namespace

std::string strip(std::string_view s, const std::optional<std::string>& chars, Side side) {
  std::u32string cps = utf8_decode(s);
  std::u32string set = chars ? utf8_decode(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : py_isspace(c);
  };
  size_t lo = 0, hi = cps.size();
  if (side != Side::Right)
    while (lo < hi && strip_it(cps[lo])) ++lo;
  if (side != Side::Left)
    while (hi > lo && strip_it(cps[hi - 1])) --hi;
  return utf8_encode(std::u32string_view(cps).substr(lo, hi - lo));
}

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit) {
  std::vector<std::string> out;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep) {
    if (sep->empty()) fail(ErrorKind::Value, "empty separator");
    size_t pos = 0;
    while (static_cast<int64_t>(out.size()) < maxsplit) {
      size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, hit - pos));
      pos = hit + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  std::u32string cps = utf8_decode(s);
  size_t i = 0, n = cps.size();
  while (true) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i == n) break;
    if (static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(utf8_encode(std::u32string_view(cps).substr(i)));
      break;
    }
    size_t j = i;
    while (j < n && !py_isspace(cps[j])) ++j;
    out.push_back(utf8_encode(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep,
                                int64_t maxsplit) {
  std::vector<std::string> out;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep) {
    if (sep->empty()) fail(ErrorKind::Value, "empty separator");
    size_t end = s.size();
    while (static_cast<int64_t>(out.size()) < maxsplit && end >= sep->size()) {
      size_t hit = s.rfind(*sep, end - sep->size());
      if (hit == std::string_view::npos) break;
      out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  std::u32string cps = utf8_decode(s);
  size_t j = cps.size();
  while (true) {
    while (j > 0 && py_isspace(cps[j - 1])) --j;
    if (j == 0) break;
    if (static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(utf8_encode(std::u32string_view(cps).substr(0, j)));
      break;
    }
    size_t i = j;
    while (i > 0 && !py_isspace(cps[i - 1])) --i;
    out.push_back(utf8_encode(std::u32string_view(cps).substr(i, j - i)));
    j = i;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  std::u32string cps = utf8_decode(s);
  std::vector<std::string> out;
  size_t start = 0, i = 0, n = cps.size();
  while (i < n) {
    if (!is_line_break(cps[i])) {
      ++i;
      continue;
    }
    size_t eol = i;
    i += (cps[i] == '\r' && i + 1 < n && cps[i + 1] == '\n') ? 2 : 1;
    out.push_back(utf8_encode(std::u32string_view(cps).substr(start, (keepends ? i : eol) - start)));
    start = i;
  }
  if (start < n) out.push_back(utf8_encode(std::u32string_view(cps).substr(start)));
  return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view with,
                    int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (!with.empty()) {  // bound the result before building it
    double hits = old.empty() ? static_cast<double>(utf8_length(s) + 1) : static_cast<double>(s.size() / old.size());
    hits = std::min(hits, static_cast<double>(count));
    check_result_size(static_cast<double>(s.size()) + hits * static_cast<double>(with.size()), "replace");
  }
  if (old.empty()) {
    std::u32string cps = utf8_decode(s);
    int64_t done = 0;
    for (char32_t c : cps) {
      if (done < count) {
        out += with;
        ++done;
      }
      utf8_append(out, c);
    }
    if (done < count) out += with;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (done < count) {
    size_t hit = s.find(old, pos);
    if (hit == std::string_view::npos) break;
    out += s.substr(pos, hit - pos);
    out += with;
    pos = hit + old.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

std::string upper(std::string_view s) { return map_chars(s, py_append_upper); }
std::string lower(std::string_view s) { return map_chars(s, py_append_lower); }

std::string swapcase(std::string_view s) {
  return map_chars(s, [](std::u32string& out, char32_t c) {
    if (py_isupper(c))
      py_append_lower(out, c);
    else if (py_islower(c))
      py_append_upper(out, c);
    else
      out.push_back(c);
  });
}

std::string title(std::string_view s) {
  std::u32string out;
  bool previous_cased = false;
  for (char32_t c : utf8_decode(s)) {
    if (previous_cased)
      py_append_lower(out, c);
    else
      py_append_upper(out, c);
    previous_cased = cased(c);
  }
  return utf8_encode(out);
}

std::string capitalize(std::string_view s) {
  std::u32string out;
  bool first = true;
  for (char32_t c : utf8_decode(s)) {
    if (first)
      py_append_upper(out, c);
    else
      py_append_lower(out, c);
    first = false;
  }
  return utf8_encode(out);
}

int64_t find(std::string_view s, std::string_view sub, std::optional<int64_t> start,
             std::optional<int64_t> end, bool reverse) {
  std::u32string hay = utf8_decode(s);
  std::u32string needle = utf8_decode(sub);
  int64_t lo, hi;
  clamp_range(static_cast<int64_t>(hay.size()), start, end, lo, hi);
  if (hi - lo < static_cast<int64_t>(needle.size())) return -1;
  std::u32string_view window = std::u32string_view(hay).substr(static_cast<size_t>(lo),
                                                               static_cast<size_t>(hi - lo));
  size_t hit = reverse ? window.rfind(needle) : window.find(needle);
  return hit == std::u32string_view::npos ? -1 : lo + static_cast<int64_t>(hit);
}

int64_t count(std::string_view s, std::string_view sub, std::optional<int64_t> start,
              std::optional<int64_t> end) {
  std::u32string hay = utf8_decode(s);
  std::u32string needle = utf8_decode(sub);
  int64_t lo, hi;
  clamp_range(static_cast<int64_t>(hay.size()), start, end, lo, hi);
  if (hi < lo) return 0;
  if (needle.empty()) return hi - lo + 1;
  std::u32string_view window = std::u32string_view(hay).substr(static_cast<size_t>(lo),
                                                               static_cast<size_t>(hi - lo));
  int64_t n = 0;
  for (size_t pos = window.find(needle); pos != std::u32string_view::npos;
       pos = window.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::string pad(std::string_view s, int64_t width, char32_t fill, Side where) {
  int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return std::string(s);
  check_result_size(static_cast<double>(width) * 4, "padding");
  int64_t margin = width - len;
  int64_t left = 0;
  if (where == Side::Both)
    left = margin / 2 + (margin & width & 1);
  else if (where == Side::Right)  // rjust: the text sits right, the fill goes left
    left = margin;
  std::string fill_s;
  utf8_append(fill_s, fill);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill_s;
  out += s;
  for (int64_t i = 0; i < margin - left; ++i) out += fill_s;
  return out;
}

std::string zfill(std::string_view s, int64_t width) {
  int64_t len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return std::string(s);
  check_result_size(static_cast<double>(width), "zfill");
  std::string out(s);
  size_t at = (!out.empty() && (out[0] == '+' || out[0] == '-')) ? 1 : 0;
  out.insert(at, static_cast<size_t>(width - len), '0');
  return out;
}

namespace {
template <typename Pred>
bool all_of_nonempty(std::string_view s, Pred pred) {
  std::u32string cps = utf8_decode(s);
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), pred);
}
}  // namespace

bool isdigit(std::string_view s) { return all_of_nonempty(s, py_isdigit); }
bool isalpha(std::string_view s) { return all_of_nonempty(s, py_isalpha); }
bool isalnum(std::string_view s) {
  return all_of_nonempty(s, [](char32_t c) { return py_isalpha(c) || py_isdigit(c); });
}
bool isspace(std::string_view s) { return all_of_nonempty(s, py_isspace); }

bool isupper(std::string_view s) {
  bool any = false;
  for (char32_t c : utf8_decode(s)) {
    if (py_islower(c)) return false;
    if (py_isupper(c)) any = true;
  }
  return any;
}

bool islower(std::string_view s) {
  bool any = false;
  for (char32_t c : utf8_decode(s)) {
    if (py_isupper(c)) return false;
    if (py_islower(c)) any = true;
  }
  return any;
}

bool istitle(std::string_view s) {
  bool any = false, previous_cased = false;
  for (char32_t c : utf8_decode(s)) {
    if (py_isupper(c)) {
      if (previous_cased) return false;
      previous_cased = any = true;
    } else if (py_islower(c)) {
      if (!previous_cased) return false;
      previous_cased = any = true;
    } else {
      previous_cased = false;
    }
  }
  return any;
}

}  // namespace kiln::jinja::pystr
