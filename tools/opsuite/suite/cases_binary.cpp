// Binary arithmetic with broadcasting: add sub mul div maximum minimum on every dtype, pow on
// floats, idiv and mod on integers (wraparound included), mixed-dtype promotion, and ops with a
// Python-style scalar operand.
#include <cmath>
#include <functional>

#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

using ref::Binary;
using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;

BinaryFn tensor_fn(Binary op) {
  switch (op) {
    case Binary::Add: return [](const Tensor& a, const Tensor& b) { return a + b; };
    case Binary::Sub: return [](const Tensor& a, const Tensor& b) { return a - b; };
    case Binary::Mul: return [](const Tensor& a, const Tensor& b) { return a * b; };
    case Binary::Div: return [](const Tensor& a, const Tensor& b) { return a / b; };
    case Binary::IDiv: return [](const Tensor& a, const Tensor& b) { return a.idiv(b); };
    case Binary::Mod: return [](const Tensor& a, const Tensor& b) { return a.mod(b); };
    case Binary::Pow: return [](const Tensor& a, const Tensor& b) { return a.pow(b); };
    case Binary::Maximum: return [](const Tensor& a, const Tensor& b) { return a.maximum(b); };
    case Binary::Minimum: return [](const Tensor& a, const Tensor& b) { return a.minimum(b); };
    case Binary::And: return [](const Tensor& a, const Tensor& b) { return a.bitwise_and(b); };
    case Binary::Or: return [](const Tensor& a, const Tensor& b) { return a.bitwise_or(b); };
    case Binary::Xor: return [](const Tensor& a, const Tensor& b) { return a.bitwise_xor(b); };
    case Binary::Shl: return [](const Tensor& a, const Tensor& b) { return a.shl(b); };
    case Binary::Shr: return [](const Tensor& a, const Tensor& b) { return a.shr(b); };
    case Binary::Lt: return [](const Tensor& a, const Tensor& b) { return a.lt(b); };
    case Binary::Le: return [](const Tensor& a, const Tensor& b) { return a.le(b); };
    case Binary::Gt: return [](const Tensor& a, const Tensor& b) { return a.gt(b); };
    case Binary::Ge: return [](const Tensor& a, const Tensor& b) { return a.ge(b); };
    case Binary::Eq: return [](const Tensor& a, const Tensor& b) { return a.eq(b); };
    case Binary::Ne: return [](const Tensor& a, const Tensor& b) { return a.ne(b); };
  }
  return {};
}

// Operand domains: divisors avoid 0, idiv/mod dividends avoid the signed minimum (its quotient
// by -1 overflows: undefined), 64-bit products stay exact in the reference.
std::pair<Domain, Domain> domains(Binary op, DType t) {
  Domain full = full_domain(t);
  bool is_float = ref::is_float_type(t);
  switch (op) {
    case Binary::Sub:  // u64 differences stay positive: a wrapped one is not exact in a double
      if (t == DType::U64) return {Domain::range(0x1p40, 0x1p41), Domain::range(0, 0x1p40)};
      return {full, full};
    case Binary::Mul:
      if (ref::size_of(t) == 8) return {Domain::range(full.lo ? -0x1p26 : 0, 0x1p26),
                                        Domain::range(full.lo ? -0x1p26 : 0, 0x1p26)};
      return {full, full};
    case Binary::Div:
      return {full, is_float ? Domain::nonzero(-3, 3, 0.25) : Domain::nonzero(full.lo, full.hi, 1)};
    case Binary::IDiv: case Binary::Mod: {
      Domain a = full;
      if (!ref::is_unsigned_type(t)) a.lo += 1;
      return {a, Domain::nonzero(full.lo, full.hi, 1)};
    }
    case Binary::Pow:
      return {Domain::range(0.1, 3), Domain::range(-2, 2)};
    default:
      return {full, full};
  }
}

