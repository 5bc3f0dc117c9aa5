// matmul (numpy semantics: 1-D operands, broadcast batches, empty and k = 0 products, transposed
// and other non-contiguous operands) and nn::linear.
#include "cases.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

struct MatmulLayout {
  Shape a, b;
  View va = View::Contiguous, vb = View::Contiguous;
  bool transpose_b = false;  // b is stored (n, k) and read through transpose()
};

const std::vector<MatmulLayout>& layouts() {
  static const std::vector<MatmulLayout> v{
      {{3, 4}, {4, 5}},
      {{1, 4}, {4, 1}},
      {{17, 33}, {33, 9}},
      {{7}, {7, 3}},
      {{3, 7}, {7}},
      {{7}, {7}},
      {{2, 3, 4}, {4, 5}},
      {{2, 1, 3, 4}, {3, 4, 2}},
      {{0, 4}, {4, 3}},
      {{3, 0}, {0, 4}},
      {{64, 64}, {64, 64}},
      {{5, 300}, {300, 3}},
      {{6, 8}, {5, 8}, View::Contiguous, View::Contiguous, true},
      {{2, 3, 4}, {4, 5}, View::Strided, View::Flipped},
      {{4, 6}, {6, 4}, View::Permuted, View::Padded},
      {{8, 16}, {16, 8}, View::Expanded, View::Shrunk},
  };
  return v;
}

std::string detail(DType t, const MatmulLayout& l) {
  Shape b = l.b;
  std::string vb = view_name(effective_view(l.vb, l.b));
  if (l.transpose_b) {
    std::swap(b[0], b[1]);
    vb = "transposed";
  }
  return dtype_str(t) + " " + shape_str_of(l.a) + "@" + shape_str_of(b) + " " +
         view_name(effective_view(l.va, l.a)) + "/" + vb;
}

Tolerance dot_tolerance(DType t) {
  if (!ref::is_float_type(t)) return exact();
  return {ref::epsilon(t), 0, t == DType::F32 ? 1e-5 : 1e-4};
}

}  // namespace

