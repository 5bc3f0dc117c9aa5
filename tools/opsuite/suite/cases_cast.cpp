// cast between every pair of dtypes (float->int truncates, int->int wraps, ->bool is != 0),
// bitcast between same-size dtypes, and IEEE special values (inf, nan, -0, subnormals).
#include <cmath>

#include "cases.h"
#include "layouts.h"

namespace kiln::opsuite {

namespace {

// Inputs whose conversion is defined: float sources stay inside an integer target's range.
Domain cast_domain(DType from, DType to) {
  if (from == DType::Bool) return full_domain(from);
  if (to == DType::Bool)
    return ref::is_float_type(from) ? Domain::whole_numbers(-2, 2) : Domain::range(-2, 2);
  if (ref::is_float_type(from) && !ref::is_float_type(to))
    return Domain::range(std::max(ref::int_min(to) + 1, -300.0), std::min(ref::int_max(to) - 1, 300.0));
  if (ref::is_float_type(from)) return Domain::range(-100, 100);
  return full_domain(from);
}

// A second set of values for the same kernel.
Domain other_cast_domain(DType from, DType to) {
  if (to == DType::Bool) return full_domain(from);
  if (ref::is_float_type(from) && !ref::is_float_type(to))  // fractions truncate toward zero
    return ref::is_unsigned_type(to) ? Domain::range(-0.99, 2.9) : Domain::range(-2.9, 2.9);
  if (ref::is_float_type(from)) return Domain::range(-1e5, 1e5);  // overflows f16
  return Domain::range(-10, 10);
}

ref::NDArray specials(DType t, bool second) {
  const double big = 3.4e38;
  std::vector<double> a{INFINITY, -INFINITY, NAN, -0.0, 0.0, 1e-40, big, 1, -1, 2, 70000, 1e-8};
  std::vector<double> b{1, INFINITY, 2, 0.0, -0.0, 1e-40, big, NAN, -INFINITY, 0, -3, 1e-8};
  return ref::NDArray(t, {12}, second ? b : a);
}

}  // namespace

void add_cast_cases(CaseList& cases) {
  const std::vector<Layout> layouts{{{3, 5}, View::Contiguous}, {{2, 3, 4}, View::Strided},
                                    {{4, 6}, View::Padded},        {{2, 3, 4}, View::Permuted},
                                    {{33, 17}, View::Contiguous},  {{}, View::Contiguous},
                                    {{2, 3, 4}, View::Flipped}};
  for (size_t i = 0; i < all_dtypes().size(); ++i) {
    for (size_t j = 0; j < all_dtypes().size(); ++j) {
      DType from = all_dtypes()[i], to = all_dtypes()[j];
      if (from == to) continue;
      Layout l = layouts[(i * 5 + j) % layouts.size()];
      std::string pair = dtype_str(from) + "->" + dtype_str(to) + " " + layout_str(l);
      std::vector<std::pair<std::string, Domain>> value_sets{{"typical", cast_domain(from, to)}};
      if (from != DType::Bool) value_sets.push_back({"other", other_cast_domain(from, to)});
      for (const auto& [values, d] : value_sets) {
        Domain dom = d;
        cases.push_back({"cast", case_name("cast", "cast", pair + " " + values), {from, to}, [=](Context& cx) {
                           Input x = make_input(cx, from, l.shape, dom, l.view);
                           return compare(ref::cast(x.ref, to), x.t.cast(to), exact());
                         }});
      }
    }
  }
  const std::vector<std::vector<DType>> same_size{
      {DType::I8, DType::U8},
      {DType::I16, DType::U16, DType::F16, DType::BF16},
      {DType::I32, DType::U32, DType::F32},
      {DType::I64, DType::U64}};
  for (const auto& group : same_size) {
    for (DType from : group) {
      for (DType to : group) {
        if (from == to) continue;
        std::string name = case_name("cast", "bitcast", dtype_str(from) + "->" + dtype_str(to) + " (33, 17)");
        cases.push_back({"cast", name, {from, to}, [=](Context& cx) {
                           Domain d = full_domain(from);
                           if (ref::size_of(from) == 8) d = Domain::range(0, 0x1p52);  // exact in the reference
                           Input x = make_input(cx, from, {33, 17}, d);
                           return compare(ref::bitcast(x.ref, to), x.t.bitcast(to), exact());
                         }});
      }
    }
  }

  // IEEE special values through arithmetic, math, comparisons and casts.
  using ref::Binary;
  using ref::Unary;
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    for (Binary op : {Binary::Add, Binary::Sub, Binary::Mul, Binary::Div, Binary::Lt,
                      Binary::Eq, Binary::Ne}) {
      std::string name = case_name("cast", std::string("specials_") + ref::binary_name(op), dtype_str(t));
      cases.push_back({"cast", name, {t}, [=](Context& cx) {
                         Input a = make_input(cx, specials(t, false));
                         Input b = make_input(cx, specials(t, true));
                         Tensor got = op == Binary::Add ? a.t + b.t
                                    : op == Binary::Sub ? a.t - b.t
                                    : op == Binary::Mul ? a.t * b.t
                                    : op == Binary::Div ? a.t / b.t
                                    : op == Binary::Lt  ? a.t.lt(b.t)
                                    : op == Binary::Eq  ? a.t.eq(b.t)
                                                        : a.t.ne(b.t);
                         return compare(ref::binary(op, a.ref, b.ref), got, ulps(t, 1));
                       }});
    }
    for (Unary op : {Unary::Sqrt, Unary::Log, Unary::Exp, Unary::Neg, Unary::Abs, Unary::Sigmoid,
                     Unary::Tanh}) {
      std::string name = case_name("cast", std::string("specials_") + ref::unary_name(op), dtype_str(t));
      cases.push_back({"cast", name, {t}, [=](Context& cx) {
                         Input a = make_input(cx, specials(t, false));
                         Tensor got = op == Unary::Sqrt ? a.t.sqrt()
                                    : op == Unary::Log  ? a.t.log()
                                    : op == Unary::Exp  ? a.t.exp()
                                    : op == Unary::Neg  ? -a.t
                                    : op == Unary::Abs  ? a.t.abs()
                                    : op == Unary::Sigmoid ? a.t.sigmoid()
                                                        : a.t.tanh();
                         Tolerance tol{t == DType::F32 ? 1e-5 : 2 * ref::epsilon(t), 1e-6};
                         return compare(ref::unary(op, a.ref), got, tol);
                       }});
    }
  }
  for (auto [from, to] : std::vector<std::pair<DType, DType>>{{DType::F32, DType::F16},
                                                              {DType::F32, DType::BF16},
                                                              {DType::F16, DType::F32},
                                                              {DType::BF16, DType::F32},
                                                              {DType::F16, DType::BF16}}) {
    std::string name = case_name("cast", "specials_cast", dtype_str(from) + "->" + dtype_str(to));
    DType f = from, t = to;
    cases.push_back({"cast", name, {from, to}, [=](Context& cx) {
                       Input a = make_input(cx, specials(f, false));
                       return compare(ref::cast(a.ref, t), a.t.cast(t), exact());
                     }});
  }
}

}  // namespace kiln::opsuite
