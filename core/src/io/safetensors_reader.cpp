// Safetensors parser: length prefix, JSON header (parsed with duplicate-key and depth checks),
// then every byte range checked against the file.
#include <algorithm>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "io/byte_cursor.h"
#include "kiln/error.h"
#include "kiln/safetensors.h"

namespace kiln::safetensors {

namespace {

using nlohmann::json;

// Header JSON is {name: {dtype, shape: [..], data_offsets: [..]}, "__metadata__": {..}}:
// nothing legitimate nests deeper than this.
constexpr int kMaxJsonDepth = 3;

}  // namespace

std::optional<WeightType> weight_type_from_safetensors(std::string_view dtype) {
  static const std::pair<std::string_view, WeightType> kNames[] = {
      {"BOOL", WeightType::BOOL}, {"U8", WeightType::U8},   {"I8", WeightType::I8},
      {"U16", WeightType::U16},   {"I16", WeightType::I16}, {"U32", WeightType::U32},
      {"I32", WeightType::I32},   {"U64", WeightType::U64}, {"I64", WeightType::I64},
      {"F16", WeightType::F16},   {"BF16", WeightType::BF16}, {"F32", WeightType::F32},
      {"F64", WeightType::F64},   {"F8_E4M3", WeightType::F8_E4M3},
      {"F8_E5M2", WeightType::F8_E5M2},
  };
  for (const auto& [name, type] : kNames)
    if (name == dtype) return type;
  return std::nullopt;
}

class HeaderParser {
 public:
  explicit HeaderParser(std::shared_ptr<const MappedFile> bytes) : bytes_(std::move(bytes)) {}

  File run() {
    File file;
    file.bytes_ = bytes_;
    io::ByteCursor in(bytes_->bytes(), bytes_->name());
    if (bytes_->size() < 8)
      fail("not a safetensors file: " + std::to_string(bytes_->size()) +
           " bytes, shorter than the 8-byte header length");
    uint64_t n = in.read<uint64_t>("header length");
    if (n > kMaxHeaderSize)
      fail("header length " + std::to_string(n) + " exceeds the limit of " +
           std::to_string(kMaxHeaderSize) + " bytes (not a safetensors file?)");
    auto header = in.take(n, "JSON header");
    file.header_size_ = n;
    json j = parse_json(header);
    if (!j.is_object()) fail("header is not a JSON object");
    for (auto& [name, value] : j.items()) {
      if (name == "__metadata__") {
        read_metadata(file, value);
      } else {
        file.tensors_.push_back(read_tensor(name, value));
      }
    }
    place_tensors(file, bytes_->size() - 8 - n);
    return file;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw Error(bytes_->name() + ": " + msg); }

  json parse_json(std::span<const std::byte> header) {
    const char* begin = reinterpret_cast<const char*>(header.data());
    std::set<std::string> top_keys;
    // Duplicate names would silently keep the last entry; refuse them, and refuse nesting no
    // valid header has (bounds the parser's work on hostile input).
    auto guard = [&](int depth, json::parse_event_t event, json& parsed) {
      if (depth > kMaxJsonDepth) fail("header JSON nests deeper than any valid header");
      if (event == json::parse_event_t::key && depth == 1 && parsed.is_string() &&
          !top_keys.insert(parsed.get<std::string>()).second)
        fail("duplicate tensor name '" + parsed.get<std::string>() + "' in header");
      return true;
    };
    try {
      return json::parse(begin, begin + header.size(), guard);
    } catch (const json::exception& e) {
      fail(std::string("header is not valid JSON: ") + e.what());
    }
  }

  void read_metadata(File& file, const json& value) {
    if (value.is_null()) return;
    if (!value.is_object()) fail("__metadata__ must be an object of strings");
    for (const auto& [key, v] : value.items()) {
      if (!v.is_string()) fail("__metadata__ entry '" + key + "' is not a string");
      file.metadata_.emplace(key, v.get<std::string>());
    }
  }

