// layer_norm, rms_norm (last axis) and group_norm (channel groups), with and without affine
// parameters, on contiguous and non-contiguous inputs.
#include "cases.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

// Outputs are O(1): the allowance is absolute as well as relative — a few units of the output
// dtype's epsilon. "offset" inputs (mean 100x their spread) lose f32 digits computing the mean,
// ~16 f32 epsilons times mean/std, so they get 2e-4 more; a mean or variance stored in f16/bf16
// between kernels costs far more than that and fails.
Tolerance norm_tolerance(DType t, const std::string& values) {
  double extra = values == "offset" ? 2e-4 : 0;
  if (t == DType::F32) return {1e-5, 1e-5 + extra, 0};
  return {4 * ref::epsilon(t), 4 * ref::epsilon(t) + extra, 0};
}

struct NormLayout {
  Shape x;
  bool weight, bias;
  View view;
};

}  // namespace

void add_norm_cases(CaseList& cases) {
  const std::vector<NormLayout> last_axis{
      {{4, 32}, true, true, View::Contiguous},   {{2, 3, 64}, true, false, View::Permuted},
      {{1, 768}, false, false, View::Contiguous}, {{5, 1}, true, true, View::Contiguous},
      {{3, 40}, true, true, View::Strided},      {{2, 2, 4096}, true, false, View::Contiguous},
      {{0, 8}, true, true, View::Contiguous},
  };
  for (DType t : float_dtypes()) {
    for (size_t i = 0; i < last_axis.size(); ++i) {
      if (t != DType::F32 && i % 2) continue;
      NormLayout l = last_axis[i];
      int64_t d = l.x.back();
      auto flags = std::string(l.weight ? " weight" : "") + (l.bias ? " bias" : "") + " " +
                   view_name(effective_view(l.view, l.x));
      for (std::string values : {"typical", "offset"}) {
      cases.push_back({"norm", case_name("norm", "layer_norm", dtype_str(t) + " " + shape_str_of(l.x) + flags + " " + values), {t},
                       [=](Context& cx) {
                         Input x = make_input(cx, t, l.x, values == "offset" ? Domain::range(100, 103) : Domain::range(-2, 3), l.view);
                         Input w = make_input(cx, t, {d}, Domain::range(0.5, 1.5));
                         Input b = make_input(cx, t, {d}, Domain::range(-1, 1));
                         ref::NDArray want = ref::layer_norm(x.ref, l.weight ? &w.ref : nullptr,
                                                             l.bias ? &b.ref : nullptr, 1e-5);
                         Tensor got = nn::layer_norm(x.t, l.weight ? w.t : Tensor(), l.bias ? b.t : Tensor(), 1e-5);
                         return compare(want, got, norm_tolerance(t, values));
                       }});
      cases.push_back({"norm", case_name("norm", "rms_norm", dtype_str(t) + " " + shape_str_of(l.x) + flags + " " + values), {t},
                       [=](Context& cx) {
                         Input x = make_input(cx, t, l.x, values == "offset" ? Domain::range(100, 103) : Domain::range(-2, 3), l.view);
                         Input w = make_input(cx, t, {d}, Domain::range(0.5, 1.5));
                         ref::NDArray want = ref::rms_norm(x.ref, l.weight ? &w.ref : nullptr, 1e-6);
                         Tensor got = nn::rms_norm(x.t, l.weight ? w.t : Tensor(), 1e-6);
                         return compare(want, got, norm_tolerance(t, values));
                       }});
      }
    }
  }
  struct GroupLayout {
    Shape x;
    int64_t groups;
    bool affine;
    View view;
  };
  const std::vector<GroupLayout> group{
      {{2, 8, 4, 4}, 4, true, View::Contiguous}, {{1, 6, 10}, 3, false, View::Contiguous},
      {{2, 4, 1, 1}, 2, true, View::Contiguous}, {{1, 32, 8, 8}, 32, true, View::Permuted},
      {{1, 64, 16, 16}, 32, true, View::Contiguous},  // SD-like: 32 groups
      {{2, 6, 5, 3}, 1, true, View::Strided},
  };
  for (DType t : float_dtypes()) {
    for (size_t i = 0; i < group.size(); ++i) {
      if (t != DType::F32 && i % 2) continue;
      GroupLayout l = group[i];
      std::string name = case_name("norm", "group_norm", dtype_str(t) + " " + shape_str_of(l.x) + " groups " +
                                                             std::to_string(l.groups) + (l.affine ? " affine " : " ") +
                                                             view_name(effective_view(l.view, l.x)));
      for (std::string values : {"typical", "offset"}) {
      cases.push_back({"norm", name + " " + values, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, l.x, values == "offset" ? Domain::range(100, 103) : Domain::range(-2, 3), l.view);
                         Input w = make_input(cx, t, {l.x[1]}, Domain::range(0.5, 1.5));
                         Input b = make_input(cx, t, {l.x[1]}, Domain::range(-1, 1));
                         ref::NDArray want = ref::group_norm(x.ref, l.groups, l.affine ? &w.ref : nullptr,
                                                             l.affine ? &b.ref : nullptr, 1e-5);
                         Tensor got = nn::group_norm(x.t, l.groups, l.affine ? w.t : Tensor(),
                                                     l.affine ? b.t : Tensor(), 1e-5);
                         return compare(want, got, norm_tolerance(t, values));
                       }});
      }
    }
  }
}

}  // namespace kiln::opsuite
