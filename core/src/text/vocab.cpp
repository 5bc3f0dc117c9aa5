#include "text/vocab.h"

namespace kiln::text {

void Vocab::set(TokenId id, std::string token) {
  const auto index = static_cast<size_t>(id);
  if (index >= tokens_.size()) {
    tokens_.resize(index + 1);
    present_.resize(index + 1, false);
  }
  if (present_[index]) {
    auto it = ids_.find(tokens_[index]);
    if (it != ids_.end() && it->second == id) ids_.erase(it);
  }
  ids_[token] = id;
  tokens_[index] = std::move(token);
  present_[index] = true;
}

}  // namespace kiln::text
