// Reference elementwise ops with numpy broadcasting. Semantics follow the kiln/tensor.h
// documentation and PyTorch: idiv truncates toward zero, mod takes the dividend's sign, true
// division of integers gives f32, comparisons give bool, float->int casts truncate, integer
// results wrap around, and operands are cast to the promoted type before the op.
#pragma once

#include "ndarray.h"

namespace kiln::ref {

enum class Unary {
  Neg, Exp, Exp2, Log, Log2, Sin, Cos, Sqrt, Rsqrt, Reciprocal, Abs, Relu, Tanh, Sigmoid,
  Silu, GeluTanh, GeluErf, Erf, Trunc, Floor, LogicalNot, BitwiseNot
};
enum class Binary {
  Add, Sub, Mul, Div, IDiv, Mod, Pow, Maximum, Minimum, And, Or, Xor, Shl, Shr,
  Lt, Le, Gt, Ge, Eq, Ne
};

const char* unary_name(Unary op);
const char* binary_name(Binary op);
// Float-only math (exp, sin, ...) versus ops defined on every dtype (neg, abs, ...).
bool unary_is_float_math(Unary op);

// The dtype each op gives for its input dtypes (throws kiln::Error for unsupported dtypes).
DType unary_result(Unary op, DType a);
DType binary_result(Binary op, DType a, DType b);

// The broadcast of two shapes (numpy rules); kiln::Error names both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);
NDArray broadcast_to(const NDArray& a, const Shape& shape);

// A value of dtype `from` converted to dtype `to` (float->int truncates; out-of-range float->int
// conversions are undefined and throw; integer conversions wrap; anything -> bool is != 0).
double cast_value(double v, DType from, DType to);

NDArray unary(Unary op, const NDArray& a);
NDArray binary(Binary op, const NDArray& a, const NDArray& b);
NDArray where(const NDArray& cond, const NDArray& a, const NDArray& b);
// Tensor::dot4: I32 arrays of four bytes each; acc + sum of unsigned a bytes * signed b bytes
NDArray dot4(const NDArray& a, const NDArray& b, const NDArray& acc);
NDArray cast(const NDArray& a, DType to);
NDArray bitcast(const NDArray& a, DType to);  // same element size
NDArray clamp(const NDArray& a, double lo, double hi);
// A 0-d array of dtype t.
NDArray scalar(double v, DType t);

}  // namespace kiln::ref
