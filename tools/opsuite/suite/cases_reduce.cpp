// Reductions: sum prod max min mean var argmax argmin over axis sets (negative, several, all),
// keepdim, rank 0, empty and size-1 dims, long rows, and non-contiguous inputs.
#include <cmath>

#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

struct ReduceLayout {
  Shape shape;
  std::vector<int> axes;
  bool keepdim;
  View view;
  bool empty_axis = false;  // reduces a zero-size axis (max/min/arg* are undefined there)
};

const std::vector<ReduceLayout>& long_layouts() {
  static const std::vector<ReduceLayout> v{
      {{33, 17}, {}, false, View::Contiguous},
      {{33, 17}, {1}, false, View::Contiguous},
      {{33, 17}, {0}, true, View::Contiguous},
      {{2, 3, 4, 5}, {1, 3}, false, View::Permuted},
      {{2, 3, 4, 5}, {-1}, true, View::Strided},
      {{2, 3, 4}, {0, 1, 2}, true, View::Flipped},
      {{7}, {0}, false, View::Contiguous},
      {{}, {}, false, View::Contiguous},
      {{4, 0, 3}, {2}, false, View::Contiguous},
      {{4, 0, 3}, {1}, true, View::Contiguous, true},
      {{1, 5, 1}, {0, 2}, false, View::Shrunk},
      {{3, 1000}, {1}, false, View::Contiguous},
      {{2, 6, 5}, {-2}, true, View::Padded},
      {{2, 3, 4}, {0}, false, View::Expanded},
  };
  return v;
}

std::string detail(DType t, const ReduceLayout& l) {
  std::string s = dtype_str(t) + " " + shape_str_of(l.shape) + " axes(";
  for (size_t i = 0; i < l.axes.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(l.axes[i]);
  }
  s += l.keepdim ? ") keepdim " : ") ";
  s += view_name(effective_view(l.view, l.shape));
  return s;
}

// Float sums round once at the end in the reference; the device may add in any order in f32:
// allow 1e-5 of the sum of |terms| plus one rounding of the result.
Tolerance sum_tolerance(DType t) {
  if (!ref::is_float_type(t)) return exact();
  return {ref::epsilon(t), 0, 1e-5};
}

enum class Op { Sum, Prod, Max, Min, Mean, Var, Var0, Argmax, Argmin };

const char* op_name(Op op) {
  static const char* n[] = {"sum", "prod", "max", "min", "mean", "var", "var_c0", "argmax", "argmin"};
  return n[static_cast<int>(op)];
}

Outcome run(Context& cx, Op op, DType t, const ReduceLayout& l, const Domain& d) {
  Input x = make_input(cx, t, l.shape, d, l.view);
  const std::vector<int>& ax = l.axes;
  switch (op) {
    case Op::Sum: {
      ref::NDArray mag = ref::abs_sum(x.ref, ax, l.keepdim);
      return compare(ref::sum(x.ref, ax, l.keepdim), x.t.sum(ax, l.keepdim), sum_tolerance(t), &mag);
    }
    case Op::Prod:
      return compare(ref::prod(x.ref, ax, l.keepdim), x.t.prod(ax, l.keepdim),
                     ref::is_float_type(t) ? Tolerance{t == DType::F32 ? 1e-4 : 2 * ref::epsilon(t), 0, 0}
                                           : exact());
    case Op::Max: return compare(ref::max(x.ref, ax, l.keepdim), x.t.max(ax, l.keepdim), exact());
    case Op::Min: return compare(ref::min(x.ref, ax, l.keepdim), x.t.min(ax, l.keepdim), exact());
    case Op::Mean: {
      ref::NDArray mag = ref::mean(ref::unary(ref::Unary::Abs, x.ref), ax, l.keepdim);
      return compare(ref::mean(x.ref, ax, l.keepdim), x.t.mean(ax, l.keepdim), sum_tolerance(t), &mag);
    }
    case Op::Var: case Op::Var0: {
      int64_t c = op == Op::Var ? 1 : 0;
      // Relative to the variance itself, plus 1e-8 of the mean square: a two-pass (or Welford)
      // variance meets this when the mean is far from 0; E[x^2] - E[x]^2 in f32 does not.
      ref::NDArray sq = ref::binary(ref::Binary::Mul, ref::cast(x.ref, DType::F64), ref::cast(x.ref, DType::F64));
      ref::NDArray mag = ref::mean(sq, ax, l.keepdim);
      return compare(ref::var(x.ref, ax, l.keepdim, c), x.t.var(ax, l.keepdim, c),
                     {t == DType::F32 ? 1e-4 : 2 * ref::epsilon(t), 0, 1e-8}, &mag);
    }
    case Op::Argmax:
      return compare(ref::argmax(x.ref, ax.at(0), l.keepdim), x.t.argmax(ax.at(0), l.keepdim), exact());
    case Op::Argmin:
      return compare(ref::argmin(x.ref, ax.at(0), l.keepdim), x.t.argmin(ax.at(0), l.keepdim), exact());
  }
  return {};
}

void add(CaseList& cases, Op op, DType t, const ReduceLayout& l, const Domain& d,
         const std::string& values) {
  std::string name = case_name("reduce", op_name(op), detail(t, l) + (values.empty() ? "" : " " + values));
  cases.push_back({"reduce", name, {t},
                   [=](Context& cx) { return run(cx, op, t, l, d); }});
}

