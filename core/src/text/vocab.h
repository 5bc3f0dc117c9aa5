// A token vocabulary: id -> token string and string -> id. The string index is a flat
// open-addressing table (one probe usually touches one cache line) searched with
// string_views, so hot paths allocate nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kiln/tokenizer.h"
#include "text/string_hash.h"

namespace kiln::text {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return hash_string(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class Vocab {
 public:
  // Adds `token` at `id` (ids may come in any order and leave holes). A string already in
  // the vocabulary moves to the new id; an id already used drops its old string.
  void set(TokenId id, std::string token);
  void reserve(size_t n);

  std::optional<TokenId> find(std::string_view token) const {
    if (slots_.empty()) return std::nullopt;
    const uint64_t h = hash_string(token);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id == kEmpty) return std::nullopt;
      if (s.tag == tag && tokens_[s.id] == token) return static_cast<TokenId>(s.id);
    }
  }
  // nullptr when `id` has no token.
  const std::string* token(TokenId id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !present_[static_cast<size_t>(id)]) return nullptr;
    return &tokens_[static_cast<size_t>(id)];
  }
  size_t size() const { return tokens_.size(); }  // one past the highest id
  size_t count() const { return count_; }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint32_t id = kEmpty;
    uint32_t tag = 0;
  };
  size_t slot_of(std::string_view token) const;  // the slot holding `token`, or SIZE_MAX
  void erase_slot(size_t i);
  void grow();

  std::vector<std::string> tokens_;
  std::vector<uint8_t> present_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace kiln::text
