// Facts about kiln_dtype values every device plugin's renderer and checks share: class, width,
// names. Compiled into each plugin (plugins/devices/common is sources, not a library).
#pragma once

#include <cstdint>
#include <string>

#include "kiln/dtype.h"
#include "common/text_cat.h"

namespace kiln::device_common {

inline bool valid_dtype(unsigned dt) { return dt > KILN_DTYPE_VOID && dt < KILN_DTYPE_COUNT; }

inline bool is_float(kiln_dtype dt) {
  return dt == KILN_DTYPE_F16 || dt == KILN_DTYPE_BF16 || dt == KILN_DTYPE_F32 ||
         dt == KILN_DTYPE_F64;
}
inline bool is_bool(kiln_dtype dt) { return dt == KILN_DTYPE_BOOL; }
inline bool is_int(kiln_dtype dt) { return dt >= KILN_DTYPE_I8 && dt <= KILN_DTYPE_U64; }
inline bool is_signed_int(kiln_dtype dt) {
  return dt == KILN_DTYPE_I8 || dt == KILN_DTYPE_I16 || dt == KILN_DTYPE_I32 ||
         dt == KILN_DTYPE_I64;
}
// Half types are computed in f32 and rounded back after every operation.
inline bool is_half_like(kiln_dtype dt) { return dt == KILN_DTYPE_F16 || dt == KILN_DTYPE_BF16; }

// Bytes one element takes in memory (BOOL is one byte holding 0 or 1).
inline unsigned dtype_bytes(kiln_dtype dt) {
  switch (dt) {
    case KILN_DTYPE_BOOL: case KILN_DTYPE_I8: case KILN_DTYPE_U8: return 1;
    case KILN_DTYPE_I16: case KILN_DTYPE_U16: case KILN_DTYPE_F16: case KILN_DTYPE_BF16: return 2;
    case KILN_DTYPE_I32: case KILN_DTYPE_U32: case KILN_DTYPE_F32: return 4;
    case KILN_DTYPE_I64: case KILN_DTYPE_U64: case KILN_DTYPE_F64: return 8;
    default: return 0;
  }
}
inline unsigned dtype_bits(kiln_dtype dt) { return dt == KILN_DTYPE_BOOL ? 1 : 8 * dtype_bytes(dt); }

inline const char* dtype_name(unsigned dt) {
  static const char* const names[] = {"void", "bool", "i8",   "u8",   "i16", "u16", "i32",
                                      "u32",  "i64",  "u64",  "f16",  "bf16", "f32", "f64"};
  return dt < KILN_DTYPE_COUNT ? names[dt] : "?";
}

}  // namespace kiln::device_common