Tolerance binary_tolerance(Binary op, DType out) {
  if (!ref::is_float_type(out)) return exact();
  switch (op) {
    case Binary::Maximum: case Binary::Minimum: return exact();
    case Binary::Div: return out == DType::F32 ? ulps(out, 2) : ulps(out, 1);
    case Binary::Pow: return {out == DType::F32 ? 1e-5 : 2 * ref::epsilon(out), 1e-6};
    default: return ulps(out, 1);
  }
}

void add(CaseList& cases, const std::string& family, Binary op, DType ta, DType tb,
         const PairLayout& l, Domain da, Domain db, const std::string& values = "") {
  std::string types = ta == tb ? dtype_str(ta) : dtype_str(ta) + "," + dtype_str(tb);
  std::string name = case_name(family, ref::binary_name(op), types + " " + layout_str(l) +
                                                                 (values.empty() ? "" : " " + values));
  BinaryFn fn = tensor_fn(op);
  cases.push_back({family, name, {ta, tb}, [=](Context& cx) {
                     Input a = make_input(cx, ta, l.a, da, l.va);
                     Input b = make_input(cx, tb, l.b, db, l.vb);
                     ref::NDArray want = ref::binary(op, a.ref, b.ref);
                     return compare(want, fn(a.t, b.t), binary_tolerance(op, want.dtype));
                   }});
}

// A second set of values for the same kernel: small integers (no wraparound, many equal pairs),
// or floats spanning magnitudes far from 1.
std::pair<Domain, Domain> other_values(Binary op, DType t) {
  if (!ref::is_float_type(t)) {
    if (op == Binary::Div || op == Binary::IDiv || op == Binary::Mod)
      return {Domain::range(-10, 10), Domain::nonzero(-10, 10, 1)};
    return {Domain::range(-10, 10), Domain::range(-10, 10)};
  }
  switch (op) {
    case Binary::Pow: return {Domain::decades(1e-3, 1e3), Domain::range(-4, 4)};
    case Binary::Div: return {Domain::range(-1e4, 1e4), Domain::nonzero(-1e4, 1e4, 1e-3)};
    default: return {Domain::range(-1e4, 1e4), Domain::range(-1e4, 1e4)};
  }
}

// tensor (op) scalar, or scalar (op) tensor: the scalar takes the tensor's dtype, or f32 when
// the tensor is an integer and the value is not integral (Tensor::scalar_like).
void add_scalar(CaseList& cases, Binary op, DType t, double value, bool scalar_left) {
  static const Shape shape{3, 5};
  std::string detail = dtype_str(t) + (scalar_left ? " scalar " : " ") + std::to_string(value);
  std::string name = case_name("binary", std::string(ref::binary_name(op)) + "_scalar", detail);
  auto [da, db] = domains(op, t);
  Domain d = scalar_left ? db : da;
  cases.push_back({"binary", name, {t}, [=](Context& cx) {
                     Input x = make_input(cx, t, shape, d);
                     DType st = ref::is_float_type(t) || value == std::trunc(value) ? t : DType::F32;
                     ref::NDArray s = ref::scalar(value, st);
                     ref::NDArray want = scalar_left ? ref::binary(op, s, x.ref) : ref::binary(op, x.ref, s);
                     Tensor got;
                     switch (op) {
                       case Binary::Add: got = scalar_left ? value + x.t : x.t + value; break;
                       case Binary::Sub: got = scalar_left ? value - x.t : x.t - value; break;
                       case Binary::Mul: got = scalar_left ? value * x.t : x.t * value; break;
                       default: got = scalar_left ? value / x.t : x.t / value; break;
                     }
                     return compare(want, got, binary_tolerance(op, want.dtype));
                   }});
}

}  // namespace

