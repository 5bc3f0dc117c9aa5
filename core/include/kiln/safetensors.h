// Reading .safetensors files: an 8-byte little-endian header length, a JSON header, then the
// tensor bytes. Memory-mapped and zero-copy: each tensor's data is a span into the mapping,
// paged in only when touched. Validation follows the reference (huggingface/safetensors):
// header at most 100,000,000 bytes, valid UTF-8 JSON object, known dtypes, shape x dtype size
// equal to the byte range, ranges contiguous from 0 and covering the data exactly; plus
// duplicate names are refused. Every failure is a kiln::Error naming the file (and tensor).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/mapped_file.h"
#include "kiln/weight_type.h"

namespace kiln::safetensors {

inline constexpr uint64_t kMaxHeaderSize = 100'000'000;

struct TensorInfo {
  std::string name;
  std::string dtype_name;       // as written in the header ("F32", "F8_E4M3", ...)
  WeightType type = WeightType::F32;
  std::vector<int64_t> shape;   // row-major; empty for a scalar
  uint64_t elements = 0;
  uint64_t begin = 0, end = 0;  // data_offsets: relative to the data section
  uint64_t file_offset = 0;     // absolute position in the file
  uint64_t nbytes = 0;
  std::span<const std::byte> data;  // into the mapping
};

class File {
 public:
  static File open(const std::filesystem::path& path);
  static File parse(std::shared_ptr<const MappedFile> bytes);

  const std::string& path() const { return bytes_->name(); }
  uint64_t header_size() const { return header_size_; }
  uint64_t data_offset() const { return 8 + header_size_; }
  // The free-form string map under "__metadata__" (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Tensors in data order (by offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  const std::shared_ptr<const MappedFile>& mapping() const { return bytes_; }

 private:
  friend class HeaderParser;
  File() = default;

  std::shared_ptr<const MappedFile> bytes_;
  uint64_t header_size_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Safetensors dtype names Kiln reads, and their WeightType (nullopt: unknown name).
std::optional<WeightType> weight_type_from_safetensors(std::string_view dtype);

}  // namespace kiln::safetensors
