// A binary request field that arrives in Data pieces after its request ({"chunked": N}).
// Pieces may come in any order; each must be non-empty, lie inside [0, N) and touch no byte
// another piece already brought. The supervisor keeps one per chunked field of a job.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln::ipc {

class ChunkedInput {
 public:
  explicit ChunkedInput(uint64_t size) : size_(size) {}

  // Takes one piece. Throws ProtocolError(bad_request) naming `field`, the offset and what is
  // wrong: empty, runs past the announced size, a duplicate, overlaps another piece.
  void add(const std::string& field, uint64_t offset, const std::vector<uint8_t>& bytes);

  bool complete() const { return received_ == size_; }
  uint64_t size() const { return size_; }
  uint64_t received() const { return received_; }
  // The byte ranges no piece has covered yet, as "4..11, 20..23" (at most `max_ranges`).
  std::string missing(int max_ranges = 4) const;
  // The whole field, pieces joined in order (only when complete()); leaves this empty.
  std::vector<uint8_t> take();

 private:
  uint64_t size_ = 0;
  uint64_t received_ = 0;
  std::map<uint64_t, std::vector<uint8_t>> pieces_;  // offset -> bytes, never overlapping
};

}  // namespace kiln::ipc
