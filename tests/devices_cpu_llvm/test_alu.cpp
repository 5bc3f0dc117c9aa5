// Every ALU op on every dtype it applies to, scalar and 4-lane, against values computed here.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

#include "ir_builder.h"
#include "ref_numbers.h"

using kt::Cpu;
using kt::IrBuilder;

namespace {

constexpr size_t N = 32;  // elements per input (a multiple of every lane count used)

struct OpCase {
  kiln_ir_op op;
  int arity;
  bool bool_result;
  bool approx;  // floats: libm-grade functions and fused MULADD compare with a tolerance
};

const std::vector<OpCase>& int_ops() {
  static const std::vector<OpCase> ops = {
      {KILN_IR_NEG, 1, false, false},   {KILN_IR_NOT, 1, false, false},
      {KILN_IR_ADD, 2, false, false},   {KILN_IR_SUB, 2, false, false},
      {KILN_IR_MUL, 2, false, false},   {KILN_IR_IDIV, 2, false, false},
      {KILN_IR_MOD, 2, false, false},   {KILN_IR_MAX, 2, false, false},
      {KILN_IR_MIN, 2, false, false},   {KILN_IR_AND, 2, false, false},
      {KILN_IR_OR, 2, false, false},    {KILN_IR_XOR, 2, false, false},
      {KILN_IR_SHL, 2, false, false},   {KILN_IR_SHR, 2, false, false},
      {KILN_IR_MULADD, 3, false, false}, {KILN_IR_WHERE, 3, false, false},
      {KILN_IR_CMPLT, 2, true, false},  {KILN_IR_CMPNE, 2, true, false},
      {KILN_IR_CMPEQ, 2, true, false}};
  return ops;
}

const std::vector<OpCase>& bool_ops() {
  static const std::vector<OpCase> ops = {
      {KILN_IR_NOT, 1, false, false},   {KILN_IR_AND, 2, false, false},
      {KILN_IR_OR, 2, false, false},    {KILN_IR_XOR, 2, false, false},
      {KILN_IR_MAX, 2, false, false},   {KILN_IR_MIN, 2, false, false},
      {KILN_IR_WHERE, 3, false, false}, {KILN_IR_CMPLT, 2, true, false},
      {KILN_IR_CMPNE, 2, true, false},  {KILN_IR_CMPEQ, 2, true, false}};
  return ops;
}

const std::vector<OpCase>& float_ops() {
  static const std::vector<OpCase> ops = {
      {KILN_IR_NEG, 1, false, false},  {KILN_IR_EXP2, 1, false, true},
      {KILN_IR_LOG2, 1, false, true},  {KILN_IR_SIN, 1, false, true},
      {KILN_IR_SQRT, 1, false, false}, {KILN_IR_RECIP, 1, false, false},
      {KILN_IR_TRUNC, 1, false, false}, {KILN_IR_ADD, 2, false, false},
      {KILN_IR_SUB, 2, false, false},  {KILN_IR_MUL, 2, false, false},
      {KILN_IR_FDIV, 2, false, false}, {KILN_IR_MAX, 2, false, false},
      {KILN_IR_MIN, 2, false, false},  {KILN_IR_POW, 2, false, true},
      {KILN_IR_MULADD, 3, false, true}, {KILN_IR_WHERE, 3, false, false},
      {KILN_IR_CMPLT, 2, true, false}, {KILN_IR_CMPNE, 2, true, false},
      {KILN_IR_CMPEQ, 2, true, false}};
  return ops;
}

// out[k*N + i] = op_k(a[i], b[i], c[i]) for ops with a result of dtype `dt`, bools go to
// outb[k*N + i]. WHERE selects with (a < b). One group handles `lanes` elements.
IrBuilder alu_kernel(kiln_dtype dt, const std::vector<OpCase>& ops, uint8_t lanes) {
  IrBuilder b(std::string("alu_") + std::to_string(dt) + "_x" + std::to_string(lanes));
  int32_t out = b.param(dt, 0), outb = b.param(KILN_DTYPE_BOOL, 1);
  int32_t pa = b.param(dt, 2), pb = b.param(dt, 3), pc = b.param(dt, 4);
  int32_t idx = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, lanes));
  int32_t a = b.load(pa, idx, lanes, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t bb = b.load(pb, idx, lanes, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t c = b.load(pc, idx, lanes, -1, -1, KILN_IR_FLAG_ALIGNED);
  for (size_t k = 0; k < ops.size(); ++k) {
    const OpCase& o = ops[k];
    int32_t r;
    if (o.op == KILN_IR_WHERE) r = b.alu(KILN_IR_WHERE, b.cmp(KILN_IR_CMPLT, a, bb), a, c);
    else if (o.bool_result) r = b.cmp(o.op, a, bb);
    else if (o.arity == 1) r = b.alu(o.op, a);
    else if (o.arity == 2) r = b.alu(o.op, a, bb);
    else r = b.alu(o.op, a, bb, c);
    int32_t at = b.alu(KILN_IR_ADD, idx, b.ci(KILN_DTYPE_I32, int64_t(k * N)));
    b.store(o.bool_result ? outb : out, at, r, lanes, -1, KILN_IR_FLAG_ALIGNED);
  }
  return b;
}

// Runs alu_kernel over three inputs of `elem` bytes per element; returns the raw results
// (dtype dt, ops.size() * N elements) and the bool results.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> run_alu(
    kiln_dtype dt, const std::vector<OpCase>& ops, uint8_t lanes, size_t elem,
    const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const std::vector<uint8_t>& c) {
  Cpu& cpu = Cpu::get();
  IrBuilder kb = alu_kernel(dt, ops, lanes);
  kiln_program* p = cpu.build(kb);
  auto* out = cpu.alloc(ops.size() * N * elem);
  auto* outb = cpu.alloc(ops.size() * N);
  auto* ba = cpu.upload(a);
  auto* bb = cpu.upload(b);
  auto* bc = cpu.upload(c);
  cpu.run(p, {out, outb, ba, bb, bc}, {}, N / lanes);
  auto r = cpu.download<uint8_t>(out, ops.size() * N * elem);
  auto rb = cpu.download<uint8_t>(outb, ops.size() * N);
  for (auto* buf : {out, outb, ba, bb, bc}) cpu.free(buf);
  cpu.api().unload(cpu.dev(), p);
  return {r, rb};
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// ---- integers ----

template <class T>
T int_ref(kiln_ir_op op, T a, T b, T c) {
  using U = std::make_unsigned_t<T>;
  constexpr unsigned bits = sizeof(T) * 8;
  const uint64_t ua = uint64_t(U(a)), ub = uint64_t(U(b)), uc = uint64_t(U(c));
  switch (op) {
    case KILN_IR_NEG: return T(U(0 - ua));
    case KILN_IR_NOT: return T(~a);
    case KILN_IR_ADD: return T(U(ua + ub));
    case KILN_IR_SUB: return T(U(ua - ub));
    case KILN_IR_MUL: return T(U(ua * ub));
    case KILN_IR_IDIV:
      if (b == 0) return 0;
      if (std::is_signed_v<T> && b == T(-1)) return T(U(0 - ua));
      return T(a / b);
    case KILN_IR_MOD:
      if (b == 0) return 0;
      if (std::is_signed_v<T> && b == T(-1)) return 0;
      return T(a % b);
    case KILN_IR_MAX: return a < b ? b : a;
    case KILN_IR_MIN: return b < a ? b : a;
    case KILN_IR_AND: return T(a & b);
    case KILN_IR_OR: return T(a | b);
    case KILN_IR_XOR: return T(a ^ b);
    case KILN_IR_SHL: return T(U(ua << (ub & (bits - 1))));
    case KILN_IR_SHR:
      if constexpr (std::is_signed_v<T>) return T(int64_t(a) >> (ub & (bits - 1)));
      else return T(ua >> (ub & (bits - 1)));
    case KILN_IR_MULADD: return T(U(ua * ub + uc));
    case KILN_IR_WHERE: return a < b ? a : c;
    default: return 0;
  }
}

bool cmp_ref(kiln_ir_op op, auto a, auto b) {
  return op == KILN_IR_CMPLT ? a < b : op == KILN_IR_CMPNE ? a != b : a == b;
}

template <class T>
void check_int_alu(kiln_dtype dt) {
  using L = std::numeric_limits<T>;
  const std::vector<int64_t> pool = {0,  1,   -1,   2,   3,    -7,   100, -100, 5,  64,
                                     13, -13, 255,  127, -128, 6,    9,   -3,   33, 1000,
                                     7,  -2,  4096, 31,  8,    -4096, 17, 63,   65, 12345,
                                     11, 2};
  std::vector<T> a(N), b(N), c(N);
  for (size_t i = 0; i < N; ++i) {
    a[i] = T(pool[i]);
    b[i] = T(pool[(i * 7 + 3) % N]);
    c[i] = T(pool[(i * 5 + 1) % N]);
  }
  // Edge cases: division by zero, MIN / -1, shifts of the full width, extremes.
  a[0] = L::min(), b[0] = T(-1);
  a[1] = L::max(), b[1] = 0;
  a[2] = L::min(), b[2] = 0;
  a[3] = T(5), b[3] = T(sizeof(T) * 8);
  a[4] = L::max(), b[4] = L::max();
  a[5] = T(-9), b[5] = T(sizeof(T) * 8 + 1);
  for (uint8_t lanes : {uint8_t(1), uint8_t(4)}) {
    auto [raw, rb] = run_alu(dt, int_ops(), lanes, sizeof(T), bytes_of(a), bytes_of(b), bytes_of(c));
    std::vector<T> r(raw.size() / sizeof(T));
    std::memcpy(r.data(), raw.data(), raw.size());
    for (size_t k = 0; k < int_ops().size(); ++k) {
      const OpCase& o = int_ops()[k];
      for (size_t i = 0; i < N; ++i) {
        INFO("dtype " << int(dt) << " op " << o.op << " lanes " << int(lanes) << " i " << i
                      << " a " << int64_t(a[i]) << " b " << int64_t(b[i]) << " c " << int64_t(c[i]));
        if (o.bool_result) REQUIRE(rb[k * N + i] == (cmp_ref(o.op, a[i], b[i]) ? 1 : 0));
        else REQUIRE(int64_t(r[k * N + i]) == int64_t(int_ref<T>(o.op, a[i], b[i], c[i])));
      }
    }
  }
}

// ---- floats: computed in P (float, or double for f64), rounded to the storage type ----

template <class P>
P float_ref(kiln_ir_op op, P a, P b, P c) {
  switch (op) {
    case KILN_IR_NEG: return -a;
    case KILN_IR_EXP2: return std::exp2(a);
    case KILN_IR_LOG2: return std::log2(a);
    case KILN_IR_SIN: return std::sin(a);
    case KILN_IR_SQRT: return std::sqrt(a);
    case KILN_IR_RECIP: return P(1) / a;
    case KILN_IR_TRUNC: return std::trunc(a);
    case KILN_IR_ADD: return a + b;
    case KILN_IR_SUB: return a - b;
    case KILN_IR_MUL: return a * b;
    case KILN_IR_FDIV: return a / b;
    case KILN_IR_MAX: return a < b ? b : a;
    case KILN_IR_MIN: return b < a ? b : a;
    case KILN_IR_POW: return std::pow(a, b);
    case KILN_IR_MULADD: return a * b + c;
    case KILN_IR_WHERE: return a < b ? a : c;
    default: return 0;
  }
}

const std::vector<double>& float_pool() {
  static const std::vector<double> pool = {
      0.0,  -0.0, 1.0,   -1.0,  2.5,   -3.75, 0.1,    100.0, 1e-3, 7.0,   -0.5,
      INFINITY, -INFINITY, NAN, 3.0, 1.5, 0.75,  -2.25, 10.0,  -8.0, 0.3,  16.0,
      -0.125, 42.0, 1.25, 5.5, -6.0, 0.05, 2.0, -1.5, 9.0, 0.6};
  return pool;
}

// Storage <-> double for each float dtype, and the reference rounding of a P result.
struct FloatFormat {
  kiln_dtype dt;
  double tol;  // relative tolerance for approximate ops
  std::vector<uint8_t> encode(const std::vector<double>& v) const {
    std::vector<uint8_t> out(v.size() * size());
    for (size_t i = 0; i < v.size(); ++i) put(out.data() + i * size(), v[i]);
    return out;
  }
  size_t size() const { return dt == KILN_DTYPE_F64 ? 8 : dt == KILN_DTYPE_F32 ? 4 : 2; }
  void put(uint8_t* p, double v) const {
    if (dt == KILN_DTYPE_F64) std::memcpy(p, &v, 8);
    else if (dt == KILN_DTYPE_F32) { float f = float(v); std::memcpy(p, &f, 4); }
    else if (dt == KILN_DTYPE_F16) { uint16_t u = kt::f16_bits(_Float16(v)); std::memcpy(p, &u, 2); }
    else { uint16_t u = kt::bf16_round(v); std::memcpy(p, &u, 2); }
  }
  double get(const uint8_t* p) const {
    if (dt == KILN_DTYPE_F64) { double d; std::memcpy(&d, p, 8); return d; }
    if (dt == KILN_DTYPE_F32) { float f; std::memcpy(&f, p, 4); return f; }
    uint16_t u;
    std::memcpy(&u, p, 2);
    return dt == KILN_DTYPE_F16 ? double(kt::f16_from_bits(u)) : double(kt::bf16_to_float(u));
  }
  // The stored value nearest to x.
  double round(double x) const {
    uint8_t buf[8];
    put(buf, x);
    return get(buf);
  }
};

void check_float_alu(FloatFormat f) {
  const auto& pool = float_pool();
  std::vector<double> a(N), b(N), c(N);
  for (size_t i = 0; i < N; ++i) {
    a[i] = f.round(pool[i]);
    b[i] = f.round(pool[(i * 7 + 3) % N]);
    c[i] = f.round(pool[(i * 5 + 1) % N]);
  }
  const bool wide = f.dt == KILN_DTYPE_F64;
  for (uint8_t lanes : {uint8_t(1), uint8_t(4)}) {
    auto [raw, rb] = run_alu(f.dt, float_ops(), lanes, f.size(), f.encode(a), f.encode(b), f.encode(c));
    for (size_t k = 0; k < float_ops().size(); ++k) {
      const OpCase& o = float_ops()[k];
      for (size_t i = 0; i < N; ++i) {
        INFO("dtype " << int(f.dt) << " op " << o.op << " lanes " << int(lanes) << " i " << i
                      << " a " << a[i] << " b " << b[i] << " c " << c[i]);
        if (o.bool_result) {
          REQUIRE(rb[k * N + i] == (cmp_ref(o.op, a[i], b[i]) ? 1 : 0));
          continue;
        }
        double want = wide ? float_ref<double>(o.op, a[i], b[i], c[i])
                           : f.round(float_ref<float>(o.op, float(a[i]), float(b[i]), float(c[i])));
        double got = f.get(raw.data() + (k * N + i) * f.size());
        INFO("got " << got << " want " << want);
        if (o.approx) REQUIRE(kt::close_number(got, want, f.tol));
        else REQUIRE(kt::same_number(got, want));
      }
    }
  }
}

}  // namespace