void add_binary_cases(CaseList& cases) {
  // Each (op, dtype) compiles a few shapes/views, rotating through the list so every dtype meets
  // every view across the ops; each kernel runs with two sets of values.
  const std::vector<Binary> ops{Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Maximum,
                                Binary::Minimum, Binary::Pow, Binary::IDiv, Binary::Mod};
  for (size_t k = 0; k < ops.size(); ++k) {
    Binary op = ops[k];
    for (size_t j = 0; j < all_dtypes().size(); ++j) {
      DType t = all_dtypes()[j];
      bool minmax = op == Binary::Maximum || op == Binary::Minimum;
      if (t == DType::Bool && !minmax) continue;
      if (op == Binary::Pow && !ref::is_float_type(t)) continue;
      if ((op == Binary::IDiv || op == Binary::Mod) && !ref::is_int_type(t)) continue;
      bool main = t == DType::F32 || t == DType::I32;
      auto [da, db] = domains(op, t);
      auto [oa, ob] = other_values(op, t);
      for (const PairLayout& l : rotate_pick(binary_layouts(), main ? 4 : 2, 3 * k + 2 * j)) {
        add(cases, "binary", op, t, t, l, da, db, "typical");
        if (t != DType::Bool && !(op == Binary::Sub && t == DType::U64))
          add(cases, "binary", op, t, t, l, oa, ob, ref::is_float_type(t) ? "wide" : "small");
      }
    }
  }
  // Type promotion: mixed operand dtypes.
  const std::vector<std::pair<DType, DType>> mixed{
      {DType::I8, DType::U8},    {DType::U8, DType::I16},  {DType::I16, DType::U16},
      {DType::I32, DType::U32},  {DType::U8, DType::U32},  {DType::I32, DType::I64},
      {DType::F16, DType::BF16}, {DType::F16, DType::F32}, {DType::BF16, DType::F32},
      {DType::I32, DType::F16},  {DType::U8, DType::F32},  {DType::Bool, DType::I32},
      {DType::Bool, DType::F16}, {DType::I64, DType::F32}, {DType::U16, DType::BF16},
      {DType::I8, DType::U16}};
  const PairLayout mixed_layout{{3, 5}, {5}, View::Contiguous, View::Contiguous};
  for (size_t i = 0; i < mixed.size(); ++i) {
    auto [ta, tb] = mixed[i];
    bool any_float = ref::is_float_type(ta) || ref::is_float_type(tb);
    Domain da = any_float && !ref::is_float_type(ta) ? Domain::range(-100, 100) : full_domain(ta);
    Domain db = any_float && !ref::is_float_type(tb) ? Domain::range(-100, 100) : full_domain(tb);
    DType result = ref::promote_types(ta, tb);
    for (Binary op : {Binary::Add, Binary::Mul, Binary::Maximum}) {
      if (op != Binary::Add && i % 2 != (op == Binary::Mul ? 0u : 1u)) continue;  // add on every pair
      Domain ma = da, mb = db;
      if (op == Binary::Mul && !any_float && ref::size_of(result) == 8) {  // exact products
        ma = Domain::range(std::max(da.lo, -0x1p26), std::min(da.hi, 0x1p26));
        mb = Domain::range(std::max(db.lo, -0x1p26), std::min(db.hi, 0x1p26));
      }
      add(cases, "binary", op, ta, tb, mixed_layout, ma, mb, "typical");
      add(cases, "binary", op, ta, tb, mixed_layout, Domain::range(-10, 10), Domain::range(-10, 10), "small");
    }
    add(cases, "binary", Binary::Div, ta, tb, mixed_layout, da,
        Domain::nonzero(std::max(db.lo, -100.0), std::min(db.hi, 100.0), 1), "typical");
    add(cases, "binary", Binary::Div, ta, tb, mixed_layout, Domain::range(-10, 10), Domain::nonzero(-10, 10, 1), "small");
  }
  for (DType t : {DType::F32, DType::BF16, DType::I32, DType::U8}) {
    for (Binary op : {Binary::Add, Binary::Sub, Binary::Mul, Binary::Div}) {
      add_scalar(cases, op, t, 2.0, false);
      add_scalar(cases, op, t, 2.0, true);
      add_scalar(cases, op, t, -0.75, false);
    }
  }
}

}  // namespace kiln::opsuite
