// Rounding a double to the bit pattern of a narrower IEEE binary format (f32, f16, bf16), ties
// to even, NaN kept quiet with its sign. Used to print constants into LLVM IR and PTX; written here
// rather than borrowed from a compiler extension so the rounding is ours and testable.
#pragma once

#include <cstdint>

namespace kiln::device_common {

// `exp_bits` exponent bits and `mant_bits` stored fraction bits; the result sits in the low
// 1 + exp_bits + mant_bits bits.
uint64_t round_double_to_format(double v, int exp_bits, int mant_bits);

inline uint16_t double_to_f16_bits(double v) {
  return static_cast<uint16_t>(round_double_to_format(v, 5, 10));
}
inline uint16_t double_to_bf16_bits(double v) {
  return static_cast<uint16_t>(round_double_to_format(v, 8, 7));
}

}  // namespace kiln::device_common
