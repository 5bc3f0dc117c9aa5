// kiln::ref — the plain reference evaluator the differential op suite compares devices with.
// Values are doubles in row-major order; every array also carries the dtype it stands for, and
// every op rounds its double result to that dtype (f16/bf16 round to nearest even, integers
// wrap around) so the reference models storage precision. It shares no code with core's
// schedule or codegen: each op is written directly from its math definition.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "kiln/dtypes.h"
#include "kiln/tensor.h"

namespace kiln::ref {

using Index = std::vector<int64_t>;

struct NDArray {
  DType dtype = DType::F32;
  Shape shape;
  std::vector<double> data;  // row-major; each value exactly representable in dtype

  NDArray() = default;
  NDArray(DType dtype, Shape shape);  // zeros
  // Rounds every value to dtype (round_to).
  NDArray(DType dtype, Shape shape, std::vector<double> values);

  int ndim() const { return static_cast<int>(shape.size()); }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  double& at(const Index& idx);
  double at(const Index& idx) const;
  int64_t offset(const Index& idx) const;  // row-major position of idx
};

int64_t numel_of(const Shape& s);
Shape row_major_strides(const Shape& s);
// Calls fn(index) for every index of shape in row-major order (once for a 0-d shape).
void for_each_index(const Shape& shape, const std::function<void(const Index&)>& fn);
// Normalizes a possibly negative axis for a rank-`ndim` array; throws kiln::Error naming the
// shape when it is out of range.
int normalize_axis(int axis, int ndim, const Shape& shape_for_message);

// ---- dtype storage model ----
// The nearest value storable in dtype: floats round to nearest even (overflow gives inf),
// integers are taken modulo 2^bits (the value must already be an integer), bool is value != 0.
double round_to(DType dtype, double value);
// Raw bits of a value stored in dtype (little-endian element as an unsigned integer), and back.
uint64_t to_bits(DType dtype, double value);
double from_bits(DType dtype, uint64_t bits);
// Row-major bytes of the array in its dtype, and back.
std::vector<uint8_t> encode(const NDArray& a);
NDArray decode(DType dtype, const Shape& shape, const void* bytes, size_t size);

// Range of an integer dtype (bool: 0..1).
double int_min(DType dtype);
double int_max(DType dtype);
int bit_width(DType dtype);
// Unit roundoff-ish spacing of a float dtype at 1.0 (2^-mantissa_bits): f32 2^-23, f16 2^-10,
// bf16 2^-7, f64 2^-52; 0 for integers.
double epsilon(DType dtype);
// Largest finite value of a float dtype (f16 65504).
double float_max(DType dtype);

}  // namespace kiln::ref
