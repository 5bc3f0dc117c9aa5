// Fuzzes chunked-input reassembly (ChunkedInput) against a plain byte map: a piece must be
// refused exactly when it is empty, runs past the size, or touches a byte already received;
// the joined field must equal the bytes the accepted pieces carried.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "kiln/ipc/chunked_input.h"
#include "kiln/ipc/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint64_t total = data[0] % 64 + 1;
  kiln::ipc::ChunkedInput in(total);
  std::vector<int> have(total, -1);  // byte value received at each offset, -1 = none
  for (size_t at = 1; at + 2 <= size; at += 2) {
    const uint64_t off = data[at] % 80, len = data[at + 1] % 24;
    std::vector<uint8_t> bytes(len);
    for (uint64_t k = 0; k < len; ++k) bytes[k] = static_cast<uint8_t>(off + k + at);
    bool ok = len > 0 && off + len <= total;
    for (uint64_t k = 0; ok && k < len; ++k) ok = have[off + k] < 0;
    bool accepted = true;
    try {
      in.add("f", off, bytes);
    } catch (const kiln::ipc::ProtocolError&) {
      accepted = false;
    }
    if (accepted != ok) std::abort();
    if (accepted)
      for (uint64_t k = 0; k < len; ++k) have[off + k] = bytes[k];
  }
  bool full = true;
  for (int v : have) full &= v >= 0;
  if (in.complete() != full) std::abort();
  if (full) {
    std::vector<uint8_t> whole = in.take();
    if (whole.size() != total) std::abort();
    for (uint64_t k = 0; k < total; ++k)
      if (whole[k] != have[k]) std::abort();
  }
  return 0;
}
