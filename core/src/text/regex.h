// PCRE2 (JIT) regular expressions with the matching rules Hugging Face tokenizers gets from
// Oniguruma: \s, \S, \w, \W and \d are rewritten to Oniguruma's Unicode classes, and
// find_all iterates like the Rust onig crate (an empty match right after the previous
// match is skipped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace kiln::text {

struct Match {
  uint32_t begin;
  uint32_t end;
};

class Regex {
 public:
  // `where` names the pattern's origin in error messages ("tokenizer.json: pre_tokenizer").
  Regex(std::string_view pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends every match in `s` (valid UTF-8) in order.
  void find_all(std::string_view s, std::vector<Match>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
};

// Oniguruma class shorthands rewritten for PCRE2 (exposed for tests).
std::string onig_to_pcre2(std::string_view pattern);

}  // namespace kiln::text
