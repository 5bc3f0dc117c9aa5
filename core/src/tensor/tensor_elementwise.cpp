// Elementwise ops. Transcendentals reduce to the few the kernel IR has (exp2, log2, sin,
// sqrt, recip); integer inputs to float functions compute in f32.
#include <cmath>

#include "tensor/tensor_internal.h"

namespace kiln {

using namespace detail;

namespace {
constexpr double kLog2E = 1.4426950408889634;
constexpr double kLn2 = 0.6931471805599453;
constexpr double kPi = 3.141592653589793;

Tensor unary(Op op, const Tensor& x) { return alu(op, x.dtype(), {x}); }

void require_int(const Tensor& t, const char* op) {
  if (!is_int(t.dtype()) && t.dtype() != DType::Bool)
    throw Error(std::string(op) + ": needs an integer tensor, got " + dtype_name(t.dtype()) +
                " of shape " + shape_str(t.shape()));
}
}  // namespace

Tensor Tensor::scalar_like(double value) const {
  DType t = dtype();
  if (!is_float(t) && value != std::floor(value)) t = DType::F32;
  if (t == DType::Bool && value != 0 && value != 1) t = DType::F32;
  return Tensor(make_const(value, t, device()));
}

Tensor Tensor::operator-() const {
  node_of(*this, "neg");
  if (dtype() == DType::Bool) throw Error("neg: not defined for bool tensor of shape " + shape_str(shape()));
  return unary(Op::Neg, *this);
}

Tensor Tensor::exp2() const { Tensor x = to_float(*this); return unary(Op::Exp2, x); }
Tensor Tensor::exp() const { return (to_float(*this) * kLog2E).exp2(); }
Tensor Tensor::log2() const { Tensor x = to_float(*this); return unary(Op::Log2, x); }
Tensor Tensor::log() const { return to_float(*this).log2() * kLn2; }
Tensor Tensor::sin() const { Tensor x = to_float(*this); return unary(Op::Sin, x); }
Tensor Tensor::cos() const {
  // cos x = sin(pi/2 - x); the subtraction in f64 so large |x| keeps its phase exactly
  Tensor x = to_float(*this);
  if (x.dtype() == DType::F32 || x.dtype() == DType::F64)
    return (kPi / 2 - x.cast(DType::F64)).sin().cast(x.dtype());
  return (kPi / 2 - x.cast(DType::F32)).sin().cast(x.dtype());
}
Tensor Tensor::sqrt() const { Tensor x = to_float(*this); return unary(Op::Sqrt, x); }
Tensor Tensor::reciprocal() const { Tensor x = to_float(*this); return unary(Op::Recip, x); }
Tensor Tensor::rsqrt() const { return sqrt().reciprocal(); }
Tensor Tensor::trunc() const {
  if (!is_float(dtype())) return *this;
  return unary(Op::Trunc, *this);
}
Tensor Tensor::floor() const {
  if (!is_float(dtype())) return *this;
  Tensor t = trunc();
  return where(lt(t), t - 1.0, t);
}
Tensor Tensor::abs() const {
  node_of(*this, "abs");
  if (is_unsigned(dtype()) || dtype() == DType::Bool) return *this;
  return maximum(-*this);
}
Tensor Tensor::relu() const { return maximum(scalar_like(0)); }
Tensor Tensor::sigmoid() const {
  Tensor x = to_float(*this);
  return (1.0 + (-x).exp()).reciprocal();
}
Tensor Tensor::tanh() const {
  Tensor x = to_float(*this);
  return 2.0 * (2.0 * x).sigmoid() - 1.0;
}
Tensor Tensor::silu() const {
  Tensor x = to_float(*this);
  return x * x.sigmoid();
}
Tensor Tensor::gelu_tanh() const {
  Tensor x = to_float(*this);
  return 0.5 * x * (1.0 + (std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x)).tanh());
}
Tensor Tensor::erf() const {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), odd symmetry by sign.
  Tensor x = to_float(*this);
  Tensor ax = x.abs();
  Tensor t = (1.0 + 0.3275911 * ax).reciprocal();
  Tensor poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  Tensor y = 1.0 - poly * (-(ax * ax)).exp();
  return where(x.lt(x.scalar_like(0)), -y, y);
}
Tensor Tensor::gelu_erf() const {
  Tensor x = to_float(*this);
  return 0.5 * x * (1.0 + (x * (1.0 / std::sqrt(2.0))).erf());
}
Tensor Tensor::logical_not() const { return alu(Op::Not, DType::Bool, {cast(DType::Bool)}); }
Tensor Tensor::bitwise_not() const {
  require_int(*this, "bitwise_not");
  return unary(Op::Not, *this);
}

Tensor Tensor::pow(const Tensor& e) const {
  auto [a, b] = binary_operands(to_float(*this), to_float(e), "pow");
  Tensor r = alu(Op::Pow, a.dtype(), {a, b});
  return is_float(dtype()) || is_float(e.dtype()) ? r : r.cast(promote(dtype(), e.dtype()));
}
Tensor Tensor::pow(double e) const {
  if (e == 2) return *this * *this;
  if (e == 1) return *this;
  if (e == 0.5) return sqrt();
  if (e == -1) return reciprocal();
  return pow(scalar_like(e));
}

