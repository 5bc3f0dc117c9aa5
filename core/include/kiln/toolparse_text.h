// Small text helpers shared by the tool-call parsers: finding markup in a growing buffer while
// holding back only what could still become markup, trimming the edges of a stream, never
// splitting a UTF-8 character across deltas, and call ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::toolparse {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

struct MarkerHit {
  size_t pos = std::string_view::npos;  // where the earliest marker starts, npos if none
  int which = -1;                       // index into the marker list
};

// Whether `text` starts with `marker`: yes, no, or maybe (text is a proper prefix of it, so
// more bytes decide).
enum class FrontMatch : uint8_t { yes, no, maybe };
FrontMatch match_front(std::string_view text, std::string_view marker);

// The earliest complete occurrence of any marker in `text` (ties: the longest marker).
MarkerHit find_marker(std::string_view text, const std::vector<std::string_view>& markers);

// The length of the longest suffix of `text` that is a proper prefix of some marker: the part
// to hold back because the next bytes could complete a marker.
size_t partial_marker_tail(std::string_view text, const std::vector<std::string_view>& markers);

// How many bytes at the end of `text` form an incomplete UTF-8 sequence (0..3).
size_t incomplete_utf8_tail(std::string_view text);

// Streams text with whitespace dropped at both ends of the whole stream: leading whitespace is
// skipped, trailing whitespace is held until more non-space text follows (then it is inner
// whitespace) or the stream ends (then it is dropped). Also holds an incomplete trailing UTF-8
// sequence so a delta never ends mid-character.
class EdgeTrimmer {
 public:
  // The text to emit now for `text` arriving.
  std::string push(std::string_view text);
  // End of stream: what is still held that must be emitted (an incomplete UTF-8 tail).
  std::string finish();

 private:
  bool started_ = false;
  std::string held_space_;
  std::string held_utf8_;
};

// Call ids: OpenAI style "call_" + 24 alphanumerics, or Mistral's 9 alphanumerics.
enum class IdStyle : uint8_t { openai, mistral };

class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed) : state_(seed) {}
  void reseed(uint64_t seed) { state_ = seed; }
  std::string next(IdStyle style);

 private:
  uint64_t state_;
};

// True for 9 ASCII alphanumerics (a Mistral call id).
bool is_mistral_call_id(std::string_view id);

// `s` as a JSON string body (no surrounding quotes). Bytes >= 0x80 pass through unchanged so
// a fragment may end mid-character; the concatenation of escaped fragments is the escape of
// the concatenation.
std::string json_escape(std::string_view s);

// The deepest bracket nesting in JSON text (brackets inside strings do not count). Values
// deeper than kMaxJsonNesting are not parsed: dumping them again would recurse once per level.
constexpr int kMaxJsonNesting = 256;
int json_max_nesting(std::string_view text);

}  // namespace kiln::toolparse
