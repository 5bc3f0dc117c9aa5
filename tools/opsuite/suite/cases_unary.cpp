// Unary elementwise ops: float math on f32/f16/bf16, each over its typical domain and a wide one
// (overflow, saturation, large arguments: the same compiled kernel, other values), and the ops
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
  Domain typical, wide;
};

const std::vector<UnaryOp>& float_ops() {
  const Domain big = Domain::range(-1e6, 1e6), saturating = Domain::range(-100, 100);
  static const std::vector<UnaryOp> v{
      {Unary::Neg, [](const Tensor& x) { return -x; }, Domain::range(-10, 10), big},
      {Unary::Exp, [](const Tensor& x) { return x.exp(); }, Domain::range(-4, 4), Domain::range(-80, 80)},
      {Unary::Exp2, [](const Tensor& x) { return x.exp2(); }, Domain::range(-6, 6), Domain::range(-120, 120)},
      {Unary::Log, [](const Tensor& x) { return x.log(); }, Domain::range(0.05, 10), Domain::decades(1e-30, 1e30)},
      {Unary::Log2, [](const Tensor& x) { return x.log2(); }, Domain::range(0.05, 10), Domain::decades(1e-30, 1e30)},
      // Rotary embeddings take sin/cos of angles in the thousands.
      {Unary::Sin, [](const Tensor& x) { return x.sin(); }, Domain::range(-6.3, 6.3), Domain::range(-5000, 5000)},
      {Unary::Cos, [](const Tensor& x) { return x.cos(); }, Domain::range(-6.3, 6.3), Domain::range(-5000, 5000)},
      {Unary::Sqrt, [](const Tensor& x) { return x.sqrt(); }, Domain::range(0, 10), Domain::decades(1e-30, 1e30)},
      {Unary::Rsqrt, [](const Tensor& x) { return x.rsqrt(); }, Domain::range(0.05, 10), Domain::decades(1e-30, 1e30)},
      {Unary::Reciprocal, [](const Tensor& x) { return x.reciprocal(); }, Domain::nonzero(-4, 4, 0.1),
       Domain::decades(1e-30, 1e30)},
      {Unary::Abs, [](const Tensor& x) { return x.abs(); }, Domain::range(-10, 10), big},
      {Unary::Relu, [](const Tensor& x) { return x.relu(); }, Domain::range(-10, 10), big},
      {Unary::Tanh, [](const Tensor& x) { return x.tanh(); }, Domain::range(-5, 5), saturating},
      {Unary::Sigmoid, [](const Tensor& x) { return x.sigmoid(); }, Domain::range(-8, 8), saturating},
      {Unary::Silu, [](const Tensor& x) { return x.silu(); }, Domain::range(-8, 8), saturating},
      {Unary::GeluTanh, [](const Tensor& x) { return x.gelu_tanh(); }, Domain::range(-5, 5), saturating},
      {Unary::GeluErf, [](const Tensor& x) { return x.gelu_erf(); }, Domain::range(-5, 5), saturating},
      {Unary::Erf, [](const Tensor& x) { return x.erf(); }, Domain::range(-3, 3), saturating},
      {Unary::Trunc, [](const Tensor& x) { return x.trunc(); }, Domain::range(-10, 10), big},
      {Unary::Floor, [](const Tensor& x) { return x.floor(); }, Domain::range(-10, 10), big},
  };
  return v;
}

// Exact ops must match bit for bit; correctly rounded ones within an ulp of their storage
// type (the device computes f16/bf16 in f32 and rounds once more); transcendental ones within
// 1e-5 relative in f32 (approximations are allowed), an absolute 2e-6 near zero.
Tolerance unary_tolerance(Unary op, DType t) {
  switch (op) {
    case Unary::Neg: case Unary::Abs: case Unary::Relu: case Unary::Trunc: case Unary::Floor:
    case Unary::LogicalNot: case Unary::BitwiseNot:
      return exact();
    case Unary::Sqrt: case Unary::Rsqrt: case Unary::Reciprocal:
      return t == DType::F32 ? ulps(t, 4) : ulps(t, 1);
    default:
      return {t == DType::F32 ? 1e-5 : 2 * ref::epsilon(t), 2e-6, 0};
  }
}

void add(CaseList& cases, Unary op, const TensorFn& fn, DType t, const Layout& l, const Domain& d,
         const std::string& values) {
  std::string name = case_name("unary", ref::unary_name(op), dtype_str(t) + " " + layout_str(l) + " " + values);
  cases.push_back({"unary", name, {t}, [=](Context& cx) {
                     Input x = make_input(cx, t, l.shape, d, l.view);
                     return compare(ref::unary(op, x.ref), fn(x.t), unary_tolerance(op, t));
                   }});
}

}  // namespace

void add_unary_cases(CaseList& cases) {
  const auto& ops = float_ops();
  for (size_t k = 0; k < ops.size(); ++k) {
    const UnaryOp& u = ops[k];
    for (DType t : float_dtypes()) {
      // f32 takes four shapes/views per op, the 16-bit types two; rotating through the list
      // gives every dtype every view across the ops.
      auto layouts = t == DType::F32 ? rotate_pick(unary_layouts(), 4, 4 * k)
                                     : rotate_pick(unary_layouts(), 2, 2 * k + (t == DType::F16 ? 0 : 5));
      for (const Layout& l : layouts) {
        add(cases, u.op, u.fn, t, l, u.typical, "typical");
        add(cases, u.op, u.fn, t, l, u.wide, "wide");
      }
    }
  }
  const std::vector<UnaryOp> int_ops{
      {Unary::Neg, [](const Tensor& x) { return x.neg(); }, {}, {}},
      {Unary::Abs, [](const Tensor& x) { return x.abs(); }, {}, {}},
      {Unary::Relu, [](const Tensor& x) { return x.relu(); }, {}, {}},
      {Unary::BitwiseNot, [](const Tensor& x) { return x.bitwise_not(); }, {}, {}},
  };
  for (size_t k = 0; k < int_ops.size(); ++k) {
    const UnaryOp& u = int_ops[k];
    for (size_t j = 0; j < int_dtypes().size(); ++j) {
      DType t = int_dtypes()[j];
      // -x and ~x of a u64 are near 2^64: beyond what the reference's doubles hold exactly.
      if (t == DType::U64 && (u.op == Unary::Neg || u.op == Unary::BitwiseNot)) continue;
      for (const Layout& l : rotate_pick(unary_layouts(), 2, 2 * (k + j))) {
        add(cases, u.op, u.fn, t, l, full_domain(t), "full-range");
        add(cases, u.op, u.fn, t, l, Domain::range(-10, 10), "small");
      }
    }
  }
  for (const Layout& l : rotate_pick(unary_layouts(), 3, 1)) {
    add(cases, Unary::LogicalNot, [](const Tensor& x) { return x.logical_not(); }, DType::Bool, l,
        full_domain(DType::Bool), "");
    add(cases, Unary::BitwiseNot, [](const Tensor& x) { return x.bitwise_not(); }, DType::Bool, l,
        full_domain(DType::Bool), "");
  }
}

}  // namespace kiln::opsuite
