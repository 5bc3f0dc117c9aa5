// A bounds-checked little-endian reader over a byte span: every read first checks that the
// bytes are there and throws kiln::Error naming the file, the field and the offset if not.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "kiln/error.h"

namespace kiln::io {

class ByteCursor {
 public:
  ByteCursor(std::span<const std::byte> bytes, const std::string& file)
      : bytes_(bytes), file_(file) {}

  uint64_t pos() const { return pos_; }
  uint64_t size() const { return bytes_.size(); }
  uint64_t remaining() const { return bytes_.size() - pos_; }
  const std::string& file() const { return file_; }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      throw Error(file_ + ": truncated: " + std::string(what) + " needs " + std::to_string(n) +
                  " bytes at offset " + std::to_string(pos_) + " but the file has " +
                  std::to_string(remaining()) + " left");
  }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));  // host is little-endian
    pos_ += sizeof(T);
    return value;
  }

  std::span<const std::byte> take(uint64_t n, std::string_view what) {
    need(n, what);
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const std::byte> bytes_;
  const std::string& file_;
  uint64_t pos_ = 0;
};

static_assert(std::endian::native == std::endian::little, "model readers assume a little-endian host");

}  // namespace kiln::io
