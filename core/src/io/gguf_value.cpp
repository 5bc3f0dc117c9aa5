// kiln::gguf::Value accessors: typed views of one metadata value.
#include <cstring>
#include <limits>
#include <sstream>

#include "kiln/error.h"
#include "kiln/gguf.h"

namespace kiln::gguf {

namespace {

size_t fixed_size(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    default: return 0;
  }
}

bool integer_type(ValueType t) {
  switch (t) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::UINT16: case ValueType::INT16:
    case ValueType::UINT32: case ValueType::INT32: case ValueType::UINT64: case ValueType::INT64:
      return true;
    default: return false;
  }
}

bool signed_type(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 ||
         t == ValueType::INT64;
}

// Sign-extends the stored bits of a signed integer type.
int64_t signed_value(ValueType t, uint64_t bits) {
  switch (t) {
    case ValueType::INT8: return static_cast<int8_t>(bits);
    case ValueType::INT16: return static_cast<int16_t>(bits);
    case ValueType::INT32: return static_cast<int32_t>(bits);
    default: return static_cast<int64_t>(bits);
  }
}

uint64_t element_bits(const std::vector<std::byte>& raw, size_t size, size_t i) {
  uint64_t bits = 0;
  std::memcpy(&bits, raw.data() + i * size, size);
  return bits;
}

double float_value(ValueType t, uint64_t bits) {
  if (t == ValueType::FLOAT32) {
    float f;
    uint32_t b = static_cast<uint32_t>(bits);
    std::memcpy(&f, &b, 4);
    return f;
  }
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::UINT8: return "UINT8";
    case ValueType::INT8: return "INT8";
    case ValueType::UINT16: return "UINT16";
    case ValueType::INT16: return "INT16";
    case ValueType::UINT32: return "UINT32";
    case ValueType::INT32: return "INT32";
    case ValueType::FLOAT32: return "FLOAT32";
    case ValueType::BOOL: return "BOOL";
    case ValueType::STRING: return "STRING";
    case ValueType::ARRAY: return "ARRAY";
    case ValueType::UINT64: return "UINT64";
    case ValueType::INT64: return "INT64";
    case ValueType::FLOAT64: return "FLOAT64";
  }
  return "UNKNOWN";
}

void Value::mismatch(std::string_view wanted) const {
  std::string found(value_type_name(type_));
  if (type_ == ValueType::ARRAY) found += " of " + std::string(value_type_name(element_type_));
  throw Error(context_ + ": expected " + std::string(wanted) + ", found " + found);
}

bool Value::is_integer() const { return integer_type(type_); }
bool Value::is_float() const { return type_ == ValueType::FLOAT32 || type_ == ValueType::FLOAT64; }

