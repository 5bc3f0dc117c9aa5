// Unary elementwise ops: float math on f32/f16/bf16 over their natural domains, and the ops
// defined on integers (neg, abs, relu, bitwise_not, logical_not) on every integer dtype.
#include <functional>

#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

using ref::Unary;
using TensorFn = std::function<Tensor(const Tensor&)>;

struct UnaryOp {
  Unary op;
  TensorFn fn;
  Domain domain;
};

const std::vector<UnaryOp>& float_ops() {
  static const std::vector<UnaryOp> v{
      {Unary::Neg, [](const Tensor& x) { return -x; }, Domain::range(-10, 10)},
      {Unary::Exp, [](const Tensor& x) { return x.exp(); }, Domain::range(-4, 4)},
      {Unary::Exp2, [](const Tensor& x) { return x.exp2(); }, Domain::range(-6, 6)},
      {Unary::Log, [](const Tensor& x) { return x.log(); }, Domain::range(0.05, 10)},
      {Unary::Log2, [](const Tensor& x) { return x.log2(); }, Domain::range(0.05, 10)},
      {Unary::Sin, [](const Tensor& x) { return x.sin(); }, Domain::range(-6.3, 6.3)},
      {Unary::Cos, [](const Tensor& x) { return x.cos(); }, Domain::range(-6.3, 6.3)},
      {Unary::Sqrt, [](const Tensor& x) { return x.sqrt(); }, Domain::range(0, 10)},
      {Unary::Rsqrt, [](const Tensor& x) { return x.rsqrt(); }, Domain::range(0.05, 10)},
      {Unary::Reciprocal, [](const Tensor& x) { return x.reciprocal(); },
       Domain::nonzero(-4, 4, 0.1)},
      {Unary::Abs, [](const Tensor& x) { return x.abs(); }, Domain::range(-10, 10)},
      {Unary::Relu, [](const Tensor& x) { return x.relu(); }, Domain::range(-10, 10)},
      {Unary::Tanh, [](const Tensor& x) { return x.tanh(); }, Domain::range(-5, 5)},
      {Unary::Sigmoid, [](const Tensor& x) { return x.sigmoid(); }, Domain::range(-8, 8)},
      {Unary::Silu, [](const Tensor& x) { return x.silu(); }, Domain::range(-8, 8)},
      {Unary::GeluTanh, [](const Tensor& x) { return x.gelu_tanh(); }, Domain::range(-5, 5)},
      {Unary::GeluErf, [](const Tensor& x) { return x.gelu_erf(); }, Domain::range(-5, 5)},
      {Unary::Erf, [](const Tensor& x) { return x.erf(); }, Domain::range(-3, 3)},
      {Unary::Trunc, [](const Tensor& x) { return x.trunc(); }, Domain::range(-10, 10)},
      {Unary::Floor, [](const Tensor& x) { return x.floor(); }, Domain::range(-10, 10)},
  };
  return v;
}

// Exact ops must match bit for bit; correctly rounded ones within an ulp of their storage
// type (the device computes f16/bf16 in f32 and rounds once more); transcendental ones within
// 1e-5 relative in f32 (approximations are allowed), an absolute 1e-6 near zero.
Tolerance unary_tolerance(Unary op, DType t) {
  switch (op) {
    case Unary::Neg: case Unary::Abs: case Unary::Relu: case Unary::Trunc: case Unary::Floor:
    case Unary::LogicalNot: case Unary::BitwiseNot:
      return exact();
    case Unary::Sqrt: case Unary::Rsqrt: case Unary::Reciprocal:
      return t == DType::F32 ? ulps(t, 4) : ulps(t, 1);
    default:
      return {t == DType::F32 ? 1e-5 : 2 * ref::epsilon(t), 1e-6};
  }
}

void add(CaseList& cases, const std::string& family, Unary op, const TensorFn& fn, DType t,
         const Layout& l, const Domain& d) {
  std::string name = case_name(family, ref::unary_name(op), dtype_str(t) + " " + layout_str(l));
  cases.push_back({family, name, {t}, [=](Context& cx) {
                     Input x = make_input(cx, t, l.shape, d, l.view);
                     ref::NDArray want = ref::unary(op, x.ref);
                     return compare(want, fn(x.t), unary_tolerance(op, t));
                   }});
}

}  // namespace

void add_unary_cases(CaseList& cases) {
  for (const UnaryOp& u : float_ops()) {
    for (DType t : float_dtypes()) {
      const auto& layouts = t == DType::F32 ? unary_layouts() : unary_layouts_short();
      for (const Layout& l : layouts) add(cases, "unary", u.op, u.fn, t, l, u.domain);
    }
  }
  const std::vector<UnaryOp> int_ops{
      {Unary::Neg, [](const Tensor& x) { return x.neg(); }, {}},
      {Unary::Abs, [](const Tensor& x) { return x.abs(); }, {}},
      {Unary::Relu, [](const Tensor& x) { return x.relu(); }, {}},
      {Unary::BitwiseNot, [](const Tensor& x) { return x.bitwise_not(); }, {}},
  };
  for (const UnaryOp& u : int_ops)
    for (DType t : int_dtypes())
      for (const Layout& l : unary_layouts_short())
        add(cases, "unary", u.op, u.fn, t, l, full_domain(t));
  for (const Layout& l : unary_layouts_short()) {
    add(cases, "unary", Unary::LogicalNot, [](const Tensor& x) { return x.logical_not(); },
        DType::Bool, l, full_domain(DType::Bool));
    add(cases, "unary", Unary::BitwiseNot, [](const Tensor& x) { return x.bitwise_not(); },
        DType::Bool, l, full_domain(DType::Bool));
  }
}

}  // namespace kiln::opsuite
