// Added tokens (special and user-defined) and how they are cut out of the input before
// anything else runs, as Hugging Face's AddedVocabulary does: leftmost-longest matching,
// first of tokens matched in the raw text (normalized=false), then of tokens matched in the
// normalized text (normalized=true), with the lstrip / rstrip / single_word flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/tokenizer.h"
#include "text/vocab.h"

namespace kiln::text {

class Normalizer;

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

// A piece of the input after added tokens are cut out: either an added token's id, or text
// (already normalized) that the pre-tokenizer and model will handle.
struct Segment {
  std::string text;
  uint32_t offset = 0;  // where it starts in the original input
  TokenId id = -1;      // >= 0: an added token
};

class AddedVocabulary {
 public:
  void add(AddedToken token);
  // Builds the matchers; `normalizer` (may be null) normalizes the normalized=true tokens.
  void build(const Normalizer* normalizer);

  std::vector<Segment> split(std::string_view text, const Normalizer* normalizer) const;

  const AddedToken* by_id(TokenId id) const;
  std::optional<TokenId> find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  // A byte trie over token strings for leftmost-longest matching.
  class Matcher {
   public:
    void insert(std::string_view key, int token_index);
    bool empty() const { return nodes_.size() <= 1; }
    // Longest key that starts at s[pos]: (token index, length) or (-1, 0).
    std::pair<int, size_t> longest_at(std::string_view s, size_t pos) const;
    bool may_start(unsigned char c) const { return first_[c]; }

   private:
    struct Node {
      int token = -1;
    };
    std::vector<Node> nodes_{Node{}};
    std::unordered_map<uint64_t, uint32_t> edges_;  // (node << 8 | byte) -> child
    bool first_[256] = {};
  };

  // Hugging Face's find_matches + split_with_indices on one piece of text.
  void split_with(const Matcher& matcher, std::string_view text, uint32_t offset,
                  std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<TokenId, size_t> by_id_;
  StringMap<size_t> by_content_;
  Matcher raw_;
  Matcher normalized_;
};

}  // namespace kiln::text