  uint64_t as_size(const json& v, const std::string& where) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail(where + " must be a non-negative integer, found " + v.dump());
    return v.get<uint64_t>();
  }

  TensorInfo read_tensor(const std::string& name, const json& value) {
    TensorInfo t;
    t.name = name;
    const std::string where = "tensor '" + name + "'";
    if (!value.is_object()) fail(where + ": entry is not an object");
    if (!value.contains("dtype") || !value["dtype"].is_string()) fail(where + ": missing string 'dtype'");
    t.dtype_name = value["dtype"].get<std::string>();
    auto type = weight_type_from_safetensors(t.dtype_name);
    if (!type) fail(where + ": unknown dtype '" + t.dtype_name + "'");
    t.type = *type;
    if (!value.contains("shape") || !value["shape"].is_array()) fail(where + ": missing array 'shape'");
    t.elements = 1;
    bool overflow = false;
    for (const json& d : value["shape"]) {
      uint64_t n = as_size(d, where + ": shape entry");
      if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) overflow = true;
      else if (n != 0 && t.elements > std::numeric_limits<uint64_t>::max() / n) overflow = true;
      else t.elements *= n;
      t.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(n, INT64_MAX)));
    }
    auto nbytes = weight_bytes(t.type, t.elements);
    if (overflow || !nbytes) fail(where + ": shape x dtype size overflows");
    t.nbytes = *nbytes;
    const json* offsets = value.contains("data_offsets") ? &value["data_offsets"] : nullptr;
    if (!offsets || !offsets->is_array() || offsets->size() != 2)
      fail(where + ": 'data_offsets' must be [begin, end]");
    t.begin = as_size((*offsets)[0], where + ": data_offsets begin");
    t.end = as_size((*offsets)[1], where + ": data_offsets end");
    if (t.end < t.begin) fail(where + ": data_offsets end " + std::to_string(t.end) + " < begin " +
                              std::to_string(t.begin));
    if (t.end - t.begin != t.nbytes)
      fail(where + ": shape " + shape_text(t.shape) + " of " + t.dtype_name + " takes " +
           std::to_string(t.nbytes) + " bytes but data_offsets span " +
           std::to_string(t.end - t.begin));
    return t;
  }

  static std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }

  // Ranges sorted by offset must tile [0, data_size) exactly, as the reference requires.
  void place_tensors(File& file, uint64_t data_size) {
    std::sort(file.tensors_.begin(), file.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t expected = 0;
    for (TensorInfo& t : file.tensors_) {
      if (t.begin != expected) {
        if (t.begin < expected) fail("tensor '" + t.name + "' overlaps the tensor before it (data_offsets begin " +
                                     std::to_string(t.begin) + ", previous ends at " + std::to_string(expected) + ")");
        fail("tensor '" + t.name + "' leaves a gap: data_offsets begin " + std::to_string(t.begin) +
             ", previous ends at " + std::to_string(expected));
      }
      if (t.end > data_size)
        fail("tensor '" + t.name + "' ends at " + std::to_string(t.end) +
             " past the end of the data section (" + std::to_string(data_size) + " bytes; truncated file?)");
      expected = t.end;
      t.file_offset = file.data_offset() + t.begin;
      t.data = bytes_->bytes().subspan(t.file_offset, t.nbytes);
    }
    if (expected != data_size)
      fail("data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
           std::to_string(expected));
    for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_.emplace(file.tensors_[i].name, i);
  }

  std::shared_ptr<const MappedFile> bytes_;
};

File File::open(const std::filesystem::path& path) { return parse(MappedFile::open(path)); }

File File::parse(std::shared_ptr<const MappedFile> bytes) {
  if (!bytes) throw Error("safetensors::File::parse: no bytes");
  return HeaderParser(std::move(bytes)).run();
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace kiln::safetensors