Tensor Tensor::maximum(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "maximum");
  return alu(Op::Max, a.dtype(), {a, b});
}
Tensor Tensor::minimum(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "minimum");
  return alu(Op::Min, a.dtype(), {a, b});
}
Tensor Tensor::clamp(double lo, double hi) const {
  return maximum(scalar_like(lo)).minimum(scalar_like(hi));
}
Tensor Tensor::idiv(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "idiv");
  require_int(a, "idiv");
  return alu(Op::IDiv, a.dtype(), {a, b});
}
Tensor Tensor::mod(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "mod");
  require_int(a, "mod");
  return alu(Op::Mod, a.dtype(), {a, b});
}

#define KILN_BITWISE(NAME, OP)                                 \
  Tensor Tensor::NAME(const Tensor& o) const {                 \
    auto [a, b] = binary_operands(*this, o, #NAME);            \
    require_int(a, #NAME);                                     \
    return alu(OP, a.dtype(), {a, b});                         \
  }
KILN_BITWISE(bitwise_and, Op::And)
KILN_BITWISE(bitwise_or, Op::Or)
KILN_BITWISE(bitwise_xor, Op::Xor)
KILN_BITWISE(shl, Op::Shl)
KILN_BITWISE(shr, Op::Shr)
#undef KILN_BITWISE

Tensor Tensor::lt(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "lt");
  return alu(Op::CmpLt, DType::Bool, {a, b});
}
Tensor Tensor::gt(const Tensor& o) const { return o.lt(*this); }
Tensor Tensor::le(const Tensor& o) const { return gt(o).logical_not(); }
Tensor Tensor::ge(const Tensor& o) const { return lt(o).logical_not(); }
Tensor Tensor::eq(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "eq");
  return alu(Op::CmpEq, DType::Bool, {a, b});
}
Tensor Tensor::ne(const Tensor& o) const {
  auto [a, b] = binary_operands(*this, o, "ne");
  return alu(Op::CmpNe, DType::Bool, {a, b});
}

Tensor Tensor::where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  node_of(cond, "where");
  auto [x, y] = binary_operands(a, b, "where");
  Shape s = broadcast_shapes(cond.shape(), x.shape(), "where");
  Tensor c = broadcast_to(cond.cast(DType::Bool), s);
  return alu(Op::Where, x.dtype(), {c, broadcast_to(x, s), broadcast_to(y, s)});
}

Tensor Tensor::dot4(const Tensor& a, const Tensor& b, const Tensor& acc) {
  for (const Tensor* t : {&a, &b, &acc}) {
    node_of(*t, "dot4");
    if (t->dtype() != DType::I32)
      throw Error(std::string("dot4: needs I32 tensors (four bytes each), got ") + dtype_name(t->dtype()) +
                  " of shape " + shape_str(t->shape()));
  }
  Shape s = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), "dot4"), acc.shape(), "dot4");
  return alu(Op::Dot4, DType::I32, {broadcast_to(a, s), broadcast_to(b, s), broadcast_to(acc, s)});
}

Tensor Tensor::cast(DType t) const {
  const UOpRef& n = node_of(*this, "cast");
  return Tensor(make_cast(Op::Cast, t, n));
}

Tensor Tensor::bitcast(DType t) const {
  const UOpRef& n = node_of(*this, "bitcast");
  if (dtype_size(t) != dtype_size(dtype()))
    throw Error(std::string("bitcast: ") + dtype_name(dtype()) + " and " + dtype_name(t) +
                " differ in size (shape " + shape_str(shape()) + ")");
  if (t == dtype()) return *this;
  return Tensor(make_cast(Op::Bitcast, t, n));
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  auto [x, y] = binary_operands(a, b, "add");
  if (x.dtype() == DType::Bool) return alu(Op::Or, DType::Bool, {x, y});
  return alu(Op::Add, x.dtype(), {x, y});
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  auto [x, y] = binary_operands(a, b, "sub");
  if (x.dtype() == DType::Bool) throw Error("sub: not defined for bool tensors of shape " + shape_str(x.shape()));
  return alu(Op::Sub, x.dtype(), {x, y});
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  auto [x, y] = binary_operands(a, b, "mul");
  if (x.dtype() == DType::Bool) return alu(Op::And, DType::Bool, {x, y});
  return alu(Op::Mul, x.dtype(), {x, y});
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  // true division: the float type present wins (i32 / f16 -> f16); two integers give f32
  bool af = is_float(a.dtype()), bf = is_float(b.dtype());
  Tensor x0 = a, y0 = b;
  if (!af && !bf) {
    x0 = to_float(a);
    y0 = to_float(b);
  } else if (!af) {
    x0 = a.cast(b.dtype());
  } else if (!bf) {
    y0 = b.cast(a.dtype());
  }
  auto [x, y] = binary_operands(x0, y0, "div");
  return alu(Op::FDiv, x.dtype(), {x, y});
}
Tensor operator+(const Tensor& a, double b) { return a + a.scalar_like(b); }
Tensor operator-(const Tensor& a, double b) { return a - a.scalar_like(b); }
Tensor operator*(const Tensor& a, double b) { return a * a.scalar_like(b); }
Tensor operator/(const Tensor& a, double b) { return a / a.scalar_like(b); }
Tensor operator+(double a, const Tensor& b) { return b.scalar_like(a) + b; }
Tensor operator-(double a, const Tensor& b) { return b.scalar_like(a) - b; }
Tensor operator*(double a, const Tensor& b) { return b.scalar_like(a) * b; }
Tensor operator/(double a, const Tensor& b) { return b.scalar_like(a) / b; }

}  // namespace kiln
