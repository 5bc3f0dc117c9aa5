// StreamingDecoder: each new id is decoded in the context of the previous one (so first-token
// rules such as SentencePiece's prefix-space removal apply only at the start), and only
// complete UTF-8 characters leave.
#include "kiln/tokenizer.h"
#include "text/utf8.h"

namespace kiln {

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::feed(TokenId id) {
  const std::string before = tokenizer_->decode_bytes(window_, skip_special_, at_start_);
  window_.push_back(id);
  const std::string after = tokenizer_->decode_bytes(window_, skip_special_, at_start_);
  size_t common = 0;
  while (common < before.size() && common < after.size() && before[common] == after[common]) ++common;
  pending_.append(after, common, std::string::npos);
  // Until something has been produced, the text has not really started.
  if (at_start_ && !after.empty()) at_start_ = false;
  window_.assign(1, id);

  const size_t complete = text::utf8_complete_prefix(pending_);
  std::string out = text::utf8_repair(std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamingDecoder::feed(std::span<const TokenId> ids) {
  std::string out;
  for (TokenId id : ids) out += feed(id);
  return out;
}

std::string StreamingDecoder::finish() {
  std::string out = text::utf8_repair(pending_);
  reset();
  return out;
}

void StreamingDecoder::reset() {
  window_.clear();
  at_start_ = true;
  pending_.clear();
}

}  // namespace kiln
