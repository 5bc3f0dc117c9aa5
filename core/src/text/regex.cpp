#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "kiln/error.h"
#include "text/utf8.h"

namespace kiln::text {

namespace {

// Oniguruma's Unicode meaning of each shorthand, as class contents.
constexpr std::string_view kSpace = "\\t-\\r\\x{85}\\p{Z}";
constexpr std::string_view kWord = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

// Per-thread match state: a match data block (only group 0 is read) and a JIT stack big
// enough for long runs of whitespace under \s+(?!\S).
struct ThreadMatchState {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

std::string onig_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  int class_depth = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char n = p[i + 1];
      std::string_view body;
      bool negated = false;
      if (n == 's' || n == 'S') body = kSpace, negated = n == 'S';
      if (n == 'w' || n == 'W') body = kWord, negated = n == 'W';
      if (n == 'd' || n == 'D') body = "\\p{Nd}", negated = n == 'D';
      if (!body.empty() && !(negated && class_depth > 0)) {
        if (class_depth > 0) {
          out += body;
        } else {
          out += negated ? "[^" : "[";
          out += body;
          out += "]";
        }
      } else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  const std::string translated = onig_to_pcre2(pattern);
  int err = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                        PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (code_ == nullptr) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof(msg));
    throw Error(where + ": invalid regex '" + std::string(pattern) + "' at offset " +
                std::to_string(offset) + ": " + reinterpret_cast<const char*>(msg));
  }
  // JIT is an optimization; without it (e.g. unsupported CPU) matching still works.
  pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() { pcre2_code_free(code_); }

void Regex::find_all(std::string_view s, std::vector<Match>& out) const {
  ThreadMatchState& st = thread_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
  size_t last_end = 0;
  size_t last_match_end = SIZE_MAX;
  while (last_end <= s.size()) {
    const int rc = pcre2_match(code_, subject, s.size(), last_end, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof(msg));
      throw Error("tokenizer: regex '" + pattern_ + "' failed: " + reinterpret_cast<const char*>(msg));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    const size_t b = ov[0], e = ov[1];
    if (b == e && last_match_end == e) {
      last_end += last_end < s.size() ? utf8_len_fast(static_cast<unsigned char>(s[last_end])) : 1;
      continue;
    }
    last_end = e;
    last_match_end = e;
    out.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
  }
}

}  // namespace kiln::text
