#include "dtype_info.h"

#include "kiln/error.h"

namespace kiln::ref {

const char* name_of(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
    case DType::I16: return "i16";
    case DType::U16: return "u16";
    case DType::I32: return "i32";
    case DType::U32: return "u32";
    case DType::I64: return "i64";
    case DType::U64: return "u64";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::F32: return "f32";
    case DType::F64: return "f64";
  }
  throw Error("reference: unknown dtype " + std::to_string(static_cast<int>(t)));
}

size_t size_of(DType t) {
  switch (t) {
    case DType::Bool: case DType::I8: case DType::U8: return 1;
    case DType::I16: case DType::U16: case DType::F16: case DType::BF16: return 2;
    case DType::I32: case DType::U32: case DType::F32: return 4;
    case DType::I64: case DType::U64: case DType::F64: return 8;
  }
  throw Error("reference: unknown dtype " + std::to_string(static_cast<int>(t)));
}

bool is_float_type(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}
bool is_unsigned_type(DType t) {
  return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}
bool is_int_type(DType t) { return !is_float_type(t) && t != DType::Bool; }

std::string shape_string(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

namespace {
DType signed_of_size(size_t bytes) {
  switch (bytes) {
    case 1: return DType::I8;
    case 2: return DType::I16;
    case 4: return DType::I32;
    default: return DType::I64;
  }
}
}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  bool fa = is_float_type(a), fb = is_float_type(b);
  if (fa != fb) return fa ? a : b;
  if (fa) {
    if ((a == DType::F16 && b == DType::BF16) || (a == DType::BF16 && b == DType::F16))
      return DType::F32;
    return size_of(a) >= size_of(b) ? a : b;
  }
  if (is_unsigned_type(a) == is_unsigned_type(b)) return size_of(a) >= size_of(b) ? a : b;
  DType s = is_unsigned_type(a) ? b : a, u = is_unsigned_type(a) ? a : b;
  if (size_of(s) > size_of(u)) return s;  // the signed type holds every unsigned value
  if (size_of(u) == 8)
    throw Error(std::string("reference: no promotion for ") + name_of(a) + " with " + name_of(b));
  return signed_of_size(size_of(u) * 2);
}

DType float_result(DType t) { return is_float_type(t) ? t : DType::F32; }

DType sum_result(DType t) {
  if (is_float_type(t)) return t;
  return t == DType::U64 ? DType::U64 : DType::I64;
}

}  // namespace kiln::ref
