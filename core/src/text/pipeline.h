// The stages of a Hugging Face style tokenizer (normalizer -> pre-tokenizer -> model ->
// post-processor, and decoder back), as small interfaces. tokenizer.json and GGUF vocabularies
// both load into these.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/tokenizer.h"
#include "text/regex.h"

namespace kiln::text {

// A run of text during pre-tokenization: [begin, end) of Pieces::buf, and the byte offset in
// the original input where it starts (0 means "the very start of the text").
struct Span {
  uint32_t begin;
  uint32_t end;
  uint32_t offset;
};

struct Pieces {
  std::string buf;
  std::vector<Span> spans;

  std::string_view view(const Span& s) const { return {buf.data() + s.begin, s.end - s.begin}; }
  void clear() {
    buf.clear();
    spans.clear();
  }
  // Scratch Pieces are kept between calls; one that grew for a huge text gives its memory back.
  void trim() {
    if (buf.capacity() > (size_t{16} << 20)) {
      std::string().swap(buf);
      std::vector<Span>().swap(spans);
    }
  }
  // Copies `text` into buf as a new span (empty text adds nothing).
  void add(std::string_view text, uint32_t offset) {
    if (text.empty()) return;
    const auto b = static_cast<uint32_t>(buf.size());
    buf.append(text);
    spans.push_back({b, static_cast<uint32_t>(buf.size()), offset});
  }
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Reads `in` and writes `out` (which it clears first).
  virtual void pre_tokenize(const Pieces& in, Pieces& out) const = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one pre-tokenized word.
  virtual void tokenize(std::string_view word, std::vector<TokenId>& out) const = 0;
  // Appends the ids of every word in `words` (models with caches batch their locking).
  virtual void tokenize_words(const Pieces& words, std::vector<TokenId>& out) const {
    for (const Span& s : words.spans) tokenize(words.view(s), out);
  }
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of the single-sequence template (add_special_tokens=True).
  virtual void process(std::vector<TokenId>& ids) const = 0;
};

struct DecodeContext {
  bool at_start = true;  // the tokens begin the text (first-token rules apply)
  bool raw = false;      // keep bytes as they are: no U+FFFD for invalid or partial UTF-8
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Hugging Face's decode_chain: token strings in, token strings out.
  virtual void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const = 0;
};

// How Split-like pre-tokenizers treat the matched parts (Hugging Face SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// Splits `text` (one span's contents) given the matches of a pattern in it, appending the
// resulting pieces to `out`. `offset` is the span's original offset.
void split_by_matches(std::string_view text, uint32_t offset, const std::vector<Match>& matches,
                      SplitBehavior behavior, bool invert, Pieces& out);

}  // namespace kiln::text
