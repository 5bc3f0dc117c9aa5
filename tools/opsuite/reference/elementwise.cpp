#include "elementwise.h"

#include <cmath>
#include <string>

#include "dtype_info.h"
#include "int_math.h"
#include "kiln/error.h"

namespace kiln::ref {

const char* unary_name(Unary op) {
  static const char* names[] = {"neg",  "exp",       "exp2",     "log",        "log2",
                                "sin",  "cos",       "sqrt",     "rsqrt",      "reciprocal",
                                "abs",  "relu",      "tanh",     "sigmoid",    "silu",
                                "gelu_tanh", "gelu_erf", "erf",  "trunc",      "floor",
                                "logical_not", "bitwise_not"};
  return names[static_cast<int>(op)];
}

const char* binary_name(Binary op) {
  static const char* names[] = {"add", "sub", "mul", "div", "idiv", "mod", "pow",
                                "maximum", "minimum", "bitwise_and", "bitwise_or",
                                "bitwise_xor", "shl", "shr", "lt", "le", "gt", "ge", "eq", "ne"};
  return names[static_cast<int>(op)];
}

bool unary_is_float_math(Unary op) {
  switch (op) {
    case Unary::Neg: case Unary::Abs: case Unary::Relu: case Unary::Trunc: case Unary::Floor:
    case Unary::LogicalNot: case Unary::BitwiseNot:
      return false;
    default:
      return true;
  }
}

namespace {
[[noreturn]] void unsupported(const char* op, DType t) {
  throw Error(std::string("reference: ") + op + " is not defined for " + name_of(t));
}
}  // namespace

DType unary_result(Unary op, DType a) {
  if (op == Unary::LogicalNot) return DType::Bool;
  if (op == Unary::BitwiseNot) {
    if (is_float_type(a)) unsupported(unary_name(op), a);
    return a;
  }
  if (unary_is_float_math(op)) return float_result(a);
  if (a == DType::Bool) unsupported(unary_name(op), a);
  return a;
}

DType binary_result(Binary op, DType a, DType b) {
  DType p = promote_types(a, b);
  switch (op) {
    case Binary::Lt: case Binary::Le: case Binary::Gt: case Binary::Ge: case Binary::Eq:
    case Binary::Ne:
      return DType::Bool;
    case Binary::Div:
      return float_result(p);
    case Binary::Pow:
      if (!is_float_type(p)) unsupported(binary_name(op), p);
      return p;
    case Binary::And: case Binary::Or: case Binary::Xor:
      if (is_float_type(p)) unsupported(binary_name(op), p);
      return p;
    case Binary::IDiv: case Binary::Mod: case Binary::Shl: case Binary::Shr:
      if (!is_int_type(p)) unsupported(binary_name(op), p);
      return p;
    case Binary::Add: case Binary::Sub: case Binary::Mul:
      if (p == DType::Bool) unsupported(binary_name(op), p);
      return p;
    case Binary::Maximum: case Binary::Minimum:
      return p;
  }
  return p;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error("reference: shapes " + shape_string(a) + " and " + shape_string(b) +
                  " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

NDArray broadcast_to(const NDArray& a, const Shape& shape) {
  if (broadcast_shapes(a.shape, shape) != shape)
    throw Error("reference: cannot broadcast " + shape_string(a.shape) + " to " +
                shape_string(shape));
  NDArray out(a.dtype, shape);
  size_t lead = shape.size() - a.shape.size();
  Index src(a.shape.size());
  int64_t i = 0;
  for_each_index(shape, [&](const Index& idx) {
    for (size_t d = 0; d < src.size(); ++d) src[d] = a.shape[d] == 1 ? 0 : idx[d + lead];
    out.data[i++] = a.at(src);
  });
  return out;
}

double cast_value(double v, DType from, DType to) {
  if (to == DType::Bool) return v != 0 ? 1.0 : 0.0;
  if (is_float_type(to)) return round_to(to, v);
  if (is_float_type(from)) {
    double t = std::trunc(v);
    if (std::isnan(v) || t < int_min(to) || t > int_max(to))
      throw Error("reference: converting " + std::to_string(v) + " to " + name_of(to) +
                  " is undefined (out of range)");
    return t;
  }
  return round_to(to, v);
}

NDArray scalar(double v, DType t) { return NDArray(t, {}, {v}); }

namespace {

double unary_value(Unary op, double x, DType in) {
  switch (op) {
    case Unary::Neg: return is_float_type(in) ? -x : int_neg(x, in);
    case Unary::Exp: return std::exp(x);
    case Unary::Exp2: return std::exp2(x);
    case Unary::Log: return std::log(x);
    case Unary::Log2: return std::log2(x);
    case Unary::Sin: return std::sin(x);
    case Unary::Cos: return std::cos(x);
    case Unary::Sqrt: return std::sqrt(x);
    case Unary::Rsqrt: return 1.0 / std::sqrt(x);
    case Unary::Reciprocal: return 1.0 / x;
    case Unary::Abs: return is_float_type(in) ? std::fabs(x) : int_abs(x, in);
    case Unary::Relu: return x > 0 ? x : 0.0;
    case Unary::Tanh: return std::tanh(x);
    case Unary::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Unary::Silu: return x / (1.0 + std::exp(-x));
    case Unary::GeluTanh: {
      const double c = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
    }
    case Unary::GeluErf: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Unary::Erf: return std::erf(x);
    case Unary::Trunc: return std::trunc(x);
    case Unary::Floor: return std::floor(x);
    case Unary::LogicalNot: return x == 0 ? 1.0 : 0.0;
    case Unary::BitwiseNot: return in == DType::Bool ? (x == 0 ? 1.0 : 0.0) : int_not(x, in);
  }
  return 0;
}

double compare(Binary op, double a, double b) {
  switch (op) {
    case Binary::Lt: return a < b;
    case Binary::Le: return a <= b;
    case Binary::Gt: return a > b;
    case Binary::Ge: return a >= b;
    case Binary::Eq: return a == b;
    default: return a != b;
  }
}

// a and b are already converted to the promoted type p.
double binary_value(Binary op, double a, double b, DType p) {
  bool f = is_float_type(p);
  switch (op) {
    case Binary::Add: return f ? a + b : int_add(a, b, p);
    case Binary::Sub: return f ? a - b : int_sub(a, b, p);
    case Binary::Mul: return f ? a * b : int_mul(a, b, p);
    case Binary::Div: return a / b;
    case Binary::IDiv: return int_div_trunc(a, b, p);
    case Binary::Mod: return int_rem(a, b, p);
    case Binary::Pow: return std::pow(a, b);
    case Binary::Maximum: return a > b ? a : b;
    case Binary::Minimum: return a < b ? a : b;
    case Binary::And: return int_bitwise('&', a, b, p);
    case Binary::Or: return int_bitwise('|', a, b, p);
    case Binary::Xor: return int_bitwise('^', a, b, p);
    case Binary::Shl: return int_shl(a, b, p);
    case Binary::Shr: return int_shr(a, b, p);
    default: return compare(op, a, b);
  }
}

}  // namespace

NDArray unary(Unary op, const NDArray& a) {
  DType out_t = unary_result(op, a.dtype);
  NDArray out(out_t, a.shape);
  for (size_t i = 0; i < a.data.size(); ++i) {
    double x = unary_is_float_math(op) ? cast_value(a.data[i], a.dtype, out_t) : a.data[i];
    out.data[i] = round_to(out_t, unary_value(op, x, a.dtype));
  }
  return out;
}

NDArray binary(Binary op, const NDArray& a, const NDArray& b) {
  DType out_t = binary_result(op, a.dtype, b.dtype);
  DType p = promote_types(a.dtype, b.dtype);
  DType compute = op == Binary::Div ? out_t : p;
  Shape shape = broadcast_shapes(a.shape, b.shape);
  NDArray ab = broadcast_to(a, shape), bb = broadcast_to(b, shape);
  NDArray out(out_t, shape);
  for (size_t i = 0; i < out.data.size(); ++i) {
    double x = cast_value(ab.data[i], a.dtype, compute);
    double y = cast_value(bb.data[i], b.dtype, compute);
    out.data[i] = round_to(out_t, binary_value(op, x, y, compute));
  }
  return out;
}

NDArray where(const NDArray& cond, const NDArray& a, const NDArray& b) {
  DType out_t = promote_types(a.dtype, b.dtype);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape, a.shape), b.shape);
  NDArray cb = broadcast_to(cond, shape), ab = broadcast_to(a, shape), bb = broadcast_to(b, shape);
  NDArray out(out_t, shape);
  for (size_t i = 0; i < out.data.size(); ++i)
    out.data[i] = cb.data[i] != 0 ? cast_value(ab.data[i], a.dtype, out_t)
                                  : cast_value(bb.data[i], b.dtype, out_t);
  return out;
}

NDArray dot4(const NDArray& a, const NDArray& b, const NDArray& acc) {
  for (const NDArray* x : {&a, &b, &acc})
    if (x->dtype != DType::I32) throw Error(std::string("reference: dot4 needs I32, got ") + name_of(x->dtype));
  Shape shape = broadcast_shapes(broadcast_shapes(a.shape, b.shape), acc.shape);
  NDArray ab = broadcast_to(a, shape), bb = broadcast_to(b, shape), cb = broadcast_to(acc, shape);
  NDArray out(DType::I32, shape);
  for (size_t i = 0; i < out.data.size(); ++i) {
    const auto ua = static_cast<uint32_t>(static_cast<int32_t>(ab.data[i]));
    const auto ub = static_cast<uint32_t>(static_cast<int32_t>(bb.data[i]));
    int64_t sum = static_cast<int64_t>(cb.data[i]);
    for (int k = 0; k < 4; ++k)
      sum += int64_t((ua >> (8 * k)) & 0xff) * int64_t(static_cast<int8_t>((ub >> (8 * k)) & 0xff));
    out.data[i] = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(sum)));
  }
  return out;
}

NDArray cast(const NDArray& a, DType to) {
  NDArray out(to, a.shape);
  for (size_t i = 0; i < a.data.size(); ++i) out.data[i] = cast_value(a.data[i], a.dtype, to);
  return out;
}

NDArray bitcast(const NDArray& a, DType to) {
  if (size_of(a.dtype) != size_of(to))
    throw Error(std::string("reference: bitcast from ") + name_of(a.dtype) + " to " +
                name_of(to) + " changes the element size");
  NDArray out(to, a.shape);
  for (size_t i = 0; i < a.data.size(); ++i) out.data[i] = from_bits(to, to_bits(a.dtype, a.data[i]));
  return out;
}

NDArray clamp(const NDArray& a, double lo, double hi) {
  NDArray out(a.dtype, a.shape);
  for (size_t i = 0; i < a.data.size(); ++i)
    out.data[i] = round_to(a.dtype, std::min(std::max(a.data[i], lo), hi));
  return out;
}

}  // namespace kiln::ref
