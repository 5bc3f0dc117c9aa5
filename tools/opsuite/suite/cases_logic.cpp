// Comparisons (bool results), bitwise ops and shifts, where, clamp.
#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

using ref::Binary;

Tensor apply(Binary op, const Tensor& a, const Tensor& b) {
  switch (op) {
    case Binary::And: return a.bitwise_and(b);
    case Binary::Or: return a.bitwise_or(b);
    case Binary::Xor: return a.bitwise_xor(b);
    case Binary::Shl: return a.shl(b);
    case Binary::Shr: return a.shr(b);
    case Binary::Lt: return a.lt(b);
    case Binary::Le: return a.le(b);
    case Binary::Gt: return a.gt(b);
    case Binary::Ge: return a.ge(b);
    case Binary::Eq: return a.eq(b);
    default: return a.ne(b);
  }
}

void add(CaseList& cases, Binary op, DType t, const PairLayout& l, Domain da, Domain db,
         const std::string& tag = "") {
  std::string name =
      case_name("logic", ref::binary_name(op), dtype_str(t) + " " + layout_str(l) + tag);
  cases.push_back({"logic", name, {t}, [=](Context& cx) {
                     Input a = make_input(cx, t, l.a, da, l.va);
                     Input b = make_input(cx, t, l.b, db, l.vb);
                     return compare(ref::binary(op, a.ref, b.ref), apply(op, a.t, b.t), exact());
                   }});
}

// Values from a handful so that equal pairs are common.
Domain few_values(DType t) {
  if (ref::is_float_type(t)) return Domain::whole_numbers(-3, 3);
  if (t == DType::Bool) return full_domain(t);
  return ref::is_unsigned_type(t) ? Domain::range(0, 4) : Domain::range(-3, 3);
}

}  // namespace

void add_logic_cases(CaseList& cases) {
  const std::vector<PairLayout> two{
      {{3, 5}, {5}, View::Contiguous, View::Contiguous},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, View::Strided, View::Permuted},
  };
  for (Binary op : {Binary::Lt, Binary::Le, Binary::Gt, Binary::Ge, Binary::Eq, Binary::Ne}) {
    for (DType t : all_dtypes()) {
      bool main = t == DType::F32 || t == DType::I32;
      for (const PairLayout& l : main ? binary_layouts_short() : two)
        add(cases, op, t, l, few_values(t), few_values(t));
      // Full-range values: ordering of large and negative numbers (unsigned ones above 2^31).
      add(cases, op, t, two[0], full_domain(t), full_domain(t), " full-range");
    }
  }
  std::vector<DType> bit_types = int_dtypes();
  bit_types.push_back(DType::Bool);
  for (Binary op : {Binary::And, Binary::Or, Binary::Xor})
    for (DType t : bit_types)
      for (const PairLayout& l : {two[0], two[1], binary_layouts_short()[4]})
        add(cases, op, t, l, full_domain(t), full_domain(t));
  for (Binary op : {Binary::Shl, Binary::Shr})
    for (DType t : int_dtypes())
      for (const PairLayout& l : {two[0], two[1], binary_layouts_short()[1]})
        add(cases, op, t, l, full_domain(t), Domain::range(0, ref::bit_width(t) - 1));

  // where(cond, a, b): cond, a and b broadcast against each other.
  struct WhereLayout {
    Shape c, a, b;
    View vc;
  };
  const std::vector<WhereLayout> where_layouts{
      {{3, 5}, {3, 5}, {3, 5}, View::Contiguous},
      {{3, 1}, {5}, {}, View::Contiguous},
      {{2, 3, 4}, {3, 4}, {2, 1, 4}, View::Permuted},
  };
  for (DType t : all_dtypes()) {
    for (const WhereLayout& l : where_layouts) {
      std::string name = case_name("logic", "where", dtype_str(t) + " " + shape_str_of(l.c) + "?" +
                                                         shape_str_of(l.a) + ":" + shape_str_of(l.b));
      cases.push_back({"logic", name, {t}, [=](Context& cx) {
                         Input c = make_input(cx, DType::Bool, l.c, full_domain(DType::Bool), l.vc);
                         Input a = make_input(cx, t, l.a, full_domain(t));
                         Input b = make_input(cx, t, l.b, full_domain(t));
                         return compare(ref::where(c.ref, a.ref, b.ref), Tensor::where(c.t, a.t, b.t),
                                        exact());
                       }});
    }
  }
  // A non-bool condition is cast to bool (nonzero is true).
  for (DType ct : {DType::F32, DType::I32, DType::U8}) {
    std::string name = case_name("logic", "where", "cond " + dtype_str(ct) + " (4, 6)");
    cases.push_back({"logic", name, {ct}, [=](Context& cx) {
                       Input c = make_input(cx, ct, {4, 6}, few_values(ct));
                       Input a = make_input(cx, DType::F32, {4, 6});
                       Input b = make_input(cx, DType::F32, {4, 6});
                       return compare(ref::where(c.ref, a.ref, b.ref), c.t.where(a.t, b.t), exact());
                     }});
  }
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::U8, DType::I64}) {
    for (auto bounds : std::vector<std::pair<double, double>>{{-1, 2}, {0, 0}}) {
      double lo = ref::is_unsigned_type(t) ? 0.0 : bounds.first;  // a bound the dtype can hold
      double hi = bounds.second;
      std::string name = case_name("logic", "clamp", dtype_str(t) + " [" + std::to_string(lo) + ", " +
                                                         std::to_string(hi) + "] (33, 17)");
      cases.push_back({"logic", name, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, {33, 17}, ref::is_float_type(t) ? Domain::range(-3, 3)
                                                                                   : Domain::range(-5, 5));
                         return compare(ref::clamp(x.ref, lo, hi), x.t.clamp(lo, hi), exact());
                       }});
    }
  }
}

}  // namespace kiln::opsuite
