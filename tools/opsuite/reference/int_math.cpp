#include "int_math.h"

#include <cmath>
#include <string>

#include "dtype_info.h"
#include "kiln/error.h"
#include "ndarray.h"

namespace kiln::ref {

__int128 to_int128(double v) {
  if (v != std::trunc(v) || std::fabs(v) >= 1.8446744073709552e19)
    throw Error("reference: " + std::to_string(v) + " is not a 64-bit integer value");
  if (v >= 9223372036854775808.0)
    return static_cast<__int128>(static_cast<uint64_t>(v - 9223372036854775808.0)) +
           (static_cast<__int128>(1) << 63);
  return static_cast<__int128>(static_cast<int64_t>(v));
}

double wrap_exact(__int128 v, DType t) {
  if (t == DType::Bool) return v != 0 ? 1.0 : 0.0;
  int w = bit_width(t);
  unsigned __int128 bits = static_cast<unsigned __int128>(v);
  unsigned __int128 mask = (static_cast<unsigned __int128>(1) << w) - 1;
  bits &= mask;
  __int128 r = static_cast<__int128>(bits);
  if (!is_unsigned_type(t) && (bits >> (w - 1)) & 1) r -= static_cast<__int128>(1) << w;
  const __int128 exact_limit = static_cast<__int128>(1) << 53;
  if (r > exact_limit || r < -exact_limit)
    throw Error(std::string("reference: ") + name_of(t) +
                " result beyond 2^53 cannot be held exactly (keep 64-bit test inputs small)");
  return static_cast<double>(static_cast<int64_t>(r));
}

double int_add(double a, double b, DType t) { return wrap_exact(to_int128(a) + to_int128(b), t); }
double int_sub(double a, double b, DType t) { return wrap_exact(to_int128(a) - to_int128(b), t); }
double int_mul(double a, double b, DType t) {
  // Both operands fit 64 bits; their wrapped product only needs the low 64 bits.
  unsigned __int128 x = static_cast<unsigned __int128>(to_int128(a));
  unsigned __int128 y = static_cast<unsigned __int128>(to_int128(b));
  return wrap_exact(static_cast<__int128>(static_cast<uint64_t>(x * y)) , t);
}
double int_neg(double a, DType t) { return wrap_exact(-to_int128(a), t); }
double int_abs(double a, DType t) {
  __int128 v = to_int128(a);
  return wrap_exact(v < 0 ? -v : v, t);
}
double int_not(double a, DType t) { return wrap_exact(~to_int128(a), t); }

double int_div_trunc(double a, double b, DType t) {
  __int128 y = to_int128(b);
  if (y == 0) throw Error("reference: integer division by zero");
  return wrap_exact(to_int128(a) / y, t);  // C++ division truncates toward zero
}

double int_rem(double a, double b, DType t) {
  __int128 y = to_int128(b);
  if (y == 0) throw Error("reference: integer remainder by zero");
  return wrap_exact(to_int128(a) % y, t);  // C++ remainder has the dividend's sign
}

double int_bitwise(char op, double a, double b, DType t) {
  __int128 x = to_int128(a), y = to_int128(b);
  __int128 r = op == '&' ? (x & y) : op == '|' ? (x | y) : (x ^ y);
  return wrap_exact(r, t);
}

namespace {
int checked_shift(double shift, DType t) {
  if (shift < 0 || shift >= bit_width(t) || shift != std::trunc(shift))
    throw Error("reference: shift by " + std::to_string(shift) + " is undefined for " +
                name_of(t));
  return static_cast<int>(shift);
}
}  // namespace

double int_shl(double a, double shift, DType t) {
  int s = checked_shift(shift, t);
  unsigned __int128 x = static_cast<unsigned __int128>(to_int128(a));
  return wrap_exact(static_cast<__int128>(x << s), t);
}

double int_shr(double a, double shift, DType t) {
  int s = checked_shift(shift, t);
  __int128 x = to_int128(a);  // already in t's range: signed values are negative here
  return wrap_exact(x >> s, t);  // arithmetic shift of a signed value, logical of an unsigned
}

}  // namespace kiln::ref
