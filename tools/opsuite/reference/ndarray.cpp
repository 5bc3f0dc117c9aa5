#include "ndarray.h"

#include <cmath>
#include <cstring>
#include <string>

#include "dtype_info.h"
#include "kiln/error.h"

namespace kiln::ref {

namespace {

// An IEEE-style binary float format: p significand bits (implicit bit included), e exponent bits.
struct FloatFormat {
  int p;
  int ebits;
  int emin() const { return 2 - (1 << (ebits - 1)); }
  int emax() const { return (1 << (ebits - 1)) - 1; }
  int bias() const { return emax(); }
  double max_finite() const { return (2.0 - std::ldexp(1.0, 1 - p)) * std::ldexp(1.0, emax()); }
};

FloatFormat format_of(DType t) {
  switch (t) {
    case DType::F16: return {11, 5};
    case DType::BF16: return {8, 8};
    case DType::F32: return {24, 8};
    case DType::F64: return {53, 11};
    default: throw Error(std::string("reference: ") + name_of(t) + " is not a float dtype");
  }
}

// Round to nearest, ties to even, with gradual underflow and overflow to infinity.
double round_float(const FloatFormat& f, double x) {
  if (std::isnan(x) || std::isinf(x) || x == 0) return x;
  int k;
  std::frexp(x, &k);  // |x| = m * 2^k, m in [0.5, 1): the leading bit has exponent k - 1
  int e = std::max(k - 1, f.emin());
  double quantum = std::ldexp(1.0, e - (f.p - 1));
  double r = std::nearbyint(x / quantum) * quantum;  // default mode: ties to even
  if (std::fabs(r) > f.max_finite()) return std::copysign(INFINITY, x);
  return r;
}

uint64_t float_bits(const FloatFormat& f, double v) {
  uint64_t sign = std::signbit(v) ? 1 : 0;
  uint64_t mant_bits = static_cast<uint64_t>(f.p - 1);
  uint64_t exp_all = (uint64_t{1} << f.ebits) - 1;
  uint64_t exp = 0, mant = 0;
  double a = std::fabs(v);
  if (std::isnan(v)) {
    exp = exp_all;
    mant = uint64_t{1} << (mant_bits - 1);
  } else if (std::isinf(v)) {
    exp = exp_all;
  } else if (a != 0) {
    int k;
    std::frexp(a, &k);
    int e = k - 1;
    if (e < f.emin()) {  // subnormal
      mant = static_cast<uint64_t>(std::ldexp(a, -(f.emin() - (f.p - 1))));
    } else {
      exp = static_cast<uint64_t>(e + f.bias());
      mant = static_cast<uint64_t>(std::ldexp(a, -(e - (f.p - 1)))) - (uint64_t{1} << mant_bits);
    }
  }
  return (sign << (f.ebits + mant_bits)) | (exp << mant_bits) | mant;
}

double float_from_bits(const FloatFormat& f, uint64_t bits) {
  int mant_bits = f.p - 1;
  uint64_t mant = bits & ((uint64_t{1} << mant_bits) - 1);
  uint64_t exp = (bits >> mant_bits) & ((uint64_t{1} << f.ebits) - 1);
  bool neg = (bits >> (mant_bits + f.ebits)) & 1;
  double v;
  if (exp == (uint64_t{1} << f.ebits) - 1) {
    v = mant ? NAN : INFINITY;
  } else if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), f.emin() - mant_bits);
  } else {
    v = std::ldexp(static_cast<double>(mant | (uint64_t{1} << mant_bits)),
                   static_cast<int>(exp) - f.bias() - mant_bits);
  }
  return neg ? -v : v;
}

// The two's-complement bit pattern of an integral value, modulo 2^64.
uint64_t wrap64(double v) {
  if (std::fabs(v) < 9223372036854775808.0) return static_cast<uint64_t>(static_cast<int64_t>(v));
  double m = std::fmod(v, 18446744073709551616.0);  // exact
  if (m < 0) m += 18446744073709551616.0;
  if (m >= 9223372036854775808.0)
    return static_cast<uint64_t>(m - 9223372036854775808.0) + (uint64_t{1} << 63);
  return static_cast<uint64_t>(m);
}

double int_from_bits(DType t, uint64_t bits) {
  int w = bit_width(t);
  if (w < 64) bits &= (uint64_t{1} << w) - 1;
  if (is_unsigned_type(t)) return static_cast<double>(bits);
  if (w < 64 && (bits >> (w - 1)) & 1) bits |= ~((uint64_t{1} << w) - 1);  // sign-extend
  return static_cast<double>(static_cast<int64_t>(bits));
}

}  // namespace

NDArray::NDArray(DType t, Shape s) : dtype(t), shape(std::move(s)) {
  data.assign(static_cast<size_t>(numel_of(shape)), 0.0);
}

