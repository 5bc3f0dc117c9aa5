// Exact conversions of 16- and 8-bit float encodings to float.
#include <cmath>
#include <cstring>

#include "kiln/quant.h"

namespace kiln {

namespace {

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

float fp16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return from_bits(sign | 0x7F800000u | (mant << 13));  // inf, NaN
  if (exp == 0) {
    // zero or subnormal: mant * 2^-24 is exact in float
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  return from_bits(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
}

float bf16_to_float(uint16_t bits) { return from_bits(static_cast<uint32_t>(bits) << 16); }

float f8_e4m3_to_float(uint8_t b) {
  const bool negative = b & 0x80;
  const int exp = (b >> 3) & 0xF;
  const int mant = b & 0x7;
  float f;
  if (exp == 0xF && mant == 0x7) {
    f = std::nanf("");
  } else if (exp == 0) {
    f = std::ldexp(static_cast<float>(mant), -9);  // subnormal: mant/8 * 2^(1-7)
  } else {
    f = std::ldexp(static_cast<float>(8 + mant), exp - 7 - 3);
  }
  return negative ? -f : f;
}

float f8_e5m2_to_float(uint8_t b) { return fp16_to_float(static_cast<uint16_t>(b) << 8); }

}  // namespace kiln
