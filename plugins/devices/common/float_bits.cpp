#include "common/float_bits.h"

#include <bit>

namespace kiln::device_common {

uint64_t round_double_to_format(double v, int exp_bits, int mant_bits) {
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  const uint64_t sign = (bits >> 63) << (exp_bits + mant_bits);
  const int exp = static_cast<int>((bits >> 52) & 0x7ff);
  const uint64_t frac = bits & ((uint64_t{1} << 52) - 1);
  const uint64_t exp_all_ones = (uint64_t{1} << exp_bits) - 1;
  const uint64_t inf = exp_all_ones << mant_bits;

  if (exp == 0x7ff) {
    if (frac == 0) return sign | inf;
    // Quiet NaN; keep the top payload bits.
    return sign | inf | (uint64_t{1} << (mant_bits - 1)) | (frac >> (52 - mant_bits));
  }
  // Double subnormals (and zero) are far below half the smallest subnormal of any target.
  if (exp == 0) return sign;

  const int bias = (1 << (exp_bits - 1)) - 1;
  const int target_exp = exp - 1023 + bias;  // biased exponent in the target format
  const uint64_t sig = (uint64_t{1} << 52) | frac;  // 53 significant bits
  int shift = 52 - mant_bits;
  if (target_exp < 1) shift += 1 - target_exp;  // subnormal in the target: fewer bits
  if (shift > 54) return sign;                  // below half the smallest subnormal

  uint64_t q = sig >> shift;
  const uint64_t rem = sig & ((uint64_t{1} << shift) - 1);
  const uint64_t half = uint64_t{1} << (shift - 1);
  if (rem > half || (rem == half && (q & 1))) ++q;

  // For normals q carries the implicit bit, which adds one to the exponent field; a carry out
  // of the fraction bumps the exponent the same way. Subnormal q is the encoding itself.
  uint64_t out = target_exp >= 1 ? (uint64_t(target_exp - 1) << mant_bits) + q : q;
  if (out >= inf) out = inf;
  return sign | out;
}

}  // namespace kiln::device_common
