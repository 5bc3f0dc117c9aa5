#include "text/added_vocabulary.h"

#include "text/pipeline.h"
#include "text/unicode.h"
#include "text/utf8.h"

namespace kiln::text {

void AddedVocabulary::Matcher::insert(std::string_view key, int token_index) {
  if (key.empty()) return;
  uint32_t node = 0;
  for (char ch : key) {
    const uint64_t edge = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(ch);
    auto it = edges_.find(edge);
    if (it == edges_.end()) {
      nodes_.push_back(Node{});
      it = edges_.emplace(edge, static_cast<uint32_t>(nodes_.size() - 1)).first;
    }
    node = it->second;
  }
  // The first token with a given string wins, as in Hugging Face's trie.
  if (nodes_[node].token < 0) nodes_[node].token = token_index;
  first_[static_cast<unsigned char>(key[0])] = true;
}

std::pair<int, size_t> AddedVocabulary::Matcher::longest_at(std::string_view s, size_t pos) const {
  std::pair<int, size_t> best{-1, 0};
  uint32_t node = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    const uint64_t edge = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(s[i]);
    auto it = edges_.find(edge);
    if (it == edges_.end()) break;
    node = it->second;
    if (nodes_[node].token >= 0) best = {nodes_[node].token, i + 1 - pos};
  }
  return best;
}

void AddedVocabulary::add(AddedToken token) {
  if (by_id_.count(token.id)) return;
  by_id_[token.id] = tokens_.size();
  by_content_.emplace(token.content, tokens_.size());
  tokens_.push_back(std::move(token));
}

void AddedVocabulary::build(const Normalizer* normalizer) {
  raw_ = Matcher{};
  normalized_ = Matcher{};
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    if (t.normalized && normalizer != nullptr) {
      std::string content = t.content;
      normalizer->normalize(content);
      normalized_.insert(content, static_cast<int>(i));
    } else if (t.normalized) {
      normalized_.insert(t.content, static_cast<int>(i));
    } else {
      raw_.insert(t.content, static_cast<int>(i));
    }
  }
}

const AddedToken* AddedVocabulary::by_id(TokenId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<TokenId> AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

namespace {

bool is_word_char(uint32_t cp) { return is_alphanumeric(cp) || cp == '_'; }

// The code point that ends at `end` (end > 0).
uint32_t last_char(std::string_view s, size_t end) {
  size_t b = end - 1;
  while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80 && end - b < 4) --b;
  return utf8_decode(s, b).cp;
}

}  // namespace

void AddedVocabulary::split_with(const Matcher& matcher, std::string_view text, uint32_t offset,
                                 std::vector<Segment>& out) const {
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    if (!matcher.may_start(static_cast<unsigned char>(text[pos]))) {
      ++pos;
      continue;
    }
    const auto [index, len] = matcher.longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = tokens_[static_cast<size_t>(index)];
    size_t start = pos;
    size_t stop = pos + len;
    if (tok.single_word) {
      const bool start_space = start == 0 || !is_word_char(last_char(text, start));
      const bool stop_space = stop == text.size() || !is_word_char(utf8_decode(text, stop).cp);
      if (!start_space || !stop_space) {
        // Not a whole word: the matcher moves on past this match, like the Aho-Corasick
        // iterator Hugging Face uses.
        pos = stop;
        continue;
      }
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > start_offset) {
        size_t b = s - 1;
        while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80 && s - b < 4) --b;
        if (!is_white_space(utf8_decode(text, b).cp)) break;
        s = b;
      }
      start = s;
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        const Utf8Char c = utf8_decode(text, stop);
        if (!is_white_space(c.cp)) break;
        stop += c.len;
      }
    }
    if (start > start_offset) {
      out.push_back({std::string(text.substr(start_offset, start - start_offset)),
                     offset + static_cast<uint32_t>(start_offset), -1});
    }
    out.push_back({std::string(), offset + static_cast<uint32_t>(start), tok.id});
    start_offset = stop;
    pos = stop;
  }
  if (start_offset < text.size()) {
    out.push_back({std::string(text.substr(start_offset)), offset + static_cast<uint32_t>(start_offset), -1});
  }
}

std::vector<Segment> AddedVocabulary::split(std::string_view text, const Normalizer* normalizer) const {
  std::vector<Segment> first;
  if (raw_.empty()) {
    if (!text.empty()) first.push_back({std::string(text), 0, -1});
  } else {
    split_with(raw_, text, 0, first);
  }
  std::vector<Segment> out;
  out.reserve(first.size());
  for (Segment& seg : first) {
    if (seg.id >= 0) {
      out.push_back(std::move(seg));
      continue;
    }
    if (normalizer != nullptr) normalizer->normalize(seg.text);
    if (normalized_.empty()) {
      if (!seg.text.empty()) out.push_back(std::move(seg));
    } else {
      split_with(normalized_, seg.text, seg.offset, out);
    }
  }
  return out;
}

}  // namespace kiln::text
