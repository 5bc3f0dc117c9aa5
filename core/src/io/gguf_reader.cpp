// GGUF parser: header, metadata, tensor infos, then checks that every tensor lies inside the
// data section, aligned, with no two overlapping.
#include <algorithm>
#include <cstring>
#include <limits>

#include "io/byte_cursor.h"
#include "kiln/error.h"
#include "kiln/gguf.h"

namespace kiln::gguf {

namespace {

constexpr uint32_t kMaxDims = 4;    // GGML_MAX_DIMS: ggml cannot hold more
constexpr int kMaxArrayDepth = 16;  // nested arrays deeper than this are refused (stack safety)

// ggml type ids (ggml.h, enum ggml_type); gaps are ids ggml has retired.
struct GgmlId {
  uint32_t id;
  WeightType type;
};
constexpr GgmlId kGgmlIds[] = {
    {0, WeightType::F32},      {1, WeightType::F16},     {2, WeightType::Q4_0},
    {3, WeightType::Q4_1},     {6, WeightType::Q5_0},    {7, WeightType::Q5_1},
    {8, WeightType::Q8_0},     {9, WeightType::Q8_1},    {10, WeightType::Q2_K},
    {11, WeightType::Q3_K},    {12, WeightType::Q4_K},   {13, WeightType::Q5_K},
    {14, WeightType::Q6_K},    {15, WeightType::Q8_K},   {16, WeightType::IQ2_XXS},
    {17, WeightType::IQ2_XS},  {18, WeightType::IQ3_XXS}, {19, WeightType::IQ1_S},
    {20, WeightType::IQ4_NL},  {21, WeightType::IQ3_S},  {22, WeightType::IQ2_S},
    {23, WeightType::IQ4_XS},  {24, WeightType::I8},     {25, WeightType::I16},
    {26, WeightType::I32},     {27, WeightType::I64},    {28, WeightType::F64},
    {29, WeightType::IQ1_M},   {30, WeightType::BF16},   {34, WeightType::TQ1_0},
    {35, WeightType::TQ2_0},   {39, WeightType::MXFP4},
    {40, WeightType::NVFP4},   {41, WeightType::Q1_0},
};

uint64_t fixed_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    default: return 0;
  }
}

// The fewest bytes one element of type t takes in the file (bounds hostile counts).
uint64_t min_encoded_size(ValueType t) {
  if (t == ValueType::STRING) return 8;  // length
  if (t == ValueType::ARRAY) return 12;  // element type + count
  return fixed_size(t);
}

bool known_value_type(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

}  // namespace

std::optional<uint32_t> ggml_type_id(WeightType type) {
  for (const auto& g : kGgmlIds)
    if (g.type == type) return g.id;
  return std::nullopt;
}

std::optional<WeightType> weight_type_from_ggml(uint32_t id) {
  for (const auto& g : kGgmlIds)
    if (g.id == id) return g.type;
  return std::nullopt;
}

class Parser {
 public:
  explicit Parser(std::shared_ptr<const MappedFile> bytes)
      : bytes_(std::move(bytes)), in_(bytes_->bytes(), bytes_->name()) {}

  File run() {
    File file;
    file.bytes_ = bytes_;
    read_header(file);
    read_metadata(file);
    read_alignment(file);
    read_tensor_infos(file);
    place_tensors(file);
    return file;
  }