void add_matmul_cases(CaseList& cases) {
  const std::vector<DType> types{DType::F32, DType::F16, DType::BF16, DType::I32, DType::I8, DType::U8};
  for (DType t : types) {
    const auto& all = layouts();
    for (size_t i = 0; i < all.size(); ++i) {
      if (t != DType::F32 && i % 3 != 0) continue;  // other dtypes: every third layout
      MatmulLayout l = all[i];
      bool is_float = ref::is_float_type(t);
      for (const auto& [values, d] : std::vector<std::pair<std::string, Domain>>{
               {"typical", is_float ? Domain::range(-2, 2) : full_domain(t)},
               {is_float ? "wide" : "small", is_float ? Domain::range(-100, 100) : Domain::range(-10, 10)}}) {
        Domain dom = d;
        cases.push_back({"matmul", case_name("matmul", "matmul", detail(t, l) + " " + values), {t}, [=](Context& cx) {
                           Input a = make_input(cx, t, l.a, dom, l.va);
                           Input b = make_input(cx, t, l.b, dom, l.vb);
                           ref::NDArray rb = l.transpose_b ? ref::transpose(b.ref, 0, 1) : b.ref;
                           Tensor tb = l.transpose_b ? b.t.transpose() : b.t;
                           ref::NDArray mag = ref::abs_matmul(a.ref, rb);
                           return compare(ref::matmul(a.ref, rb), a.t.matmul(tb), dot_tolerance(t), &mag);
                         }});
      }
    }
  }
  // Shapes a GPU with tensor cores runs as MMA tiles (M % 16, N % 8, K % 32, both operands
  // along K): half @ half^T, with an f32 result through casts plus a residual (the form of a
  // model's prefill projection), batched, and tiles narrower than the default. The last three
  // fit blocks of 2 x 2 warps staged through shared memory (taken with KILN_MMA_STAGED=2, which
  // does not narrow blocks to fill the SMs): an odd number of 32-k steps (the stages
  // alternate), and batched.
  struct MmaShape {
    Shape a, b;  // b stored (..., n, k)
  };
  for (DType t : {DType::F16, DType::BF16})
    for (const MmaShape& l : {MmaShape{{64, 128}, {32, 128}}, MmaShape{{48, 96}, {40, 96}},
                              MmaShape{{2, 32, 64}, {2, 24, 64}}, MmaShape{{128, 256}, {256, 256}},
                              MmaShape{{256, 96}, {256, 96}}, MmaShape{{2, 128, 64}, {2, 128, 64}}})
      for (bool f32_residual : {false, true}) {
        const int nd = static_cast<int>(l.b.size());
        std::string name = case_name("matmul", "tensor_core", dtype_str(t) + " " + shape_str_of(l.a) + "@" +
                                                                  shape_str_of(l.b) + "^T" +
                                                                  (f32_residual ? " f32 + residual" : ""));
        cases.push_back({"matmul", name, {t}, [=](Context& cx) {
                           Input a = make_input(cx, t, l.a);
                           Input b = make_input(cx, t, l.b);
                           ref::NDArray rb = ref::transpose(b.ref, nd - 2, nd - 1);
                           Tensor tb = b.t.transpose(-1, -2);
                           if (!f32_residual) {
                             ref::NDArray mag = ref::abs_matmul(a.ref, rb);
                             return compare(ref::matmul(a.ref, rb), a.t.matmul(tb), dot_tolerance(t), &mag);
                           }
                           Shape out = l.a;
                           out.back() = l.b[l.b.size() - 2];
                           Input r = make_input(cx, DType::F32, out);
                           ref::NDArray af = ref::cast(a.ref, DType::F32), bf = ref::cast(rb, DType::F32);
                           ref::NDArray want = ref::binary(ref::Binary::Add, ref::matmul(af, bf), r.ref);
                           ref::NDArray mag = ref::binary(ref::Binary::Add, ref::abs_matmul(af, bf),
                                                          ref::unary(ref::Unary::Abs, ref::cast(r.ref, DType::F64)));
                           Tensor got = a.t.cast(DType::F32).matmul(tb.cast(DType::F32)) + r.t;
                           return compare(want, got, dot_tolerance(DType::F32), &mag);
                         }});
      }
  // Two halves of one product combined elementwise, the decode MLP's silu(gate) * up over a
  // stacked GEMV. Whole-number inputs keep every sum and product exact, so any misplaced element
  // shows.
  struct HalvesShape {
    Shape x, w;  // w stored (2n, k)
  };
  for (DType t : {DType::F32, DType::I32})
    for (const HalvesShape& l : {HalvesShape{{1, 64}, {96, 64}}, HalvesShape{{5, 33}, {14, 33}},
                                 HalvesShape{{1, 256}, {256, 256}}}) {
      std::string name =
          case_name("matmul", "halves_combined",
                    dtype_str(t) + " " + shape_str_of(l.x) + "@" + shape_str_of(l.w) + "^T");
      cases.push_back({"matmul", name, {t}, [=](Context& cx) {
                         const Domain small = Domain::whole_numbers(-3, 3);
                         Input x = make_input(cx, t, l.x, small);
                         Input w = make_input(cx, t, l.w, small);
                         const int64_t n = l.w[0] / 2;
                         ref::NDArray y = ref::matmul(x.ref, ref::transpose(w.ref, 0, 1));
                         ref::NDArray g = ref::slice(y, 1, 0, n, 1),
                                      u = ref::slice(y, 1, n, 2 * n, 1);
                         ref::NDArray want =
                             ref::binary(ref::Binary::Add, ref::binary(ref::Binary::Mul, g, u), g);
                         Tensor ty = x.t.matmul(w.t.transpose());
                         Tensor tg = ty.slice(-1, 0, n), tu = ty.slice(-1, n, 2 * n);
                         return compare(want, tg * tu + tg, exact());
                       }});
    }
  // A projection of an RMSNorm with the norm's scale applied to its outputs, (W (x * w)) *
  // rsqrt(mean(x^2) + eps): a product times a statistic of its own input.
  for (const MmaShape& l : {MmaShape{{1, 64}, {48, 64}}, MmaShape{{1, 2048}, {96, 2048}},
                            MmaShape{{3, 40}, {16, 40}}}) {
    std::string name = case_name("matmul", "rms_scaled",
                                 "f32 " + shape_str_of(l.a) + "@" + shape_str_of(l.b) + "^T");
    cases.push_back({"matmul", name, {DType::F32}, [=](Context& cx) {
                       Input x = make_input(cx, DType::F32, l.a);
                       Input w = make_input(cx, DType::F32, {l.a.back()});
                       Input m = make_input(cx, DType::F32, l.b);
                       ref::NDArray normed = ref::rms_norm(x.ref, &w.ref, 1e-6);
                       ref::NDArray mt = ref::transpose(m.ref, 0, 1);
                       ref::NDArray mag = ref::abs_matmul(normed, mt);
                       Tensor got = (x.t * w.t).matmul(m.t.transpose()) *
                                    ((x.t * x.t).mean({-1}, true) + 1e-6).rsqrt();
                       return compare(ref::matmul(normed, mt), got, dot_tolerance(DType::F32),
                                      &mag);
                     }});
  }
  // A decode step's projections on half weights (llama's apply): the GEMV's vector is an
  // RMSNorm or silu(gate) * up rounded to the weights' type, optionally plus a residual. GPUs
  // compute the norm's mean square inside the GEMV's kernel and the vector once per group in
  // shared memory (docs/compiler.md, GEMV blocks); lengths a group of 256 threads does not
  // divide included.
  struct GemvShape {
    int64_t n, k;
  };
  for (bool silu_up : {false, true})
    for (const GemvShape& l : {GemvShape{48, 64}, GemvShape{96, 2048}, GemvShape{40, 1000}})
      for (bool residual : {false, true}) {
        std::string name =
            case_name("matmul", silu_up ? "silu_up_gemv" : "normed_gemv",
                      "bf16 (1, " + std::to_string(l.k) + ")@(" + std::to_string(l.n) + ", " +
                          std::to_string(l.k) + ")^T" + (residual ? " + residual" : ""));
        cases.push_back(
            {"matmul", name, {DType::BF16}, [=](Context& cx) {
               Input w = make_input(cx, DType::BF16, {l.n, l.k});
               Input r = make_input(cx, DType::F32, {1, l.n});
               ref::NDArray v;
               Tensor tv;
               if (silu_up) {
                 Input gu = make_input(cx, DType::F32, {1, 2 * l.k});
                 ref::NDArray g = ref::slice(gu.ref, 1, 0, l.k, 1),
                              u = ref::slice(gu.ref, 1, l.k, 2 * l.k, 1);
                 v = ref::binary(ref::Binary::Mul, ref::unary(ref::Unary::Silu, g), u);
                 tv = gu.t.slice(-1, 0, l.k).silu() * gu.t.slice(-1, l.k, 2 * l.k);
               } else {
                 Input x = make_input(cx, DType::F32, {1, l.k});
                 Input nw = make_input(cx, DType::BF16, {l.k});
                 ref::NDArray nwf = ref::cast(nw.ref, DType::F32);
                 v = ref::rms_norm(x.ref, &nwf, 1e-5);
                 tv = nn::rms_norm(x.t, nw.t, 1e-5);
               }
               ref::NDArray vh = ref::cast(ref::cast(v, DType::BF16), DType::F32);
               ref::NDArray wt = ref::transpose(ref::cast(w.ref, DType::F32), 0, 1);
               ref::NDArray want = ref::matmul(vh, wt);
               ref::NDArray mag = ref::abs_matmul(vh, wt);
               Tensor got =
                   tv.cast(DType::BF16).cast(DType::F32).matmul(w.t.cast(DType::F32).transpose());
               if (residual) {
                 want = ref::binary(ref::Binary::Add, want, r.ref);
                 mag = ref::binary(ref::Binary::Add, mag,
                                   ref::unary(ref::Unary::Abs, ref::cast(r.ref, DType::F64)));
                 got = got + r.t;
               }
               // (a normed element may round to the neighbouring bf16 value)
               return compare(want, got, dot_tolerance(DType::BF16), &mag);
             }});
      }
  // x @ W^T with x stored transposed (k, m) and W (n, k), plus a residual: a CPU prefill's
  // projection, which 32-register CPUs run as outer-product tiles (16-row vectors of x, weights
  // decoded into a local stage); widths that tiles of 6 or 12 columns do not divide.
  struct OuterShape {
    int64_t m, n, k;
  };
  for (DType t : {DType::F32, DType::F16, DType::BF16})
    for (const OuterShape& l :
         {OuterShape{64, 100, 48}, OuterShape{32, 7, 16}, OuterShape{96, 12, 80}}) {
      std::string name = case_name("matmul", "outer_tile",
                                   dtype_str(t) + " x^T(" + std::to_string(l.k) + ", " +
                                       std::to_string(l.m) + ") @ w(" + std::to_string(l.n) + ", " +
                                       std::to_string(l.k) + ")^T + residual");
      cases.push_back({"matmul", name, {t}, [=](Context& cx) {
                         Input xt = make_input(cx, DType::F32, {l.k, l.m});
                         Input w = make_input(cx, t, {l.n, l.k});
                         Input r = make_input(cx, DType::F32, {l.m, l.n});
                         ref::NDArray x = ref::transpose(xt.ref, 0, 1),
                                      wf = ref::transpose(ref::cast(w.ref, DType::F32), 0, 1);
                         ref::NDArray want =
                             ref::binary(ref::Binary::Add, ref::matmul(x, wf), r.ref);
                         ref::NDArray mag =
                             ref::binary(ref::Binary::Add, ref::abs_matmul(x, wf),
                                         ref::unary(ref::Unary::Abs, ref::cast(r.ref, DType::F64)));
                         Tensor prod = (xt.t.transpose().reshape({l.m, 1, l.k}) *
                                        w.t.cast(DType::F32).reshape({1, l.n, l.k}))
                                           .sum({-1})
                                           .reshape({l.m, l.n});
                         return compare(want, prod + r.t, dot_tolerance(DType::F32), &mag);
                       }});
    }
  // A mixed-dtype product promotes like elementwise ops.
  cases.push_back({"matmul", "matmul/matmul f16,f32 (3, 4)@(4, 5)", {DType::F16, DType::F32}, [](Context& cx) {
                     Input a = make_input(cx, DType::F16, {3, 4});
                     Input b = make_input(cx, DType::F32, {4, 5});
                     ref::NDArray mag = ref::abs_matmul(a.ref, b.ref);
                     return compare(ref::matmul(a.ref, b.ref), a.t.matmul(b.t), dot_tolerance(DType::F32), &mag);
                   }});
  struct LinearLayout {
    Shape x, w;
    bool bias;
  };
  for (DType t : float_dtypes()) {
    for (const LinearLayout& l : {LinearLayout{{2, 3, 4}, {5, 4}, true}, LinearLayout{{7, 16}, {3, 16}, false},
                                  LinearLayout{{16}, {8, 16}, true}}) {
      std::string name = case_name("matmul", "linear", dtype_str(t) + " x" + shape_str_of(l.x) + " w" +
                                                           shape_str_of(l.w) + (l.bias ? " bias" : ""));
      cases.push_back({"matmul", name, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, l.x);
                         Input w = make_input(cx, t, l.w);
                         Input b = make_input(cx, t, {l.w[0]});
                         ref::NDArray want = ref::linear(x.ref, w.ref, l.bias ? &b.ref : nullptr);
                         ref::NDArray mag = ref::abs_matmul(x.ref, ref::transpose(w.ref, 0, 1));
                         if (l.bias) mag = ref::binary(ref::Binary::Add, mag, ref::unary(ref::Unary::Abs, ref::cast(b.ref, DType::F64)));
                         return compare(want, nn::linear(x.t, w.t, l.bias ? b.t : Tensor()), dot_tolerance(t), &mag);
                       }});
    }
  }
}

}  // namespace kiln::opsuite