int64_t Value::as_int() const {
  if (!is_integer()) mismatch("an integer");
  if (signed_type(type_)) return signed_value(type_, bits_);
  if (bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error(context_ + ": value " + std::to_string(bits_) + " does not fit a signed 64-bit integer");
  return static_cast<int64_t>(bits_);
}

uint64_t Value::as_uint() const {
  if (!is_integer()) mismatch("an integer");
  if (signed_type(type_)) {
    int64_t v = signed_value(type_, bits_);
    if (v < 0) throw Error(context_ + ": value " + std::to_string(v) + " is negative");
    return static_cast<uint64_t>(v);
  }
  return bits_;
}

double Value::as_double() const {
  if (is_float()) return float_value(type_, bits_);
  if (is_integer())
    return signed_type(type_) ? static_cast<double>(signed_value(type_, bits_))
                              : static_cast<double>(bits_);
  mismatch("a number");
}

bool Value::as_bool() const {
  if (type_ != ValueType::BOOL) mismatch("BOOL");
  return bits_ != 0;
}

const std::string& Value::as_string() const {
  if (type_ != ValueType::STRING) mismatch("STRING");
  return string_;
}

ValueType Value::element_type() const {
  if (type_ != ValueType::ARRAY) mismatch("ARRAY");
  return element_type_;
}

size_t Value::size() const {
  if (type_ != ValueType::ARRAY) mismatch("ARRAY");
  return static_cast<size_t>(count_);
}

Value Value::at(size_t index) const {
  if (type_ != ValueType::ARRAY) mismatch("ARRAY");
  if (index >= count_)
    throw Error(context_ + ": index " + std::to_string(index) + " out of range (array has " +
                std::to_string(count_) + " elements)");
  if (element_type_ == ValueType::ARRAY) return arrays_[index];
  Value v;
  v.context_ = context_ + "[" + std::to_string(index) + "]";
  v.type_ = element_type_;
  if (element_type_ == ValueType::STRING) {
    v.string_ = strings_[index];
  } else {
    v.bits_ = element_bits(raw_, fixed_size(element_type_), index);
  }
  return v;
}

const std::vector<std::string>& Value::as_strings() const {
  if (type_ != ValueType::ARRAY || element_type_ != ValueType::STRING) mismatch("ARRAY of STRING");
  return strings_;
}

std::vector<int64_t> Value::as_ints() const {
  if (type_ != ValueType::ARRAY || !integer_type(element_type_)) mismatch("ARRAY of integers");
  std::vector<int64_t> out(count_);
  size_t size = fixed_size(element_type_);
  for (size_t i = 0; i < count_; ++i) {
    uint64_t bits = element_bits(raw_, size, i);
    if (signed_type(element_type_)) {
      out[i] = signed_value(element_type_, bits);
    } else if (bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(context_ + "[" + std::to_string(i) + "]: value " + std::to_string(bits) +
                  " does not fit a signed 64-bit integer");
    } else {
      out[i] = static_cast<int64_t>(bits);
    }
  }
  return out;
}

std::vector<float> Value::as_floats() const {
  if (type_ != ValueType::ARRAY ||
      (element_type_ != ValueType::FLOAT32 && element_type_ != ValueType::FLOAT64))
    mismatch("ARRAY of FLOAT32");
  std::vector<float> out(count_);
  size_t size = fixed_size(element_type_);
  for (size_t i = 0; i < count_; ++i)
    out[i] = static_cast<float>(float_value(element_type_, element_bits(raw_, size, i)));
  return out;
}

std::vector<double> Value::as_doubles() const {
  if (type_ != ValueType::ARRAY ||
      !(element_type_ == ValueType::FLOAT32 || element_type_ == ValueType::FLOAT64 ||
        integer_type(element_type_)))
    mismatch("ARRAY of numbers");
  std::vector<double> out(count_);
  for (size_t i = 0; i < count_; ++i) out[i] = at(i).as_double();
  return out;
}

std::vector<bool> Value::as_bools() const {
  if (type_ != ValueType::ARRAY || element_type_ != ValueType::BOOL) mismatch("ARRAY of BOOL");
  std::vector<bool> out(count_);
  for (size_t i = 0; i < count_; ++i) out[i] = raw_[i] != std::byte{0};
  return out;
}

const std::vector<Value>& Value::as_arrays() const {
  if (type_ != ValueType::ARRAY || element_type_ != ValueType::ARRAY) mismatch("ARRAY of ARRAY");
  return arrays_;
}

std::span<const std::byte> Value::raw_elements() const {
  if (type_ != ValueType::ARRAY || fixed_size(element_type_) == 0)
    mismatch("ARRAY of a fixed-size type");
  return raw_;
}

namespace {

void quote(std::ostringstream& out, const std::string& s) {
  out << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out << '\\' << c;
    else if (c == '\n') out << "\\n";
    else if (c == '\t') out << "\\t";
    else if (c == '\r') out << "\\r";
    else if (c < 0x20) out << "\\x" << "0123456789abcdef"[c >> 4] << "0123456789abcdef"[c & 15];
    else out << c;
  }
  out << '"';
}

}  // namespace

std::string Value::to_string(size_t max_elements) const {
  std::ostringstream out;
  out.precision(9);
  if (type_ == ValueType::ARRAY) {
    out << "[";
    size_t shown = std::min<uint64_t>(count_, max_elements);
    for (size_t i = 0; i < shown; ++i) {
      if (i) out << ", ";
      out << at(i).to_string(max_elements);
    }
    if (shown < count_) out << ", ... (" << count_ << " " << value_type_name(element_type_) << ")";
    out << "]";
  } else if (type_ == ValueType::STRING) {
    quote(out, string_);
  } else if (type_ == ValueType::BOOL) {
    out << (bits_ ? "true" : "false");
  } else if (is_float()) {
    out << as_double();
  } else if (signed_type(type_)) {
    out << signed_value(type_, bits_);
  } else {
    out << bits_;
  }
  return out.str();
}

}  // namespace kiln::gguf
