// Units under the tokenizers: UTF-8 repair as Rust's from_utf8_lossy, Oniguruma class
// rewriting, regex iteration, added-token matching flags.
#include <catch2/catch.hpp>

#include "kiln/error.h"
#include "text/added_vocabulary.h"
#include "text/regex.h"
#include "text/utf8.h"

using namespace kiln::text;

TEST_CASE("UTF-8 repair replaces each maximal invalid subpart once", "[tokenizer][utf8]") {
  CHECK(utf8_repair("abc") == "abc");
  CHECK(utf8_repair("a\xff" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(utf8_repair("\xE2\x82") == "\xEF\xBF\xBD");              // truncated 3-byte sequence: one
  CHECK(utf8_repair("\xE2\x82" "a") == "\xEF\xBF\xBD" "a");
  CHECK(utf8_repair("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: three
  CHECK(utf8_repair("\xF0\x9F\xA6\x99") == "\xF0\x9F\xA6\x99");
  CHECK(utf8_repair("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  CHECK_FALSE(utf8_valid("\xF4\x90\x80\x80"));                    // above U+10FFFF
}

TEST_CASE("complete UTF-8 prefix stops before an unfinished character", "[tokenizer][utf8]") {
  CHECK(utf8_complete_prefix("abc") == 3);
  CHECK(utf8_complete_prefix("a\xF0\x9F\xA6") == 1);
  CHECK(utf8_complete_prefix("a\xF0\x9F\xA6\x99") == 5);
  CHECK(utf8_complete_prefix("a\xE2") == 1);
  CHECK(utf8_complete_prefix("a\xE2" "b") == 3);   // invalid, not unfinished
  CHECK(utf8_complete_prefix("\xff") == 1);
}

TEST_CASE("Oniguruma shorthands are rewritten for PCRE2", "[tokenizer][regex]") {
  CHECK(onig_to_pcre2("\\s+(?!\\S)") == "[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])");
  CHECK(onig_to_pcre2("[^\\s\\p{L}]") == "[^\\t-\\r\\x{85}\\p{Z}\\p{L}]");
  CHECK(onig_to_pcre2("a\\\\s") == "a\\\\s");  // an escaped backslash, then 's'
  CHECK(onig_to_pcre2("[]s]") == "[]s]");
}

TEST_CASE("regex iteration follows the Rust onig crate", "[tokenizer][regex]") {
  Regex re("\\s+(?!\\S)|\\s+", "test");
  std::vector<Match> m;
  re.find_all("a   b", m);
  REQUIRE(m.size() == 2);
  CHECK(m[0].begin == 1);
  CHECK(m[0].end == 3);
  CHECK(m[1].begin == 3);
  CHECK(m[1].end == 4);
  // U+180E is not white space for Oniguruma (it is for PCRE2's \s).
  m.clear();
  re.find_all("\xE1\xA0\x8E", m);
  CHECK(m.empty());
  m.clear();
  Regex empty("x*", "test");
  empty.find_all("axxb", m);
  // Empty matches at 0, "xx" at 1..3, then an empty match at 4 (3 follows the last match).
  REQUIRE(m.size() == 3);
  CHECK((m[1].begin == 1 && m[1].end == 3));
  CHECK((m[2].begin == 4 && m[2].end == 4));
  CHECK_THROWS_AS(Regex("(", "here"), kiln::Error);
}

TEST_CASE("added tokens: leftmost-longest, lstrip/rstrip, single_word", "[tokenizer][added]") {
  AddedVocabulary v;
  v.add({"<a>", 10, true, false, false, false, false});
  v.add({"<a><b>", 11, true, false, false, false, false});
  v.add({"[L]", 12, true, true, false, false, false});
  v.add({"[R]", 13, true, false, true, false, false});
  v.add({"cat", 14, false, false, false, false, true});
  v.build(nullptr);
  auto ids = [&](std::string_view text) {
    std::vector<std::string> out;
    for (const Segment& s : v.split(text, nullptr)) {
      std::string item = s.text;
      if (s.id >= 0) item = std::to_string(s.id).insert(0, 1, '#');
      out.push_back(item);
    }
    return out;
  };
  CHECK(ids("x<a><b>y<a>") == std::vector<std::string>{"x", "#11", "y", "#10"});
  CHECK(ids("x  [L]  y") == std::vector<std::string>{"x", "#12", "  y"});
  CHECK(ids("x  [R]  y") == std::vector<std::string>{"x  ", "#13", "y"});
  CHECK(ids("a cat sat") == std::vector<std::string>{"a ", "#14", " sat"});
  CHECK(ids("concatenate") == std::vector<std::string>{"concatenate"});
}
