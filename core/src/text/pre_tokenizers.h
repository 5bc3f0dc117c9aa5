// Hugging Face pre-tokenizers: Sequence, Split (regex or literal), ByteLevel, Metaspace,
// Whitespace, WhitespaceSplit, Digits, Punctuation and BertPreTokenizer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/pipeline.h"
#include "text/regex.h"

namespace kiln::text {

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void pre_tokenize(const Pieces& in, Pieces& out) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// Split on a regex or a literal string.
class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Regex> regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  SplitPreTokenizer(std::string literal, SplitBehavior behavior, bool invert)
      : literal_(std::move(literal)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(const Pieces& in, Pieces& out) const override;

 private:
  std::unique_ptr<Regex> regex_;
  std::string literal_;
  SplitBehavior behavior_;
  bool invert_;
};

// Maps bytes to GPT-2's visible characters, optionally after splitting with GPT-2's regex.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex);
  void pre_tokenize(const Pieces& in, Pieces& out) const override;

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

enum class PrependScheme { Always, Never, First };

// SentencePiece's whitespace handling: ' ' -> replacement (U+2581), a prefix replacement
// per `scheme`, and (split=true) a split before every replacement character.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(const Pieces& in, Pieces& out) const override;

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

// Splits on a per-character predicate (whitespace, digits, punctuation).
class CharClassPreTokenizer : public PreTokenizer {
 public:
  enum class Class { Whitespace, AsciiDigit, Punctuation };
  CharClassPreTokenizer(Class cls, SplitBehavior behavior) : cls_(cls), behavior_(behavior) {}
  void pre_tokenize(const Pieces& in, Pieces& out) const override;

 private:
  Class cls_;
  SplitBehavior behavior_;
};

// Hugging Face's Whitespace pre-tokenizer: keeps the matches of \w+|[^\w\s]+.
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();

}  // namespace kiln::text
