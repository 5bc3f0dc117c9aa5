// Builds little-endian byte strings for hand-crafted (often deliberately broken) files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace kiln::test {

struct ByteWriter {
  std::vector<std::byte> bytes;

  template <typename T>
  ByteWriter& put(T v) {
    std::byte b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes.insert(bytes.end(), b, b + sizeof(T));
    return *this;
  }
  ByteWriter& u8(uint8_t v) { return put(v); }
  ByteWriter& u32(uint32_t v) { return put(v); }
  ByteWriter& u64(uint64_t v) { return put(v); }
  ByteWriter& raw(const std::string& s) {
    for (char c : s) bytes.push_back(static_cast<std::byte>(c));
    return *this;
  }
  ByteWriter& str(const std::string& s) { return u64(s.size()).raw(s); }  // GGUF string
  ByteWriter& zeros(size_t n) {
    bytes.insert(bytes.end(), n, std::byte{0});
    return *this;
  }
  ByteWriter& pad_to(size_t alignment) {
    while (bytes.size() % alignment) bytes.push_back(std::byte{0});
    return *this;
  }
};

}  // namespace kiln::test
