/* Double-precision exp2, log2, sin and pow for the cuda_ptx device: PTX has no accurate
 * instructions for them (ex2/lg2/sin.approx are f32 approximations, and sin.approx has no
 * range reduction). Plain C, compiled two ways: by nvcc into the PTX functions the renderer
 * pastes into modules that need them (gen_math_ptx.sh -> math_ptx.inc), and by the host
 * compiler in tests/devices_cuda_ptx, which checks these exact algorithms against libm.
 * Taylor polynomials on reduced arguments (no borrowed coefficient tables). */
#ifndef KILN_MATH_H
#define KILN_MATH_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define KILN_MATH_FN extern "C" __device__ __noinline__
#define KILN_MATH_INLINE static __device__ __forceinline__
#else
#define KILN_MATH_FN static inline
#define KILN_MATH_INLINE static inline
#endif

KILN_MATH_INLINE double kiln_rint_f64(double x) {
  /* round half to even via the 2^52 trick; |x| >= 2^52 is already an integer */
  const double big = 4503599627370496.0;
  double a = x < 0 ? -x : x;
  if (!(a < big)) return x;
  double r = (a + big) - big;
  return x < 0 ? -r : r;
}

KILN_MATH_INLINE double kiln_bits_to_f64(uint64_t b) {
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}
KILN_MATH_INLINE uint64_t kiln_f64_to_bits(double d) {
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

/* 2^n for n in [-1022, 1023] */
KILN_MATH_INLINE double kiln_pow2i(int n) { return kiln_bits_to_f64((uint64_t)(n + 1023) << 52); }

KILN_MATH_FN double kiln_exp2_f64(double x) {
  if (x != x) return x;
  if (x >= 1024.0) return 1.0 / 0.0 * 1.0;  /* +inf */
  if (x < -1080.0) return 0.0;
  double n = kiln_rint_f64(x);
  double f = x - n; /* exact, |f| <= 0.5 */
  const double ln2_hi = 6.93147180369123816490e-01; /* ln2 with its low 32 bits zero */
  const double ln2_lo = 1.90821492927058770002e-10;
  double y = f * ln2_hi + f * ln2_lo;
  /* e^y, |y| <= 0.347: Taylor to y^15/15! (next term below 1e-19) */
  double p = 1.0 / 1307674368000.0;          /* 1/15! */
  p = p * y + 1.0 / 87178291200.0;           /* 1/14! */
  p = p * y + 1.0 / 6227020800.0;            /* 1/13! */
  p = p * y + 1.0 / 479001600.0;             /* 1/12! */
  p = p * y + 1.0 / 39916800.0;              /* 1/11! */
  p = p * y + 1.0 / 3628800.0;               /* 1/10! */
  p = p * y + 1.0 / 362880.0;
  p = p * y + 1.0 / 40320.0;
  p = p * y + 1.0 / 5040.0;
  p = p * y + 1.0 / 720.0;
  p = p * y + 1.0 / 120.0;
  p = p * y + 1.0 / 24.0;
  p = p * y + 1.0 / 6.0;
  p = p * y + 0.5;
  p = p * y + 1.0;
  p = p * y + 1.0;
  int k = (int)n;
  int k1 = k / 2, k2 = k - k1; /* each within [-540, 512] */
  return p * kiln_pow2i(k1) * kiln_pow2i(k2);
}

KILN_MATH_FN double kiln_log2_f64(double x) {
  if (x != x) return x;
  if (x < 0) return 0.0 / 0.0 * 0.0 + (x - x) / (x - x); /* NaN */
  if (x == 0) return -1.0 / 0.0;
  if (x == 1.0 / 0.0) return x;
  int e = 0;
  if (x < 2.2250738585072014e-308) { /* subnormal: scale into the normal range */
    x *= 18014398509481984.0;         /* 2^54 */
    e = -54;
  }
  uint64_t b = kiln_f64_to_bits(x);
  e += (int)((b >> 52) & 0x7ff) - 1023;
  double m = kiln_bits_to_f64((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL); /* [1,2) */
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  /* log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716 */
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double q = 1.0 / 25;
  q = q * s2 + 1.0 / 23;
  q = q * s2 + 1.0 / 21;
  q = q * s2 + 1.0 / 19;
  q = q * s2 + 1.0 / 17;
  q = q * s2 + 1.0 / 15;
  q = q * s2 + 1.0 / 13;
  q = q * s2 + 1.0 / 11;
  q = q * s2 + 1.0 / 9;
  q = q * s2 + 1.0 / 7;
  q = q * s2 + 1.0 / 5;
  q = q * s2 + 1.0 / 3;
  double ln_m = 2.0 * s + 2.0 * s * s2 * q;
  const double log2e_hi = 1.44269504088896338700e+00;
  const double log2e_lo = 2.03552737409310127e-17;
  return (double)e + (ln_m * log2e_hi + ln_m * log2e_lo);
}

KILN_MATH_FN double kiln_sin_f64(double x) {
  if (x - x != x - x) return x - x; /* inf or NaN -> NaN */
  /* k = nearest multiple of pi/2; r = x - k*pi/2 with pi/2 split into three parts (fused
   * multiply-adds keep each step exact enough up to |x| near 2^40) */
  const double two_over_pi = 6.36619772367581382433e-01;
  const double p1 = 1.57079632673412561417e+00; /* pi/2, first 33 bits */
  const double p2 = 6.07710050650619224932e-11; /* next 33 bits */
  const double p3 = 2.02226624879595063154e-21; /* the rest */
  double k = kiln_rint_f64(x * two_over_pi);
  double r = ((x - k * p1) - k * p2) - k * p3;
  double r2 = r * r;
  long long q = (long long)k;
  int quadrant = (int)(q & 3);
  double v;
  if (quadrant & 1) { /* cos r, Taylor to r^20/20! */
    double c = 1.0 / 2432902008176640000.0;
    c = c * r2 - 1.0 / 6402373705728000.0;
    c = c * r2 + 1.0 / 20922789888000.0;
    c = c * r2 - 1.0 / 87178291200.0;
    c = c * r2 + 1.0 / 479001600.0;
    c = c * r2 - 1.0 / 3628800.0;
    c = c * r2 + 1.0 / 40320.0;
    c = c * r2 - 1.0 / 720.0;
    c = c * r2 + 1.0 / 24.0;
    c = c * r2 - 0.5;
    v = 1.0 + r2 * c;
  } else { /* sin r, Taylor to r^19/19! */
    double s = -1.0 / 121645100408832000.0;
    s = s * r2 + 1.0 / 355687428096000.0;
    s = s * r2 - 1.0 / 1307674368000.0;
    s = s * r2 + 1.0 / 6227020800.0;
    s = s * r2 - 1.0 / 39916800.0;
    s = s * r2 + 1.0 / 362880.0;
    s = s * r2 - 1.0 / 5040.0;
    s = s * r2 + 1.0 / 120.0;
    s = s * r2 - 1.0 / 6.0;
    v = r + r * r2 * s;
  }
  return (quadrant & 2) ? -v : v;
}

/* C pow semantics (C11 F.10.4.4) for the special cases; exp2(y * log2|x|) otherwise. */
KILN_MATH_FN double kiln_pow_f64(double x, double y) {
  if (y == 0) return 1.0;
  if (x == 1.0) return 1.0;
  if (x != x || y != y) return x + y;
  double ay = y < 0 ? -y : y;
  int y_int = kiln_rint_f64(y) == y;
  int y_odd = y_int && ay < 9007199254740992.0 && kiln_rint_f64(y * 0.5) != y * 0.5;
  double ax = x < 0 ? -x : x;
  int x_neg = kiln_f64_to_bits(x) >> 63;
  if (x < 0 && !y_int) return (x - x) / (x - x) + 0.0 * 0.0 / 0.0; /* NaN */
  if (ax == 1.0 && ay == 1.0 / 0.0) return 1.0; /* pow(-1, +-inf) */
  double r;
  if (ay == 1.0 / 0.0) {
    r = (ax < 1.0) == (y > 0) ? 0.0 : 1.0 / 0.0;
  } else if (ax == 0) {
    r = y < 0 ? 1.0 / 0.0 : 0.0;
  } else if (ax == 1.0 / 0.0) {
    r = y < 0 ? 0.0 : ax;
  } else {
    r = kiln_exp2_f64(y * kiln_log2_f64(ax));
  }
  return (x_neg && y_odd) ? -r : r;
}

#endif /* KILN_MATH_H */
