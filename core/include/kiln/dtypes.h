// C++ view of the scalar types: sizes, classes, names and promotion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/dtype.h"

namespace kiln {

enum class DType : uint8_t {
  Bool = KILN_DTYPE_BOOL,
  I8 = KILN_DTYPE_I8,
  U8 = KILN_DTYPE_U8,
  I16 = KILN_DTYPE_I16,
  U16 = KILN_DTYPE_U16,
  I32 = KILN_DTYPE_I32,
  U32 = KILN_DTYPE_U32,
  I64 = KILN_DTYPE_I64,
  U64 = KILN_DTYPE_U64,
  F16 = KILN_DTYPE_F16,
  BF16 = KILN_DTYPE_BF16,
  F32 = KILN_DTYPE_F32,
  F64 = KILN_DTYPE_F64,
};

size_t dtype_size(DType t);
bool is_float(DType t);
bool is_int(DType t);       // signed or unsigned integer, not bool
bool is_unsigned(DType t);  // unsigned integer (bool excluded)
bool is_half(DType t);      // f16 or bf16
const char* dtype_name(DType t);
DType dtype_from_name(const std::string& name);  // "f32", "bf16", ... (throws kiln::Error)
// Result type of a binary op on a and b (bool < ints < floats; wider wins; a signed and an
// unsigned integer of the same width promote to the next wider signed type; f16 with bf16
// gives f32).
DType promote(DType a, DType b);
// The type arithmetic on t happens in inside kernels: f16/bf16 compute in f32.
DType compute_dtype(DType t);
// Conversions between f32 and the 16-bit float formats (round to nearest even).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

}  // namespace kiln
