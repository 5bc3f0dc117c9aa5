// How each kiln_dtype lives in LLVM (registers vs memory); the generic facts (class, width,
// names) come from plugins/devices/common/dtype_facts.h.
#pragma once

#include <string>

#include "common/dtype_facts.h"

namespace kiln::cpu {
using namespace kiln::device_common;

// LLVM scalar type of a value in registers: BOOL is i1, BF16 is its i16 bit pattern.
inline const char* llvm_reg_scalar(kiln_dtype dt) {
  switch (dt) {
    case KILN_DTYPE_BOOL: return "i1";
    case KILN_DTYPE_I8: case KILN_DTYPE_U8: return "i8";
    case KILN_DTYPE_I16: case KILN_DTYPE_U16: case KILN_DTYPE_BF16: return "i16";
    case KILN_DTYPE_I32: case KILN_DTYPE_U32: return "i32";
    case KILN_DTYPE_I64: case KILN_DTYPE_U64: return "i64";
    case KILN_DTYPE_F16: return "half";
    case KILN_DTYPE_F32: return "float";
    case KILN_DTYPE_F64: return "double";
    default: return "void";
  }
}
// LLVM scalar type of an element in memory: as in registers except BOOL, one byte.
inline const char* llvm_mem_scalar(kiln_dtype dt) {
  return dt == KILN_DTYPE_BOOL ? "i8" : llvm_reg_scalar(dt);
}

// "<N x T>" or "T".
inline std::string llvm_vec(const char* scalar, unsigned lanes) {
  if (lanes <= 1) return scalar;
  return cat("<", std::to_string(lanes), " x ", scalar, ">");
}
inline std::string llvm_reg(kiln_dtype dt, unsigned lanes) {
  return llvm_vec(llvm_reg_scalar(dt), lanes);
}
inline std::string llvm_mem(kiln_dtype dt, unsigned lanes) {
  return llvm_vec(llvm_mem_scalar(dt), lanes);
}

// Intrinsic name suffix: "f32", "v8f32", "i64", "v4i1".
inline std::string llvm_mangle(const char* scalar, unsigned lanes) {
  std::string s = scalar;
  if (s == "float") s = "f32";
  else if (s == "double") s = "f64";
  else if (s == "half") s = "f16";
  return lanes > 1 ? cat("v", std::to_string(lanes), s) : s;
}

}  // namespace kiln::cpu
