#include "kiln/ipc/chunked_input.h"

#include "kiln/ipc/protocol.h"

namespace kiln::ipc {

void ChunkedInput::add(const std::string& field, uint64_t offset, const std::vector<uint8_t>& bytes) {
  const std::string where = "field '" + field + "': piece at offset " + std::to_string(offset) + " (" +
                            std::to_string(bytes.size()) + " bytes)";
  if (bytes.empty()) throw ProtocolError(err::kBadRequest, where + " is empty");
  if (offset > size_ || bytes.size() > size_ - offset) {
    throw ProtocolError(err::kBadRequest, where + " runs past the announced size of " + std::to_string(size_) + " bytes");
  }
  const uint64_t end = offset + bytes.size();
  // The first piece at or after `offset` and the one before it must not touch [offset, end).
  auto next = pieces_.lower_bound(offset);
  if (next != pieces_.end() && next->first == offset) throw ProtocolError(err::kBadRequest, where + " is a duplicate");
  if (next != pieces_.end() && next->first < end) {
    throw ProtocolError(err::kBadRequest, where + " overlaps the piece at offset " + std::to_string(next->first));
  }
  if (next != pieces_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.size() > offset) {
      throw ProtocolError(err::kBadRequest, where + " overlaps the piece at offset " + std::to_string(prev->first));
    }
  }
  pieces_.emplace_hint(next, offset, bytes);
  received_ += bytes.size();
}

std::string ChunkedInput::missing(int max_ranges) const {
  std::string out;
  int shown = 0;
  uint64_t at = 0;
  auto add_range = [&](uint64_t from, uint64_t to) {
    if (from >= to) return;
    if (shown++ < max_ranges) out += (out.empty() ? "" : ", ") + std::to_string(from) + ".." + std::to_string(to - 1);
  };
  for (const auto& [off, bytes] : pieces_) {
    add_range(at, off);
    at = off + bytes.size();
  }
  add_range(at, size_);
  if (shown > max_ranges) out += ", ...";
  return out;
}

std::vector<uint8_t> ChunkedInput::take() {
  std::vector<uint8_t> whole;
  if (!complete()) return whole;
  whole.reserve(size_);
  for (auto& [off, bytes] : pieces_) whole.insert(whole.end(), bytes.begin(), bytes.end());
  pieces_.clear();
  return whole;
}

}  // namespace kiln::ipc
