// Exact integer arithmetic on values held as doubles: operands are converted to 128-bit
// integers, the result wraps around to the dtype's width. A result too large for a double to
// hold exactly (beyond 2^53, only possible for i64/u64) throws rather than silently rounding.
#pragma once

#include "kiln/dtypes.h"

namespace kiln::ref {

// v taken modulo 2^bits of dtype t (as a two's-complement value when t is signed).
double wrap_exact(__int128 v, DType t);
__int128 to_int128(double v);  // v must be integral

double int_add(double a, double b, DType t);
double int_sub(double a, double b, DType t);
double int_mul(double a, double b, DType t);
double int_neg(double a, DType t);
double int_abs(double a, DType t);
double int_not(double a, DType t);
double int_div_trunc(double a, double b, DType t);  // toward zero; b == 0 throws
double int_rem(double a, double b, DType t);        // sign of the dividend; b == 0 throws
double int_bitwise(char op, double a, double b, DType t);  // op: '&', '|', '^'
double int_shl(double a, double shift, DType t);    // shift in [0, bits) else throws
double int_shr(double a, double shift, DType t);    // arithmetic for signed types

}  // namespace kiln::ref
