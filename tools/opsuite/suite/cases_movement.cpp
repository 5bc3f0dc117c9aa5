// Movement ops (views in kiln: index math, no copies) on every dtype: reshape permute transpose
// expand pad shrink flip slice (steps, negative, clamped, empty) squeeze unsqueeze flatten,
// repeat cat stack, chains of views, and contiguous(). Results must match bit for bit.
#include <functional>

#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

using std::nullopt;
using RefFn = std::function<ref::NDArray(const ref::NDArray&)>;
using TensorFn = std::function<Tensor(const Tensor&)>;
using Pads = std::vector<std::pair<int64_t, int64_t>>;

struct MoveOp {
  std::string name;  // op and its arguments
  Shape in;
  View view;
  RefFn r;
  TensorFn f;
};

std::vector<MoveOp> single_ops(DType t) {
  double pv = ref::is_float_type(t) ? 1.5 : 1;  // a pad value every dtype holds
  std::vector<MoveOp> v{
      {"reshape (6, -1)", {2, 3, 4}, View::Contiguous,
       [](auto& a) { return ref::reshape(a, {6, -1}); }, [](auto& a) { return a.reshape({6, -1}); }},
      {"reshape (4, 6)", {2, 3, 4}, View::Permuted,
       [](auto& a) { return ref::reshape(a, {4, 6}); }, [](auto& a) { return a.reshape({4, 6}); }},
      {"reshape (3, 0)", {0, 3}, View::Contiguous,
       [](auto& a) { return ref::reshape(a, {3, 0}); }, [](auto& a) { return a.reshape({3, 0}); }},
      {"reshape (1, 1)", {}, View::Contiguous,
       [](auto& a) { return ref::reshape(a, {1, 1}); }, [](auto& a) { return a.reshape({1, 1}); }},
      {"reshape (5, 2, 3)", {3, 10}, View::Strided,
       [](auto& a) { return ref::reshape(a, {5, 2, 3}); }, [](auto& a) { return a.reshape({5, 2, 3}); }},
      {"permute (3, 1, 0, 2)", {2, 3, 4, 5}, View::Contiguous,
       [](auto& a) { return ref::permute(a, {3, 1, 0, 2}); }, [](auto& a) { return a.permute({3, 1, 0, 2}); }},
      {"permute (1, 0)", {5, 7}, View::Strided,
       [](auto& a) { return ref::permute(a, {1, 0}); }, [](auto& a) { return a.permute({1, 0}); }},
      {"transpose", {2, 3, 4}, View::Contiguous,
       [](auto& a) { return ref::transpose(a, -2, -1); }, [](auto& a) { return a.transpose(); }},
      {"transpose (0, 2)", {2, 3, 4}, View::Flipped,
       [](auto& a) { return ref::transpose(a, 0, 2); }, [](auto& a) { return a.transpose(0, 2); }},
      {"expand (2, 3, 4)", {3, 1}, View::Contiguous,
       [](auto& a) { return ref::expand(a, {2, 3, 4}); }, [](auto& a) { return a.expand({2, 3, 4}); }},
      {"expand (-1, 3, -1)", {4, 1, 2}, View::Flipped,
       [](auto& a) { return ref::expand(a, {-1, 3, -1}); }, [](auto& a) { return a.expand({-1, 3, -1}); }},
      {"expand (0)", {1}, View::Contiguous,
       [](auto& a) { return ref::expand(a, {0}); }, [](auto& a) { return a.expand({0}); }},
      {"pad ((1, 2), (0, 3))", {3, 4}, View::Contiguous,
       [=](auto& a) { return ref::pad(a, Pads{{1, 2}, {0, 3}}, pv); },
       [=](auto& a) { return a.pad(Pads{{1, 2}, {0, 3}}, pv); }},
      {"pad ((1, 1), (0, 0)) of empty", {0, 3}, View::Contiguous,
       [=](auto& a) { return ref::pad(a, Pads{{1, 1}, {0, 0}}, pv); },
       [=](auto& a) { return a.pad(Pads{{1, 1}, {0, 0}}, pv); }},
      {"pad ((2, 2))", {5}, View::Flipped,
       [](auto& a) { return ref::pad(a, Pads{{2, 2}}, 0); }, [](auto& a) { return a.pad(Pads{{2, 2}}); }},
      {"shrink ((1, 4), (2, 6))", {5, 6}, View::Contiguous,
       [](auto& a) { return ref::shrink(a, Pads{{1, 4}, {2, 6}}); },
       [](auto& a) { return a.shrink(Pads{{1, 4}, {2, 6}}); }},
      {"shrink ((2, 2), (0, 6))", {5, 6}, View::Permuted,
       [](auto& a) { return ref::shrink(a, Pads{{2, 2}, {0, 6}}); },
       [](auto& a) { return a.shrink(Pads{{2, 2}, {0, 6}}); }},
      {"flip (0)", {4, 5}, View::Contiguous,
       [](auto& a) { return ref::flip(a, {0}); }, [](auto& a) { return a.flip({0}); }},
      {"flip (0, 1, 2)", {2, 3, 4}, View::Strided,
       [](auto& a) { return ref::flip(a, {0, 1, 2}); }, [](auto& a) { return a.flip({0, 1, 2}); }},
      {"flip (-1)", {3, 5}, View::Padded,
       [](auto& a) { return ref::flip(a, {-1}); }, [](auto& a) { return a.flip({-1}); }},
      {"slice [::-3]", {10}, View::Contiguous,
       [](auto& a) { return ref::slice(a, 0, nullopt, nullopt, -3); },
       [](auto& a) { return a.slice(0, nullopt, nullopt, -3); }},
      {"slice [8:2:-2]", {10}, View::Contiguous,
       [](auto& a) { return ref::slice(a, 0, 8, 2, -2); }, [](auto& a) { return a.slice(0, 8, 2, -2); }},
      {"slice [-3:]", {10}, View::Flipped,
       [](auto& a) { return ref::slice(a, 0, -3, nullopt, 1); }, [](auto& a) { return a.slice(0, -3, nullopt); }},
      {"slice [100:-100:-1]", {10}, View::Contiguous,
       [](auto& a) { return ref::slice(a, 0, 100, -100, -1); }, [](auto& a) { return a.slice(0, 100, -100, -1); }},
      {"slice [5:2] empty", {10}, View::Contiguous,
       [](auto& a) { return ref::slice(a, 0, 5, 2, 1); }, [](auto& a) { return a.slice(0, 5, 2); }},
      {"slice axis 1 [1::2]", {4, 9}, View::Contiguous,
       [](auto& a) { return ref::slice(a, 1, 1, nullopt, 2); }, [](auto& a) { return a.slice(1, 1, nullopt, 2); }},
      {"slice axis -1 [::-1]", {2, 3, 4}, View::Permuted,
       [](auto& a) { return ref::slice(a, -1, nullopt, nullopt, -1); },
       [](auto& a) { return a.slice(-1, nullopt, nullopt, -1); }},
      {"slice axis 0 [1:9:3]", {10, 2}, View::Strided,
       [](auto& a) { return ref::slice(a, 0, 1, 9, 3); }, [](auto& a) { return a.slice(0, 1, 9, 3); }},
      {"squeeze", {1, 5, 1}, View::Contiguous,
       [](auto& a) { return ref::squeeze(a, nullopt); }, [](auto& a) { return a.squeeze(); }},
      {"squeeze -1", {1, 5, 1}, View::Shrunk,
       [](auto& a) { return ref::squeeze(a, -1); }, [](auto& a) { return a.squeeze(-1); }},
      {"unsqueeze 1", {3, 4}, View::Contiguous,
       [](auto& a) { return ref::unsqueeze(a, 1); }, [](auto& a) { return a.unsqueeze(1); }},
      {"unsqueeze -1", {3, 4}, View::Permuted,
       [](auto& a) { return ref::unsqueeze(a, -1); }, [](auto& a) { return a.unsqueeze(-1); }},
      {"unsqueeze 0 of scalar", {}, View::Contiguous,
       [](auto& a) { return ref::unsqueeze(a, 0); }, [](auto& a) { return a.unsqueeze(0); }},
      {"flatten (1, -1)", {2, 3, 4}, View::Contiguous,
       [](auto& a) { return ref::flatten(a, 1, -1); }, [](auto& a) { return a.flatten(1, -1); }},
      {"flatten", {2, 3, 4}, View::Permuted,
       [](auto& a) { return ref::flatten(a, 0, -1); }, [](auto& a) { return a.flatten(); }},
      {"repeat (2, 1, 3)", {2, 3}, View::Contiguous,
       [](auto& a) { return ref::repeat(a, {2, 1, 3}); }, [](auto& a) { return a.repeat({2, 1, 3}); }},
      {"repeat (2, 2)", {3}, View::Flipped,
       [](auto& a) { return ref::repeat(a, {2, 2}); }, [](auto& a) { return a.repeat({2, 2}); }},
      {"contiguous", {3, 4, 5}, View::Permuted,
       [](auto& a) { return a; }, [](auto& a) { return a.contiguous(); }},
      // Chains of views: each op reads through the one before.
      {"pad.permute.slice.expand", {3, 4}, View::Contiguous,
       [=](auto& a) {
         auto p = ref::permute(ref::pad(a, Pads{{1, 1}, {0, 2}}, pv), {1, 0});
         return ref::expand(ref::unsqueeze(ref::slice(p, 0, nullopt, nullopt, -2), 0), {2, 3, 5});
       },
       [=](auto& a) {
         return a.pad(Pads{{1, 1}, {0, 2}}, pv).permute({1, 0}).slice(0, nullopt, nullopt, -2)
             .unsqueeze(0).expand({2, 3, 5});
       }},
      {"flip.shrink.reshape.permute", {4, 6}, View::Strided,
       [](auto& a) {
         auto s = ref::shrink(ref::flip(a, {1}), Pads{{1, 3}, {0, 6}});
         return ref::permute(ref::reshape(s, {2, 3, 2}), {2, 0, 1});
       },
       [](auto& a) { return a.flip({1}).shrink(Pads{{1, 3}, {0, 6}}).reshape({2, 3, 2}).permute({2, 0, 1}); }},
      {"expand.reshape.slice", {3, 1}, View::Contiguous,
       [](auto& a) { return ref::slice(ref::reshape(ref::expand(a, {3, 4}), {12}), 0, 1, nullopt, 5); },
       [](auto& a) { return a.expand({3, 4}).reshape({12}).slice(0, 1, nullopt, 5); }},
  };
  return v;
}

