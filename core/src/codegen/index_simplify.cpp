// Index simplification in the IR builder: every integer value carries the range it is known
// to lie in, and index sums are seen as sum(coef * atom) + constant. With those two facts,
// division and remainder by a constant split off the terms that are multiples of it
// ((g*64 + j) / 64 = g when 0 <= j < 64), and comparisons that the ranges decide fold away.
// This is what turns a view's unravel/ravel chain back into base + k*stride, so the device
// compiler sees consecutive addresses (tinygrad's symbolic rules, on IR values).
#include <algorithm>
#include <limits>
#include <numeric>

#include "codegen/ir_builder.h"

namespace kiln::detail {
namespace {

using Range = IrBuilder::Range;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr Range kUnknown{kMin, kMax};

bool is_int_scalar(const kiln_ir_inst& i) {
  const auto t = static_cast<DType>(i.dtype);
  return i.vcount == 1 && t != DType::Bool && !is_float(t) && t != DType(KILN_DTYPE_VOID);
}

// Every value of the type, or kUnknown where that does not fit in int64 (u64).
Range type_bounds(DType t) {
  switch (t) {
    case DType::Bool:
      return {0, 1};
    case DType::I8:
      return {-128, 127};
    case DType::U8:
      return {0, 255};
    case DType::I16:
      return {-32768, 32767};
    case DType::U16:
      return {0, 65535};
    case DType::I32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case DType::U32:
      return {0, std::numeric_limits<uint32_t>::max()};
    default:
      return kUnknown;
  }
}

// An exact range computed in 128 bits, or the type's bounds when it may leave them (wraps).
Range fit(__int128 lo, __int128 hi, DType t) {
  Range b = type_bounds(t);
  if (lo < b.lo || hi > b.hi) return b;
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

}  // namespace

Range IrBuilder::compute_range(const kiln_ir_inst& in) const {
  const auto t = static_cast<DType>(in.dtype);
  if (in.vcount != 1) return kUnknown;
  if (t == DType::Bool) return {0, 1};
  if (!is_int_scalar(in)) return kUnknown;
  auto src = [&](int k) { return ranges_.at(in.src[k]); };
  auto const_src = [&](int k, int64_t& c) {
    if (!is_const(in.src[k])) return false;
    c = const_value_int(in.src[k]);
    return true;
  };
  switch (in.op) {
    case KILN_IR_CONST:
      return {in.imm.i, in.imm.i};
    case KILN_IR_VAR:
      return {in.imm.i, in.arg2};
    case KILN_IR_SPECIAL:
      return {0, std::numeric_limits<int32_t>::max()};
    case KILN_IR_RANGE:
      return {src(0).lo, std::max(src(0).lo, src(1).hi - 1)};
    case KILN_IR_CAST: {
      const auto& s = insts_.at(in.src[0]);
      if (static_cast<DType>(s.dtype) == DType::Bool) return {0, 1};
      if (!is_int_scalar(s)) return type_bounds(t);
      return fit(src(0).lo, src(0).hi, t);
    }
    case KILN_IR_ADD:
      return fit(__int128(src(0).lo) + src(1).lo, __int128(src(0).hi) + src(1).hi, t);
    case KILN_IR_SUB:
      return fit(__int128(src(0).lo) - src(1).hi, __int128(src(0).hi) - src(1).lo, t);
    case KILN_IR_MUL: {
      Range a = src(0), b = src(1);
      __int128 p[] = {__int128(a.lo) * b.lo, __int128(a.lo) * b.hi, __int128(a.hi) * b.lo,
                      __int128(a.hi) * b.hi};
      return fit(*std::min_element(p, p + 4), *std::max_element(p, p + 4), t);
    }
    case KILN_IR_IDIV: {
      int64_t c;
      if (!const_src(1, c) || c <= 0) return type_bounds(t);
      return {src(0).lo / c, src(0).hi / c};  // truncation is monotonic for c > 0
    }
    case KILN_IR_MOD: {
      int64_t c;
      if (!const_src(1, c) || c <= 0) return type_bounds(t);
      Range a = src(0);
      if (a.lo >= 0) return {0, std::min(a.hi, c - 1)};
      if (a.hi <= 0) return {std::max(a.lo, -(c - 1)), 0};
      return {-(c - 1), c - 1};
    }
    case KILN_IR_MIN:
      return {std::min(src(0).lo, src(1).lo), std::min(src(0).hi, src(1).hi)};
    case KILN_IR_MAX:
      return {std::max(src(0).lo, src(1).lo), std::max(src(0).hi, src(1).hi)};
    case KILN_IR_WHERE:
      return {std::min(src(1).lo, src(2).lo), std::max(src(1).hi, src(2).hi)};
    default:
      return type_bounds(t);
  }
}

IrBuilder::Linear IrBuilder::linear_of(Val v) const {
  const kiln_ir_inst& in = insts_.at(v);
  Linear out;
  if (in.op == KILN_IR_CONST && is_int_scalar(in)) {
    out.constant = in.imm.i;
    return out;
  }
  const bool nowrap = (in.flags & KILN_IR_FLAG_NOWRAP) && in.vcount == 1;
  auto merge = [&](const Linear& l, int64_t scale) {
    for (auto [atom, coef] : l.terms) {
      auto it = std::find_if(out.terms.begin(), out.terms.end(),
                             [&](auto& t) { return t.first == atom; });
      if (it == out.terms.end())
        out.terms.emplace_back(atom, coef * scale);
      else
        it->second += coef * scale;
    }
    out.constant += l.constant * scale;
  };
  if (nowrap && (in.op == KILN_IR_ADD || in.op == KILN_IR_SUB)) {
    merge(linear_of(in.src[0]), 1);
    merge(linear_of(in.src[1]), in.op == KILN_IR_ADD ? 1 : -1);
  } else if (nowrap && in.op == KILN_IR_MUL && (is_const(in.src[0]) || is_const(in.src[1]))) {
    const bool c0 = is_const(in.src[0]);
    merge(linear_of(in.src[c0 ? 1 : 0]), const_value_int(in.src[c0 ? 0 : 1]));
  } else {
    out.terms.emplace_back(v, 1);
    return out;
  }
  std::erase_if(out.terms, [](auto& t) { return t.second == 0; });
  return out;
}

Range IrBuilder::range_of(const Linear& l) const {
  __int128 lo = l.constant, hi = l.constant;
  for (auto [atom, coef] : l.terms) {
    Range r = ranges_.at(atom);
    if (r.lo == kMin || r.hi == kMax) return kUnknown;
    __int128 a = __int128(r.lo) * coef, b = __int128(r.hi) * coef;
    lo += std::min(a, b);
    hi += std::max(a, b);
  }
  if (lo < kMin || hi > kMax) return kUnknown;
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

bool IrBuilder::known_multiple(Val v, int64_t n) const {
  if (n <= 1) return true;
  const kiln_ir_inst& in = insts_.at(v);
  if (in.op == KILN_IR_MOD && is_const(in.src[1])) {
    // (a % c) with a >= 0 and both multiples of n: a - c * floor(a / c) is one too (a view's
    // column of a flattened row, e.g. (g * 16) % 8192)
    const int64_t c = const_value_int(in.src[1]);
    return c > 0 && c % n == 0 && range_of(in.src[0]).lo >= 0 && known_multiple(in.src[0], n);
  }
  Linear l = linear_of(v);
  if (l.constant % n != 0) return false;
  for (auto [atom, coef] : l.terms)
    if (coef % n != 0 && !(atom != v && known_multiple(atom, n / std::gcd(coef, n)))) return false;
  return true;
}

// index = stride * lanes * Q + R with 0 <= R < stride: the terms whose coefficients are
// multiples of stride * lanes make the first part (constant included, floored), the rest must
// provably lie in [0, stride). Then index + l * stride (l < lanes) never carries past the
// axis of that stride, whose coordinate starts at a multiple of lanes.
bool IrBuilder::lanes_stay(Val index, int64_t stride, int64_t lanes) const {
  if (stride <= 0 || lanes <= 1) return false;
  const int64_t unit = stride * lanes;
  Linear l = linear_of(index), low;
  low.constant = ((l.constant % unit) + unit) % unit;
  // terms that are multiples of unit (by coefficient, or an atom known to be one) carry nothing
  for (auto [atom, coef] : l.terms)
    if (coef % unit != 0 && !known_multiple(atom, unit / std::gcd(coef, unit))) low.terms.emplace_back(atom, coef);
  Range r = range_of(low);
  return r.lo >= 0 && r.hi < stride;  // kUnknown fails the first test
}

Val IrBuilder::build(const Linear& l, DType t) {
  Val v = const_int(0, t);
  for (auto [atom, coef] : l.terms) v = add(v, mul_const(atom, coef));
  return add_const(v, l.constant);
}

Val IrBuilder::idiv_const(Val a, int64_t c) {
  DType t = dtype_of(a);
  if (c == 1) return a;
  if (is_const(a)) return const_int(const_value_int(a) / c, t);
  if (c > 0 && is_int_scalar(insts_[a]) && range_of(a).lo >= 0) {
    if (range_of(a).hi < c) return const_int(0, t);
    // a = q*c + rest with rest >= 0: a / c = q + rest / c (a >= 0, so truncation is floor)
    Linear l = linear_of(a), q, rest;
    for (auto [atom, coef] : l.terms) {
      if (coef % c == 0)
        q.terms.emplace_back(atom, coef / c);
      else
        rest.terms.emplace_back(atom, coef);
    }
    q.constant = l.constant >= 0 ? l.constant / c : 0;
    rest.constant = l.constant >= 0 ? l.constant % c : l.constant;
    if ((!q.terms.empty() || q.constant != 0) && range_of(rest).lo >= 0)
      return add(build(q, t), idiv_const(build(rest, t), c));
  }
  return alu(KILN_IR_IDIV, t, a, const_int(c, t));
}

Val IrBuilder::mod_const(Val a, int64_t c) {
  DType t = dtype_of(a);
  if (c == 1) return const_int(0, t);
  if (is_const(a)) return const_int(const_value_int(a) % c, t);
  if (c > 0 && is_int_scalar(insts_[a]) && range_of(a).lo >= 0) {
    if (range_of(a).hi < c) return a;
    // multiples of c drop out of a non-negative sum whose remaining part stays >= 0
    Linear l = linear_of(a), rest;
    bool dropped = false;
    for (auto [atom, coef] : l.terms) {
      if (coef % c == 0)
        dropped = true;
      else
        rest.terms.emplace_back(atom, coef);
    }
    rest.constant = l.constant >= 0 ? l.constant % c : l.constant;
    dropped |= rest.constant != l.constant;
    if (dropped && range_of(rest).lo >= 0) return mod_const(build(rest, t), c);
  }
  return alu(KILN_IR_MOD, t, a, const_int(c, t));
}

Val IrBuilder::lt(Val a, Val b) {
  if (is_const(a) && is_const(b)) return const_bool(const_value_int(a) < const_value_int(b));
  if (is_int_scalar(insts_[a]) && is_int_scalar(insts_[b])) {
    Range ra = range_of(a), rb = range_of(b);
    if (ra.hi < rb.lo) return const_bool(true);
    if (ra.lo >= rb.hi) return const_bool(false);
  }
  return alu(KILN_IR_CMPLT, DType::Bool, a, b);
}

}  // namespace kiln::detail
