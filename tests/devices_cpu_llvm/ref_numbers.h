// Reference number formats for the tests, independent of the plugin's code: f16 through the
// compiler's _Float16, bf16 by exact long-double rounding (a different method from the
// plugin's bit trick), and value comparisons that treat NaN and -0 precisely.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "kiln/dtype.h"

namespace kt {

inline uint16_t f16_bits(_Float16 h) {
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
inline _Float16 f16_from_bits(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return h;
}
inline float float_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float bf16_to_float(uint16_t b) { return float_from_bits(uint32_t(b) << 16); }

// Nearest bf16 (ties to even) of an exact value, by scaling the significand to 8 bits.
inline uint16_t bf16_round(long double x) {
  if (std::isnan(x)) return std::signbit(x) ? 0xFFC0 : 0x7FC0;
  const bool neg = std::signbit(x);
  long double a = std::fabs(x);
  uint16_t sign = neg ? 0x8000 : 0;
  if (a == 0) return sign;
  if (std::isinf(a)) return sign | 0x7F80;
  int e;
  long double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int shift = 8;                      // bits of precision
  if (e - 1 < -126) shift -= (-126 - (e - 1));  // bf16 subnormal: fewer bits
  if (shift < 0) return sign;
  long double scaled = std::ldexp(m, shift);
  long double fl = std::floor(scaled);
  long double rem = scaled - fl;
  if (rem > 0.5L || (rem == 0.5L && std::fmod(fl, 2.0L) == 1.0L)) fl += 1;
  long double r = std::ldexp(fl, e - shift);
  if (r > 3.3895313892515355e38L) return sign | 0x7F80;  // above the largest bf16
  return sign | uint16_t(float_bits(float(r)) >> 16);
}

// True when two numbers read back from a kernel agree exactly (NaN matches any NaN; the sign
// of zero counts).
inline bool same_number(double got, double want) {
  if (std::isnan(want)) return std::isnan(got);
  if (got == 0 && want == 0) return std::signbit(got) == std::signbit(want);
  return got == want;
}

// Agreement within a relative tolerance (NaN and infinities must match exactly).
inline bool close_number(double got, double want, double rel) {
  if (std::isnan(want) || std::isinf(want)) return same_number(got, want);
  if (std::isnan(got)) return false;
  return std::fabs(got - want) <= rel * std::fmax(1.0, std::fabs(want));
}

}  // namespace kt
