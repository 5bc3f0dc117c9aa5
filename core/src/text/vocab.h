// A token vocabulary: id -> token string and string -> id (heterogeneous lookup, so hot
// paths search with string_views and allocate nothing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/tokenizer.h"

namespace kiln::text {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class Vocab {
 public:
  // Adds (or overwrites) `token` at `id`; ids may come in any order and leave holes.
  void set(TokenId id, std::string token);
  std::optional<TokenId> find(std::string_view token) const {
    auto it = ids_.find(token);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  // nullptr when `id` has no token.
  const std::string* token(TokenId id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[static_cast<size_t>(id)]) return nullptr;
    return &tokens_[static_cast<size_t>(id)];
  }
  size_t size() const { return tokens_.size(); }  // one past the highest id
  size_t count() const { return ids_.size(); }

 private:
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
  StringMap<TokenId> ids_;
};

}  // namespace kiln::text
