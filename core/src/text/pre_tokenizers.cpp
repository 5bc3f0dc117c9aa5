#include "text/pre_tokenizers.h"

#include <algorithm>

#include "text/byte_level.h"
#include "text/normalizers.h"
#include "text/unicode.h"
#include "text/utf8.h"

namespace kiln::text {

// Hugging Face's NormalizedString::split: the matches and the gaps between them cover the
// text; the behavior decides which parts are kept and how matches attach to neighbours.
void split_by_matches(std::string_view text, uint32_t offset, const std::vector<Match>& matches,
                      SplitBehavior behavior, bool invert, Pieces& out) {
  struct Part {
    uint32_t b, e;
    bool is_match;
  };
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  uint32_t prev = 0;
  for (const Match& m : matches) {
    if (m.begin != prev) parts.push_back({prev, m.begin, invert});
    parts.push_back({m.begin, m.end, !invert});
    prev = m.end;
  }
  if (prev != text.size()) parts.push_back({prev, static_cast<uint32_t>(text.size()), invert});

  std::vector<std::pair<uint32_t, uint32_t>> kept;
  kept.reserve(parts.size());
  switch (behavior) {
    case SplitBehavior::Isolated:
      for (const Part& p : parts) kept.emplace_back(p.b, p.e);
      break;
    case SplitBehavior::Removed:
      for (const Part& p : parts) {
        if (!p.is_match) kept.emplace_back(p.b, p.e);
      }
      break;
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.is_match == previous_match && !kept.empty()) {
          kept.back().second = p.e;
        } else {
          kept.emplace_back(p.b, p.e);
        }
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !kept.empty()) {
          kept.back().second = p.e;
        } else {
          kept.emplace_back(p.b, p.e);
        }
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous_match = false;
      for (size_t i = parts.size(); i-- > 0;) {
        const Part& p = parts[i];
        if (p.is_match && !previous_match && !kept.empty()) {
          kept.back().first = p.b;
        } else {
          kept.emplace_back(p.b, p.e);
        }
        previous_match = p.is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  for (const auto& [b, e] : kept) {
    if (b < e) out.add(text.substr(b, e - b), offset + b);
  }
}

void SequencePreTokenizer::pre_tokenize(const Pieces& in, Pieces& out) const {
  if (steps_.empty()) {
    out = in;
    return;
  }
  // Scratch buffers are reused between calls (no allocation per text), one pair per nesting
  // level since a Sequence may contain a Sequence.
  thread_local std::vector<std::unique_ptr<Pieces>> pool;
  thread_local size_t depth = 0;
  struct Level {
    size_t& d;
    explicit Level(size_t& depth) : d(depth) { ++d; }
    ~Level() { --d; }
  } level(depth);
  while (pool.size() < 2 * depth) pool.push_back(std::make_unique<Pieces>());
  Pieces& a = *pool[2 * depth - 2];
  Pieces& b = *pool[2 * depth - 1];
  const Pieces* src = &in;
  for (size_t i = 0; i < steps_.size(); ++i) {
    Pieces* dst = i + 1 == steps_.size() ? &out : (src == &a ? &b : &a);
    steps_[i]->pre_tokenize(*src, *dst);
    src = dst;
  }
  a.trim();
  b.trim();
}

void SplitPreTokenizer::pre_tokenize(const Pieces& in, Pieces& out) const {
  out.clear();
  out.buf.reserve(in.buf.size());
  std::vector<Match> matches;
  for (const Span& s : in.spans) {
    const std::string_view text = in.view(s);
    matches.clear();
    if (regex_) {
      regex_->find_all(text, matches);
    } else if (!literal_.empty()) {
      for (size_t pos = text.find(literal_); pos != std::string_view::npos;
           pos = text.find(literal_, pos + literal_.size())) {
        matches.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + literal_.size())});
      }
    }
    split_by_matches(text, s.offset, matches, behavior_, invert_, out);
  }
}

namespace {

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

}  // namespace

ByteLevelPreTokenizer::ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
    : add_prefix_space_(add_prefix_space) {
  if (use_regex) regex_ = std::make_unique<Regex>(kGpt2Pattern, "ByteLevel pre-tokenizer");
}

void ByteLevelPreTokenizer::pre_tokenize(const Pieces& in, Pieces& out) const {
  out.clear();
  out.buf.reserve(in.buf.size() * 2);
  thread_local std::vector<Match> matches;
  thread_local Pieces split;
  thread_local std::string prefixed;
  for (const Span& s : in.spans) {
    std::string_view text = in.view(s);
    if (add_prefix_space_ && text[0] != ' ') {
      prefixed.clear();
      prefixed.push_back(' ');
      prefixed.append(text);
      text = prefixed;
    }
    split.clear();
    if (regex_) {
      matches.clear();
      regex_->find_all(text, matches);
      split_by_matches(text, s.offset, matches, SplitBehavior::Isolated, false, split);
    } else {
      split.add(text, s.offset);
    }
    for (const Span& p : split.spans) {
      const auto b = static_cast<uint32_t>(out.buf.size());
      byte_level_encode(split.view(p), out.buf);
      out.spans.push_back({b, static_cast<uint32_t>(out.buf.size()), p.offset});
    }
  }
}

void MetaspacePreTokenizer::pre_tokenize(const Pieces& in, Pieces& out) const {
  out.clear();
  std::string text;
  std::vector<Match> matches;
  for (const Span& s : in.spans) {
    text = replace_all(in.view(s), " ", replacement_);
    const bool starts_with_rep = text.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts_with_rep && (scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && s.offset == 0))) {
      text.insert(0, replacement_);
    }
    if (!split_ || replacement_.empty()) {
      out.add(text, s.offset);
      continue;
    }
    matches.clear();
    for (size_t pos = text.find(replacement_); pos != std::string::npos;
         pos = text.find(replacement_, pos + replacement_.size())) {
      matches.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + replacement_.size())});
    }
    split_by_matches(text, s.offset, matches, SplitBehavior::MergedWithNext, false, out);
  }
}

void CharClassPreTokenizer::pre_tokenize(const Pieces& in, Pieces& out) const {
  out.clear();
  std::vector<Match> matches;
  for (const Span& s : in.spans) {
    const std::string_view text = in.view(s);
    matches.clear();
    for (size_t i = 0; i < text.size();) {
      const Utf8Char c = utf8_decode(text, i);
      bool hit = false;
      switch (cls_) {
        case Class::Whitespace: hit = is_white_space(c.cp); break;
        case Class::AsciiDigit: hit = c.cp >= '0' && c.cp <= '9'; break;
        case Class::Punctuation: hit = is_punctuation(c.cp); break;
      }
      if (hit) matches.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(i + c.len)});
      i += c.len;
    }
    split_by_matches(text, s.offset, matches, behavior_, false, out);
  }
}

std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer() {
  return std::make_unique<SplitPreTokenizer>(
      std::make_unique<Regex>("\\w+|[^\\w\\s]+", "Whitespace pre-tokenizer"), SplitBehavior::Removed, true);
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() {
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  steps.push_back(std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Class::Whitespace,
                                                          SplitBehavior::Removed));
  steps.push_back(std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Class::Punctuation,
                                                          SplitBehavior::Isolated));
  return std::make_unique<SequencePreTokenizer>(std::move(steps));
}

}  // namespace kiln::text
