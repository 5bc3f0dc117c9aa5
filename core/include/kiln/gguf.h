// Reading GGUF files (v2 and v3, little-endian): every metadata value type including nested
// arrays, tensor infos, alignment. Tensor data stays in the memory mapping (zero-copy).
// Every offset, length and count is checked against the file; a malformed file throws
// kiln::Error naming the file and the key or tensor, never reads out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/mapped_file.h"
#include "kiln/weight_type.h"

namespace kiln::gguf {

// Metadata value types; the numbers are those stored in the file.
enum class ValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};
std::string_view value_type_name(ValueType type);

// One metadata value: a scalar, a string or an array (arrays may nest). Accessors check the
// type and throw kiln::Error naming the file and key on a mismatch.
class Value {
 public:
  // "FILE: KEY" (with "[i]" for elements of arrays), used in error messages.
  const std::string& context() const { return context_; }
  ValueType type() const { return type_; }
  bool is_integer() const;  // UINT8..INT64 (not BOOL)
  bool is_float() const;    // FLOAT32 or FLOAT64
  bool is_string() const { return type_ == ValueType::STRING; }
  bool is_array() const { return type_ == ValueType::ARRAY; }

  // Scalars. as_int/as_uint accept every integer type whose value fits; as_double accepts
  // floats and integers.
  int64_t as_int() const;
  uint64_t as_uint() const;
  double as_double() const;
  bool as_bool() const;
  const std::string& as_string() const;

  // Arrays.
  ValueType element_type() const;  // throws unless an array
  size_t size() const;             // element count; throws unless an array
  Value at(size_t index) const;    // one element as a Value (any element type)
  const std::vector<std::string>& as_strings() const;  // array of STRING
  std::vector<int64_t> as_ints() const;  // array of any integer type (each must fit int64)
  std::vector<float> as_floats() const;  // array of FLOAT32 (or FLOAT64, rounded)
  std::vector<double> as_doubles() const;  // array of FLOAT32/FLOAT64/integers
  std::vector<bool> as_bools() const;      // array of BOOL
  const std::vector<Value>& as_arrays() const;  // array of ARRAY
  // Elements of a fixed-size element type, little-endian, exactly as stored.
  std::span<const std::byte> raw_elements() const;

  // Human-readable rendering for `kiln inspect`: arrays show at most `max_elements` items.
  std::string to_string(size_t max_elements = 8) const;

 private:
  friend class Parser;
  Value() = default;
  [[noreturn]] void mismatch(std::string_view wanted) const;

  std::string context_;
  ValueType type_ = ValueType::UINT8;
  uint64_t bits_ = 0;  // scalar bits, zero-extended little-endian value
  std::string string_;
  ValueType element_type_ = ValueType::UINT8;
  uint64_t count_ = 0;
  std::vector<std::byte> raw_;         // fixed-size elements
  std::vector<std::string> strings_;   // STRING elements
  std::vector<Value> arrays_;          // ARRAY elements
};

struct TensorInfo {
  std::string name;
  uint32_t ggml_type = 0;        // the type id stored in the file
  WeightType type = WeightType::F32;
  std::vector<uint64_t> ne;      // GGML order: ne[0] varies fastest
  std::vector<int64_t> shape;    // row-major order (ne reversed), as numpy / Hugging Face
  uint64_t elements = 0;
  uint64_t offset = 0;           // relative to the data section, as stored
  uint64_t file_offset = 0;      // absolute position in the file
  uint64_t nbytes = 0;
  std::span<const std::byte> data;  // into the mapping
};

// GGML's type id for a WeightType, and back (nullopt: not a GGML type / unknown id).
std::optional<uint32_t> ggml_type_id(WeightType type);
std::optional<WeightType> weight_type_from_ggml(uint32_t id);

class File {
 public:
  static constexpr uint64_t kDefaultAlignment = 32;

  // Maps and parses `path`.
  static File open(const std::filesystem::path& path);
  // Parses bytes already mapped (or in memory); `bytes->name()` names the file in errors.
  static File parse(std::shared_ptr<const MappedFile> bytes);

  const std::string& path() const { return bytes_->name(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<Value>& metadata() const { return metadata_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const Value* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // Throws kiln::Error naming the file when the key is missing.
  const Value& get(std::string_view key) const;
  // general.architecture, or "" when absent.
  std::string architecture() const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

  // The bytes every TensorInfo::data points into; hold it to keep them valid.
  const std::shared_ptr<const MappedFile>& mapping() const { return bytes_; }

 private:
  friend class Parser;
  File() = default;

  std::shared_ptr<const MappedFile> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::string> keys_;
  std::vector<Value> metadata_;
  std::map<std::string, size_t, std::less<>> key_index_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace kiln::gguf
