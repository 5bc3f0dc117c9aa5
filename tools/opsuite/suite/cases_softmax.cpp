// softmax and log_softmax along any axis, cumsum (every dtype), topk (values and indices).
#include <algorithm>
#include <numeric>

#include "cases.h"
#include "layouts.h"
#include "reference/lines.h"

namespace kiln::opsuite {

namespace {

struct AxisLayout {
  Shape shape;
  int axis;
  View view;
};

const std::vector<AxisLayout>& softmax_layouts() {
  static const std::vector<AxisLayout> v{
      {{33, 17}, -1, View::Contiguous}, {{33, 17}, 0, View::Contiguous},
      {{2, 3, 4, 5}, 1, View::Permuted}, {{2, 3, 4, 5}, -1, View::Strided},
      {{7}, 0, View::Flipped},           {{4, 1}, -1, View::Contiguous},
      {{3, 1000}, 1, View::Contiguous},  {{0, 5}, -1, View::Contiguous},
      {{2, 6}, 1, View::Padded},
  };
  return v;
}

std::string detail(DType t, const AxisLayout& l) {
  return dtype_str(t) + " " + shape_str_of(l.shape) + " axis " + std::to_string(l.axis) + " " +
         view_name(effective_view(l.view, l.shape));
}

}  // namespace

void add_softmax_cases(CaseList& cases) {
  for (size_t j = 0; j < float_dtypes().size(); ++j) {
    DType t = float_dtypes()[j];
    // Several exp/sum/div steps, each may round in the storage dtype between kernels.
    Tolerance tol{t == DType::F32 ? 1e-5 : 4 * ref::epsilon(t), 1e-6, 0};
    Tolerance ltol{t == DType::F32 ? 1e-5 : 4 * ref::epsilon(t), t == DType::F32 ? 1e-5 : 8 * ref::epsilon(t), 0};
    for (bool log : {false, true}) {
      auto layouts = t == DType::F32 ? softmax_layouts() : rotate_pick(softmax_layouts(), 3, 3 * j + (log ? 1 : 0));
      for (const AxisLayout& l : layouts) {
        for (const auto& [values, d] : std::vector<std::pair<std::string, Domain>>{
                 {"typical", Domain::range(-8, 8)}, {"wide", Domain::range(-60, 60)}}) {
          Domain dom = d;
          std::string name = case_name("softmax", log ? "log_softmax" : "softmax", detail(t, l) + " " + values);
          cases.push_back({"softmax", name, {t}, [=](Context& cx) {
                             Input x = make_input(cx, t, l.shape, dom, l.view);
                             if (log) return compare(ref::log_softmax(x.ref, l.axis), x.t.log_softmax(l.axis), ltol);
                             return compare(ref::softmax(x.ref, l.axis), x.t.softmax(l.axis), tol);
                           }});
        }
      }
    }
  }
  // Large logits: softmax must subtract the maximum first.
  cases.push_back({"softmax", "softmax/softmax f32 large logits (4, 50)", {DType::F32}, [](Context& cx) {
                     Input x = make_input(cx, DType::F32, {4, 50}, Domain::range(500, 1000));
                     return compare(ref::softmax(x.ref, -1), x.t.softmax(-1), {1e-5, 1e-6, 0});
                   }});

  const std::vector<AxisLayout> cumsum_layouts{
      {{33, 17}, 1, View::Contiguous}, {{33, 17}, 0, View::Contiguous},
      {{2, 3, 4, 5}, -1, View::Strided}, {{2, 3, 4}, 1, View::Permuted},
      {{7}, 0, View::Flipped},          {{1000}, 0, View::Contiguous},
      {{0, 4}, 1, View::Contiguous},
  };
  for (DType t : all_dtypes()) {
    bool main = t == DType::F32 || t == DType::I32;
    for (size_t i = 0; i < (main ? cumsum_layouts.size() : 2); ++i) {
      AxisLayout l = cumsum_layouts[i];
      Domain d = full_domain(t);
      if (ref::size_of(t) == 8) d = Domain::range(ref::is_unsigned_type(t) ? 0 : -0x1p30, 0x1p30);
      Domain positive = ref::is_float_type(t) ? Domain::range(0, 1e4) : Domain::range(0, 10);
      for (const auto& [values, dom] : std::vector<std::pair<std::string, Domain>>{{"full-range", d}, {"positive", positive}}) {
      Domain vd = dom;
      cases.push_back({"softmax", case_name("softmax", "cumsum", detail(t, l) + " " + values), {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, l.shape, vd, l.view);
                         ref::NDArray mag = ref::cumsum(ref::unary(ref::Unary::Abs, ref::cast(x.ref, DType::F64)), l.axis);
                         Tolerance tol = ref::is_float_type(t) ? Tolerance{ref::epsilon(t), 0, 1e-5} : exact();
                         return compare(ref::cumsum(x.ref, l.axis), x.t.cumsum(l.axis), tol, &mag);
                       }});
      }
    }
  }

  // topk: distinct values (ties would make the order of equal values a matter of convention).
  struct TopkLayout {
    Shape shape;
    int64_t k;
    int axis;
  };
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::U8, DType::I64}) {
    for (const TopkLayout& l : {TopkLayout{{4, 50}, 5, -1}, TopkLayout{{50, 3}, 1, 0},
                                TopkLayout{{2, 3, 20}, 20, -1}, TopkLayout{{1, 100}, 0, 1},
                                TopkLayout{{6, 40}, 40, 1}}) {
      if (t != DType::F32 && l.shape != Shape{4, 50} && l.shape != Shape{2, 3, 20}) continue;
      std::string name = case_name("softmax", "topk", dtype_str(t) + " " + shape_str_of(l.shape) + " k=" +
                                                          std::to_string(l.k) + " axis " + std::to_string(l.axis));
      cases.push_back({"softmax", name, {t}, [=](Context& cx) {
                         // Every line along the axis holds a shuffled 0..n-1, scaled into the dtype.
                         ref::NDArray base(t, l.shape);
                         int axis = l.axis < 0 ? l.axis + static_cast<int>(l.shape.size()) : l.axis;
                         ref::for_each_line(l.shape, axis, [&](const std::vector<int64_t>& off) {
                           std::vector<double> v(off.size());
                           std::iota(v.begin(), v.end(), 0.0);
                           for (size_t j = v.size(); j > 1; --j)
                             std::swap(v[j - 1], v[static_cast<size_t>(cx.rng.integer(0, static_cast<int64_t>(j) - 1))]);
                           for (size_t j = 0; j < off.size(); ++j)
                             base.data[static_cast<size_t>(off[j])] = ref::is_float_type(t) ? v[j] * 0.25 - 3 : v[j];
                         });
                         Input in = make_input(cx, base);
                         auto [values, indices] = ref::topk(in.ref, l.k, l.axis);
                         auto [tv, ti] = in.t.topk(l.k, l.axis);
                         Outcome o = compare(values, tv, exact());
                         if (o.status != Status::Passed) return o;
                         return compare(indices, ti, exact());
                       }});
    }
  }
}

}  // namespace kiln::opsuite