// Values from a handful so that ties (first index wins) are common.
Domain tie_domain(DType t) {
  if (t == DType::Bool) return full_domain(t);
  return ref::is_float_type(t) ? Domain::whole_numbers(-3, 3) : Domain::range(0, 5);
}

}  // namespace

void add_reduce_cases(CaseList& cases) {
  // f32 and i32 compile six shapes/axes/views per op, other dtypes two, rotating through the
  // list; each kernel runs with two sets of values.
  for (size_t j = 0; j < all_dtypes().size(); ++j) {
    DType t = all_dtypes()[j];
    bool main = t == DType::F32 || t == DType::I32;
    Domain d = full_domain(t);
    if (ref::size_of(t) == 8) d = Domain::range(ref::is_unsigned_type(t) ? 0 : -0x1p30, 0x1p30);
    Domain positive = ref::is_float_type(t) ? Domain::range(0, 1e4) : Domain::range(0, 10);
    for (Op op : {Op::Sum, Op::Max, Op::Min}) {
      size_t start = 2 * j + (op == Op::Sum ? 0 : op == Op::Max ? 5 : 9);
      for (const ReduceLayout& l : rotate_pick(long_layouts(), main ? 6 : 2, start)) {
        if (l.empty_axis && op != Op::Sum) continue;  // max/min of nothing is undefined
        add(cases, op, t, l, d, "full-range");
        add(cases, op, t, l, op == Op::Sum ? positive : tie_domain(t), op == Op::Sum ? "positive" : "ties");
      }
    }
  }
  // Products of values near 1 stay finite; integer products wrap exactly.
  const std::vector<DType> prod_types{DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64};
  for (size_t j = 0; j < prod_types.size(); ++j) {
    DType t = prod_types[j];
    // (i64 products stay within +-1: a wrapped 64-bit product is not exact in a double.)
    Domain d = ref::is_float_type(t) ? Domain::range(0.5, 1.5)
               : t == DType::I64     ? Domain::range(-1, 1)
                                     : Domain::range(-3, 3);
    for (const ReduceLayout& l : rotate_pick(long_layouts(), t == DType::F32 ? 5 : 2, 3 * j))
      if (l.shape != Shape{3, 1000}) {
        add(cases, Op::Prod, t, l, d, "typical");
        add(cases, Op::Prod, t, l, ref::is_float_type(t) ? Domain::range(-1.1, 1.1) : Domain::range(-1, 1), "signs");
      }
  }
  for (size_t j = 0; j < float_dtypes().size(); ++j) {
    DType t = float_dtypes()[j];
    for (Op op : {Op::Mean, Op::Var, Op::Var0}) {
      size_t start = 4 * j + (op == Op::Mean ? 0 : op == Op::Var ? 3 : 7);
      for (const ReduceLayout& l : rotate_pick(long_layouts(), t == DType::F32 ? 5 : 2, start)) {
        if (l.empty_axis) continue;
        // A variance over one element with correction 1 (n - 1 = 0) is undefined.
        int64_t n = 1;
        const Shape& s = l.shape;
        if (l.axes.empty()) n = ref::numel_of(s);
        for (int a : l.axes) n *= s[a < 0 ? a + static_cast<int>(s.size()) : a];
        if (n == 0 || (op == Op::Var && n == 1)) continue;
        add(cases, op, t, l, Domain::range(-1, 3), "typical");
        add(cases, op, t, l, Domain::range(1000, 1010), "offset");  // mean far from 0
      }
    }
  }
  const std::vector<ReduceLayout> arg_layouts{
      {{33, 17}, {1}, false, View::Contiguous},
      {{33, 17}, {0}, true, View::Contiguous},
      {{2, 3, 4, 5}, {-1}, false, View::Strided},
      {{2, 3, 4, 5}, {1}, true, View::Permuted},
      {{7}, {0}, false, View::Flipped},
      {{3, 1000}, {1}, false, View::Contiguous},
  };
  for (size_t j = 0; j < all_dtypes().size(); ++j) {
    DType t = all_dtypes()[j];
    bool main = t == DType::F32 || t == DType::I32;
    for (Op op : {Op::Argmax, Op::Argmin}) {
      for (const ReduceLayout& l : rotate_pick(arg_layouts, main ? 4 : 1, j + (op == Op::Argmax ? 0 : 3))) {
        add(cases, op, t, l, tie_domain(t), "ties");  // the first extreme wins
        add(cases, op, t, l, full_domain(t), "full-range");
      }
    }
  }
  // one long row (a vocabulary of logits), which arg-reduces pad to rows of 1024 (-inf) and
  // reduce in two stages; 9000 is below the split
  const std::vector<ReduceLayout> vocab_rows{
      {{1, 128256}, {1}, false, View::Contiguous},
      {{50000}, {0}, true, View::Contiguous},
      {{1, 32000, 1}, {1}, false, View::Contiguous},
      {{16411}, {0}, false, View::Contiguous},
      {{9000}, {0}, false, View::Contiguous},
  };
  for (DType t : {DType::F32, DType::BF16})
    for (const ReduceLayout& l : vocab_rows)
      for (Op op : {Op::Argmax, Op::Argmin}) {
        add(cases, op, t, l, tie_domain(t), "ties");
        add(cases, op, t, l, full_domain(t), "full-range");
      }
}

}  // namespace kiln::opsuite