 private:
  const std::string& name() const { return bytes_->name(); }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(name() + ": " + msg); }

  std::string read_string(const std::string& what) {
    uint64_t len = in_.read<uint64_t>(what + " (string length)");
    auto bytes = in_.take(len, what);
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  void read_header(File& file) {
    auto magic = in_.take(4, "magic");
    if (std::memcmp(magic.data(), "GGUF", 4) != 0) fail("not a GGUF file (no 'GGUF' magic)");
    uint32_t version = in_.read<uint32_t>("version");
    if (version == 1) fail("GGUF version 1 is not supported (versions 2 and 3 are)");
    if (version != 2 && version != 3) {
      if ((version & 0xFFFF) == 0 && (version >> 24) >= 1 && (version >> 24) <= 3)
        fail("big-endian GGUF files are not supported");
      fail("unsupported GGUF version " + std::to_string(version) + " (versions 2 and 3 are)");
    }
    file.version_ = version;
    n_tensors_ = in_.read<uint64_t>("tensor count");
    n_kv_ = in_.read<uint64_t>("metadata count");
    // Each entry takes at least 24 (tensor info) or 13 (key/value) bytes: a count the file
    // cannot hold is refused before anything is allocated for it.
    if (n_kv_ > in_.remaining() / 13)
      fail("header claims " + std::to_string(n_kv_) + " metadata entries, more than the " +
           std::to_string(in_.remaining()) + " remaining bytes can hold");
    if (n_tensors_ > in_.remaining() / 24)
      fail("header claims " + std::to_string(n_tensors_) + " tensors, more than the " +
           std::to_string(in_.remaining()) + " remaining bytes can hold");
  }

  void read_value(Value& v, ValueType type, int depth) {
    v.type_ = type;
    const std::string what = key_of(v.context_);
    switch (type) {
      case ValueType::STRING: v.string_ = read_string("value of " + what); return;
      case ValueType::ARRAY: read_array(v, depth); return;
      default: {
        uint64_t size = fixed_size(type);
        auto bytes = in_.take(size, "value of " + what);
        std::memcpy(&v.bits_, bytes.data(), size);
        return;
      }
    }
  }

  void read_array(Value& v, int depth) {
    const std::string what = key_of(v.context_);
    uint32_t elem = in_.read<uint32_t>("array element type of " + what);
    if (!known_value_type(elem))
      fail("metadata " + what + ": unknown array element type " + std::to_string(elem));
    v.element_type_ = static_cast<ValueType>(elem);
    if (v.element_type_ == ValueType::ARRAY && depth + 1 >= kMaxArrayDepth)
      fail("metadata " + what + ": arrays nested deeper than " +
           std::to_string(kMaxArrayDepth) + " levels");
    uint64_t count = in_.read<uint64_t>("array length of " + what);
    uint64_t min_size = min_encoded_size(v.element_type_);
    if (count > in_.remaining() / min_size)
      fail("metadata " + what + ": array claims " + std::to_string(count) + " " +
           std::string(value_type_name(v.element_type_)) + " elements, more than the " +
           std::to_string(in_.remaining()) + " remaining bytes can hold");
    v.count_ = count;
    if (v.element_type_ == ValueType::STRING) {
      v.strings_.reserve(count);
      for (uint64_t i = 0; i < count; ++i)
        v.strings_.push_back(read_string(what + "[" + std::to_string(i) + "]"));
    } else if (v.element_type_ == ValueType::ARRAY) {
      v.arrays_.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        Value child;
        child.context_ = v.context_ + "[" + std::to_string(i) + "]";
        child.type_ = ValueType::ARRAY;
        read_array(child, depth + 1);
        v.arrays_.push_back(std::move(child));
      }
    } else {
      auto bytes = in_.take(count * min_size, "elements of " + what);
      v.raw_.assign(bytes.begin(), bytes.end());
    }
  }

  // The key part of a "FILE: KEY" context.
  std::string key_of(const std::string& context) const {
    return context.substr(std::min(context.size(), name().size() + 2));
  }

  void read_metadata(File& file) {
    file.metadata_.reserve(n_kv_);
    for (uint64_t i = 0; i < n_kv_; ++i) {
      std::string key = read_string("metadata key #" + std::to_string(i));
      if (file.key_index_.count(key)) fail("duplicate metadata key '" + key + "'");
      Value v;
      v.context_ = name() + ": " + key;
      uint32_t type = in_.read<uint32_t>("value type of " + key);
      if (!known_value_type(type))
        fail("metadata " + key + ": unknown value type " + std::to_string(type));
      read_value(v, static_cast<ValueType>(type), 0);
      file.key_index_.emplace(key, file.metadata_.size());
      file.keys_.push_back(key);
      file.metadata_.push_back(std::move(v));
    }
  }

  void read_alignment(File& file) {
    const Value* a = file.find("general.alignment");
    if (!a) return;
    if (a->type() != ValueType::UINT32)
      fail("general.alignment must be UINT32, found " + std::string(value_type_name(a->type())));
    uint64_t align = a->as_uint();
    if (align == 0 || (align & (align - 1)) != 0)
      fail("general.alignment " + std::to_string(align) + " is not a power of two");
    file.alignment_ = align;
  }

  void read_tensor_infos(File& file) {
    file.tensors_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      TensorInfo t;
      t.name = read_string("name of tensor #" + std::to_string(i));
      const std::string where = "tensor '" + t.name + "'";
      if (file.tensor_index_.count(t.name)) fail("duplicate " + where);
      uint32_t n_dims = in_.read<uint32_t>("dimension count of " + where);
      if (n_dims > kMaxDims)
        fail(where + " has " + std::to_string(n_dims) + " dimensions (at most 4 are allowed)");
      t.elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t ne = in_.read<uint64_t>("dimensions of " + where);
        if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          fail(where + ": dimension " + std::to_string(d) + " is negative or too large");
        if (ne != 0 && t.elements > std::numeric_limits<uint64_t>::max() / ne)
          fail(where + ": element count overflows");
        t.elements *= ne;
        t.ne.push_back(ne);
      }
      if (t.elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(where + ": element count overflows");
      t.shape.assign(t.ne.rbegin(), t.ne.rend());
      t.ggml_type = in_.read<uint32_t>("type of " + where);
      auto type = weight_type_from_ggml(t.ggml_type);
      if (!type) fail(where + " has unknown GGML type " + std::to_string(t.ggml_type));
      t.type = *type;
      const WeightTypeInfo& info = weight_type_info(t.type);
      // ggml stores quantized rows as whole blocks along ne[0].
      uint64_t row = t.ne.empty() ? 1 : t.ne[0];
      if (row % info.block_elements != 0)
        fail(where + ": first dimension " + std::to_string(row) + " is not a multiple of the " +
             std::string(info.name) + " block size " + std::to_string(info.block_elements));
      auto nbytes = weight_bytes(t.type, t.elements);
      if (!nbytes) fail(where + ": byte size overflows");
      t.nbytes = *nbytes;
      t.offset = in_.read<uint64_t>("offset of " + where);
      if (t.offset % file.alignment_ != 0)
        fail(where + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(file.alignment_));
      file.tensor_index_.emplace(t.name, file.tensors_.size());
      file.tensors_.push_back(std::move(t));
    }
  }

  void place_tensors(File& file) {
    uint64_t end_of_infos = in_.pos();
    uint64_t size = bytes_->size();
    uint64_t pad = (file.alignment_ - end_of_infos % file.alignment_) % file.alignment_;
    file.data_offset_ = end_of_infos + pad;
    if (file.tensors_.empty()) return;
    if (file.data_offset_ > size)
      fail("truncated: the tensor data section would start at offset " +
           std::to_string(file.data_offset_) + " but the file has " + std::to_string(size) +
           " bytes");
    uint64_t data_size = size - file.data_offset_;
    for (TensorInfo& t : file.tensors_) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        fail("tensor '" + t.name + "' (offset " + std::to_string(t.offset) + ", " +
             std::to_string(t.nbytes) + " bytes) extends past the end of the file (data section " +
             "has " + std::to_string(data_size) + " bytes)");
      t.file_offset = file.data_offset_ + t.offset;
      t.data = bytes_->bytes().subspan(t.file_offset, t.nbytes);
    }
    std::vector<const TensorInfo*> order;
    for (const TensorInfo& t : file.tensors_) order.push_back(&t);
    std::sort(order.begin(), order.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < order.size(); ++i) {
      const TensorInfo* prev = order[i - 1];
      if (prev->nbytes != 0 && order[i]->nbytes != 0 &&
          prev->offset + prev->nbytes > order[i]->offset)
        fail("tensors '" + prev->name + "' and '" + order[i]->name + "' overlap");
    }
  }

  std::shared_ptr<const MappedFile> bytes_;
  io::ByteCursor in_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

File File::open(const std::filesystem::path& path) { return parse(MappedFile::open(path)); }

File File::parse(std::shared_ptr<const MappedFile> bytes) {
  if (!bytes) throw Error("gguf::File::parse: no bytes");
  return Parser(std::move(bytes)).run();
}

const Value* File::find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second];
}

const Value& File::get(std::string_view key) const {
  const Value* v = find(key);
  if (!v) throw Error(path() + ": missing metadata key '" + std::string(key) + "'");
  return *v;
}

std::string File::architecture() const {
  const Value* v = find("general.architecture");
  return v && v->is_string() ? v->as_string() : std::string();
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace kiln::gguf