struct MultiOp {
  std::string name;
  std::vector<Shape> in;
  std::vector<View> views;
  bool stack;
  int axis;
};

const std::vector<MultiOp>& multi_ops() {
  static const std::vector<MultiOp> v{
      {"cat axis 1", {{2, 3}, {2, 1}, {2, 0}}, {View::Contiguous, View::Contiguous, View::Contiguous}, false, 1},
      {"cat axis 0", {{1, 4}, {3, 4}}, {View::Permuted, View::Strided}, false, 0},
      {"cat axis -1", {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}, {View::Flipped, View::Contiguous, View::Expanded}, false, -1},
      {"cat axis 0 1-D", {{5}, {1}}, {View::Contiguous, View::Contiguous}, false, 0},
      {"stack axis 0", {{3, 4}, {3, 4}, {3, 4}}, {View::Contiguous, View::Padded, View::Contiguous}, true, 0},
      {"stack axis -1", {{3, 4}, {3, 4}}, {View::Contiguous, View::Permuted}, true, -1},
      {"stack of scalars", {{}, {}}, {View::Contiguous, View::Contiguous}, true, 0},
  };
  return v;
}

}  // namespace

void add_movement_cases(CaseList& cases) {
  for (size_t j = 0; j < all_dtypes().size(); ++j) {
    DType t = all_dtypes()[j];
    // Every op on f32; a third of them on one dtype of each other element size (and bool),
    // a few on the rest — rotating, so each op meets several element sizes.
    bool representative = t == DType::I8 || t == DType::F16 || t == DType::I64 || t == DType::Bool;
    std::vector<MoveOp> all = single_ops(t);
    std::vector<MoveOp> ops = t == DType::F32 ? all
                              : representative ? rotate_pick(all, all.size() / 3, 11 * j)
                                               : rotate_pick(all, 3, 7 * j);
    bool full = t == DType::F32 || representative;
    for (const MoveOp& op : ops) {
      std::string name = case_name("movement", op.name, dtype_str(t) + " " + shape_str_of(op.in) + " " +
                                                           view_name(effective_view(op.view, op.in)));
      MoveOp o = op;
      cases.push_back({"movement", name, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, o.in, full_domain(t), o.view);
                         return compare(o.r(x.ref), o.f(x.t), exact());
                       }});
    }
    for (const MultiOp& op : multi_ops()) {
      if (!full && op.name != "cat axis 1") continue;
      if (t != DType::F32 && t != DType::I8 && op.name != "cat axis 1" && op.name != "stack axis 0") continue;
      std::string name = case_name("movement", op.name, dtype_str(t));
      MultiOp o = op;
      cases.push_back({"movement", name, {t}, [=](Context& cx) {
                         std::vector<ref::NDArray> refs;
                         std::vector<Tensor> ts;
                         for (size_t i = 0; i < o.in.size(); ++i) {
                           Input x = make_input(cx, t, o.in[i], full_domain(t), o.views[i]);
                           refs.push_back(x.ref);
                           ts.push_back(x.t);
                         }
                         ref::NDArray want = o.stack ? ref::stack(refs, o.axis) : ref::cat(refs, o.axis);
                         return compare(want, o.stack ? Tensor::stack(ts, o.axis) : Tensor::cat(ts, o.axis),
                                        exact());
                       }});
    }
  }
}

}  // namespace kiln::opsuite
