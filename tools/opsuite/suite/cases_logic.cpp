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
         const std::string& tag) {
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
  // Each (op, dtype) compiles a few shapes/views (rotating through the list), each run with two
  // sets of values: a handful (equal pairs are common) and the full range (ordering of large,
  // negative and, for unsigned types, above-2^31 values).
  const std::vector<Binary> cmp{Binary::Lt, Binary::Le, Binary::Gt, Binary::Ge, Binary::Eq, Binary::Ne};
  for (size_t k = 0; k < cmp.size(); ++k) {
    for (size_t j = 0; j < all_dtypes().size(); ++j) {
      DType t = all_dtypes()[j];
      bool main = t == DType::F32 || t == DType::I32;
      for (const PairLayout& l : rotate_pick(binary_layouts(), main ? 3 : 1, 3 * k + j)) {
        add(cases, cmp[k], t, l, few_values(t), few_values(t), " few-values");
        add(cases, cmp[k], t, l, full_domain(t), full_domain(t), " full-range");
      }
    }
  }
  std::vector<DType> bit_types = int_dtypes();
  bit_types.push_back(DType::Bool);
  const std::vector<Binary> bitwise{Binary::And, Binary::Or, Binary::Xor};
  for (size_t k = 0; k < bitwise.size(); ++k) {
    for (size_t j = 0; j < bit_types.size(); ++j) {
      DType t = bit_types[j];
      for (const PairLayout& l : rotate_pick(binary_layouts(), 2, 2 * k + 3 * j)) {
        add(cases, bitwise[k], t, l, full_domain(t), full_domain(t), " full-range");
        if (t != DType::Bool) add(cases, bitwise[k], t, l, few_values(t), few_values(t), " few-values");
      }
    }
  }
  for (Binary op : {Binary::Shl, Binary::Shr}) {
    for (size_t j = 0; j < int_dtypes().size(); ++j) {
      DType t = int_dtypes()[j];
      Domain a = full_domain(t), s = Domain::range(0, ref::bit_width(t) - 1);
      if (ref::size_of(t) == 8 && op == Binary::Shl) {  // 64-bit results stay exact in a double
        a = Domain::range(ref::is_unsigned_type(t) ? 0 : -0x1p20, 0x1p20);
        s = Domain::range(0, 32);
      }
      for (const PairLayout& l : rotate_pick(binary_layouts(), 2, 5 * j + (op == Binary::Shl ? 0 : 1))) {
        add(cases, op, t, l, a, s, " full-range");
        add(cases, op, t, l, few_values(t), Domain::range(0, 3), " small");
      }
    }
  }

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
  for (size_t j = 0; j < all_dtypes().size(); ++j) {
    DType t = all_dtypes()[j];
    for (const WhereLayout& l : rotate_pick(where_layouts, 2, j)) {
      for (bool few : {false, true}) {
      std::string name = case_name("logic", "where", dtype_str(t) + " " + shape_str_of(l.c) + "?" +
                                                         shape_str_of(l.a) + ":" + shape_str_of(l.b) +
                                                         (few ? " few-values" : " full-range"));
      cases.push_back({"logic", name, {t}, [=](Context& cx) {
                         Input c = make_input(cx, DType::Bool, l.c, full_domain(DType::Bool), l.vc);
                         Input a = make_input(cx, t, l.a, few ? few_values(t) : full_domain(t));
                         Input b = make_input(cx, t, l.b, few ? few_values(t) : full_domain(t));
                         return compare(ref::where(c.ref, a.ref, b.ref), Tensor::where(c.t, a.t, b.t),
                                        exact());
                       }});
      }
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