NDArray::NDArray(DType t, Shape s, std::vector<double> values)
    : dtype(t), shape(std::move(s)), data(std::move(values)) {
  if (static_cast<int64_t>(data.size()) != numel_of(shape))
    throw Error("reference: " + std::to_string(data.size()) + " values for shape " +
                shape_string(shape));
  for (double& v : data) v = round_to(dtype, v);
}

int64_t NDArray::offset(const Index& idx) const {
  if (idx.size() != shape.size())
    throw Error("reference: index of rank " + std::to_string(idx.size()) + " into shape " +
                shape_string(shape));
  int64_t off = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= shape[i])
      throw Error("reference: index out of range for shape " + shape_string(shape));
    off = off * shape[i] + idx[i];
  }
  return off;
}

double& NDArray::at(const Index& idx) { return data[static_cast<size_t>(offset(idx))]; }
double NDArray::at(const Index& idx) const { return data[static_cast<size_t>(offset(idx))]; }

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) throw Error("reference: negative dimension in shape " + shape_string(s));
    n *= d;
  }
  return n;
}

Shape row_major_strides(const Shape& s) {
  Shape st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

void for_each_index(const Shape& shape, const std::function<void(const Index&)>& fn) {
  if (numel_of(shape) == 0) return;
  Index idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int d = static_cast<int>(shape.size()) - 1;
    while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
    if (d < 0) return;
  }
}

int normalize_axis(int axis, int ndim, const Shape& shape_for_message) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    throw Error("reference: axis " + std::to_string(axis) + " out of range for shape " +
                shape_string(shape_for_message));
  return a;
}

double round_to(DType t, double v) {
  if (t == DType::Bool) return v != 0 ? 1.0 : 0.0;
  if (is_float_type(t)) return round_float(format_of(t), v);
  if (std::isnan(v) || std::isinf(v) || v != std::trunc(v))
    throw Error("reference: non-integral value " + std::to_string(v) + " stored as " +
                name_of(t));
  return int_from_bits(t, wrap64(v));
}

uint64_t to_bits(DType t, double v) {
  v = round_to(t, v);
  if (is_float_type(t)) {
    if (t == DType::F32) {
      float f = static_cast<float>(v);
      uint32_t b;
      std::memcpy(&b, &f, 4);
      return b;
    }
    if (t == DType::F64) {
      uint64_t b;
      std::memcpy(&b, &v, 8);
      return b;
    }
    return float_bits(format_of(t), v);
  }
  uint64_t bits = wrap64(v);
  int w = bit_width(t);
  return w < 64 ? bits & ((uint64_t{1} << w) - 1) : bits;
}

double from_bits(DType t, uint64_t bits) {
  if (t == DType::F32) {
    uint32_t b = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  if (t == DType::F64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (is_float_type(t)) return float_from_bits(format_of(t), bits);
  if (t == DType::Bool) return (bits & 0xff) != 0 ? 1.0 : 0.0;
  return int_from_bits(t, bits);
}

std::vector<uint8_t> encode(const NDArray& a) {
  size_t size = size_of(a.dtype);
  std::vector<uint8_t> out(a.data.size() * size);
  for (size_t i = 0; i < a.data.size(); ++i) {
    uint64_t bits = to_bits(a.dtype, a.data[i]);
    for (size_t b = 0; b < size; ++b) out[i * size + b] = static_cast<uint8_t>(bits >> (8 * b));
  }
  return out;
}

NDArray decode(DType t, const Shape& shape, const void* bytes, size_t nbytes) {
  size_t size = size_of(t);
  size_t n = static_cast<size_t>(numel_of(shape));
  if (nbytes != n * size)
    throw Error("reference: " + std::to_string(nbytes) + " bytes for " + name_of(t) + " shape " +
                shape_string(shape));
  NDArray a(t, shape);
  const uint8_t* p = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits = 0;
    for (size_t b = 0; b < size; ++b) bits |= static_cast<uint64_t>(p[i * size + b]) << (8 * b);
    a.data[i] = from_bits(t, bits);
  }
  return a;
}

double int_min(DType t) {
  if (t == DType::Bool || is_unsigned_type(t)) return 0;
  return -std::ldexp(1.0, bit_width(t) - 1);
}

double int_max(DType t) {
  if (t == DType::Bool) return 1;
  if (is_unsigned_type(t)) return std::ldexp(1.0, bit_width(t)) - 1;
  return std::ldexp(1.0, bit_width(t) - 1) - 1;
}

int bit_width(DType t) { return static_cast<int>(size_of(t)) * 8; }

double epsilon(DType t) {
  if (!is_float_type(t)) return 0;
  return std::ldexp(1.0, 1 - format_of(t).p);
}

double float_max(DType t) { return format_of(t).max_finite(); }

}  // namespace kiln::ref