TEST_CASE("cpu_llvm: integer ALU ops on every integer dtype, scalar and vector", "[alu]") {
  check_int_alu<int8_t>(KILN_DTYPE_I8);
  check_int_alu<uint8_t>(KILN_DTYPE_U8);
  check_int_alu<int16_t>(KILN_DTYPE_I16);
  check_int_alu<uint16_t>(KILN_DTYPE_U16);
  check_int_alu<int32_t>(KILN_DTYPE_I32);
  check_int_alu<uint32_t>(KILN_DTYPE_U32);
  check_int_alu<int64_t>(KILN_DTYPE_I64);
  check_int_alu<uint64_t>(KILN_DTYPE_U64);
}

TEST_CASE("cpu_llvm: bool ALU ops, scalar and vector", "[alu]") {
  std::vector<uint8_t> a(N), b(N), c(N);
  for (size_t i = 0; i < N; ++i) a[i] = i & 1, b[i] = (i >> 1) & 1, c[i] = (i >> 2) & 1;
  for (uint8_t lanes : {uint8_t(1), uint8_t(4)}) {
    auto [r, rb] = run_alu(KILN_DTYPE_BOOL, bool_ops(), lanes, 1, a, b, c);
    for (size_t k = 0; k < bool_ops().size(); ++k) {
      const OpCase& o = bool_ops()[k];
      for (size_t i = 0; i < N; ++i) {
        INFO("op " << o.op << " lanes " << int(lanes) << " a " << int(a[i]) << " b " << int(b[i]));
        bool x = a[i], y = b[i], z = c[i];
        bool want;
        switch (o.op) {
          case KILN_IR_NOT: want = !x; break;
          case KILN_IR_AND: want = x && y; break;
          case KILN_IR_OR: want = x || y; break;
          case KILN_IR_XOR: want = x != y; break;
          case KILN_IR_MAX: want = x < y ? y : x; break;
          case KILN_IR_MIN: want = y < x ? y : x; break;
          case KILN_IR_WHERE: want = x < y ? x : z; break;
          default: want = cmp_ref(o.op, x, y); break;
        }
        REQUIRE(int((o.bool_result ? rb : r)[k * N + i]) == int(want));
      }
    }
  }
}

TEST_CASE("cpu_llvm: float ALU ops on f16, bf16, f32, f64, scalar and vector", "[alu]") {
  check_float_alu({KILN_DTYPE_F32, 2e-6});
  check_float_alu({KILN_DTYPE_F64, 1e-13});
  check_float_alu({KILN_DTYPE_F16, 1e-3});
  check_float_alu({KILN_DTYPE_BF16, 8e-3});
}
