// Loads, stores, grids, loops, accumulators, gates and vectors of the cpu_llvm device.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <thread>

#include "ir_builder.h"
#include "ref_numbers.h"

using kt::Cpu;
using kt::IrBuilder;

namespace {

template <class T>
void free_all(Cpu& cpu, kiln_program* p, std::initializer_list<kiln_buffer*> bufs) {
  for (auto* b : bufs) cpu.free(b);
  cpu.api().unload(cpu.dev(), p);
}

// out[i] = op(x[i], y[i]) over a grid of n groups, and the same 8 lanes at a time inside a
// RANGE (the shape generated elementwise kernels take). S is the storage type.
template <class S>
void check_elementwise(kiln_dtype dt, kiln_ir_op op, std::function<S(S, S)> ref,
                       std::function<S(size_t)> gen_x, std::function<S(size_t)> gen_y) {
  Cpu& cpu = Cpu::get();
  const size_t n = 1024;
  std::vector<S> xs(n), ys(n);
  for (size_t k = 0; k < n; ++k) xs[k] = gen_x(k), ys[k] = gen_y(k);
  auto* bx = cpu.upload(xs);
  auto* by = cpu.upload(ys);
  auto* bo = cpu.alloc(n * sizeof(S));

  IrBuilder s("ew_scalar_" + std::to_string(dt));
  int32_t out = s.param(dt, 0), x = s.param(dt, 1), y = s.param(dt, 2);
  int32_t i = s.gid(0);
  s.store(out, i, s.alu(op, s.load(x, i), s.load(y, i)));

  IrBuilder v("ew_vec_" + std::to_string(dt));
  int32_t vo = v.param(dt, 0), vx = v.param(dt, 1), vy = v.param(dt, 2);
  int32_t base = v.alu(KILN_IR_MUL, v.gid(0), v.ci(KILN_DTYPE_I32, 64));
  int32_t j = v.range(v.ci(KILN_DTYPE_I32, 0), v.ci(KILN_DTYPE_I32, 8));
  int32_t at = v.alu(KILN_IR_ADD, base, v.alu(KILN_IR_MUL, j, v.ci(KILN_DTYPE_I32, 8)));
  int32_t a = v.load(vx, at, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t b = v.load(vy, at, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  v.store(vo, at, v.alu(op, a, b), 8, -1, KILN_IR_FLAG_ALIGNED);
  v.end_range(j);

  for (auto* kb : {&s, &v}) {
    kiln_program* p = cpu.build(*kb);
    std::vector<S> zero(n);
    cpu.put(bo, zero.data(), n * sizeof(S));
    cpu.run(p, {bo, bx, by}, {}, kb == &s ? n : n / 64);
    auto r = cpu.download<S>(bo, n);
    for (size_t k = 0; k < n; ++k) {
      S want = ref(xs[k], ys[k]);
      INFO("dtype " << int(dt) << (kb == &s ? " scalar" : " vector") << " element " << k);
      REQUIRE(std::memcmp(&r[k], &want, sizeof(S)) == 0);
    }
    cpu.api().unload(cpu.dev(), p);
  }
  for (auto* b2 : {bx, by, bo}) cpu.free(b2);
}

template <class T>
void check_int_add(kiln_dtype dt) {
  check_elementwise<T>(
      dt, KILN_IR_ADD, [](T a, T b) { return T(uint64_t(a) + uint64_t(b)); },
      [](size_t k) { return T(k * 37 + 5); }, [](size_t k) { return T(k * 1000003 + 11); });
}

}  // namespace

TEST_CASE("cpu_llvm: elementwise add of every dtype (OR for bool), scalar and 8-lane", "[memory]") {
  check_int_add<int8_t>(KILN_DTYPE_I8);
  check_int_add<uint8_t>(KILN_DTYPE_U8);
  check_int_add<int16_t>(KILN_DTYPE_I16);
  check_int_add<uint16_t>(KILN_DTYPE_U16);
  check_int_add<int32_t>(KILN_DTYPE_I32);
  check_int_add<uint32_t>(KILN_DTYPE_U32);
  check_int_add<int64_t>(KILN_DTYPE_I64);
  check_int_add<uint64_t>(KILN_DTYPE_U64);
  check_elementwise<float>(
      KILN_DTYPE_F32, KILN_IR_ADD, [](float a, float b) { return a + b; },
      [](size_t k) { return float(k) * 0.37f; }, [](size_t k) { return 1.0f / float(k + 1); });
  check_elementwise<double>(
      KILN_DTYPE_F64, KILN_IR_ADD, [](double a, double b) { return a + b; },
      [](size_t k) { return double(k) * 0.37; }, [](size_t k) { return 1.0 / double(k + 1); });
  check_elementwise<uint16_t>(
      KILN_DTYPE_F16, KILN_IR_ADD,
      [](uint16_t a, uint16_t b) {
        return kt::f16_bits(_Float16(float(kt::f16_from_bits(a)) + float(kt::f16_from_bits(b))));
      },
      [](size_t k) { return kt::f16_bits(_Float16(float(k) * 0.37f)); },
      [](size_t k) { return kt::f16_bits(_Float16(1.0f / float(k + 1))); });
  check_elementwise<uint16_t>(
      KILN_DTYPE_BF16, KILN_IR_ADD,
      [](uint16_t a, uint16_t b) {
        return kt::bf16_round((long double)(kt::bf16_to_float(a) + kt::bf16_to_float(b)));
      },
      [](size_t k) { return kt::bf16_round(float(k) * 0.37f); },
      [](size_t k) { return kt::bf16_round(1.0f / float(k + 1)); });
  check_elementwise<uint8_t>(
      KILN_DTYPE_BOOL, KILN_IR_OR, [](uint8_t a, uint8_t b) { return uint8_t(a | b); },
      [](size_t k) { return uint8_t(k % 3 == 0); }, [](size_t k) { return uint8_t(k % 5 == 0); });
}

TEST_CASE("cpu_llvm: row sums with ACC + RANGE", "[memory]") {
  Cpu& cpu = Cpu::get();
  const size_t rows = 64, k = 256;
  SECTION("f32 accumulator") {
    IrBuilder b("rowsum_f32");
    int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
    int32_t row = b.gid(0);
    int32_t K = b.ci(KILN_DTYPE_I32, int64_t(k));
    int32_t base = b.alu(KILN_IR_MUL, row, K);
    int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0));
    int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), K, KILN_IR_FLAG_REDUCE);
    b.assign(acc, b.alu(KILN_IR_ADD, acc, b.load(x, b.alu(KILN_IR_ADD, base, j))));
    b.end_range(j);
    b.store(out, row, acc);
    kiln_program* p = cpu.build(b);
    std::vector<float> xs(rows * k);
    for (size_t q = 0; q < xs.size(); ++q) xs[q] = float(q % 17) * 0.25f - 2.0f;
    auto* bo = cpu.alloc(rows * 4);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, rows);
    auto r = cpu.download<float>(bo, rows);
    for (size_t q = 0; q < rows; ++q) {
      double s = 0;
      for (size_t c = 0; c < k; ++c) s += xs[q * k + c];
      REQUIRE(r[q] == Approx(s).margin(1e-4));
    }
    free_all<float>(cpu, p, {bo, bx});
  }
  SECTION("i32 accumulator, exact") {
    IrBuilder b("rowsum_i32");
    int32_t out = b.param(KILN_DTYPE_I32, 0), x = b.param(KILN_DTYPE_I32, 1);
    int32_t row = b.gid(0);
    int32_t K = b.ci(KILN_DTYPE_I32, int64_t(k));
    int32_t acc = b.acc(b.ci(KILN_DTYPE_I32, 7));
    int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), K, KILN_IR_FLAG_REDUCE);
    int32_t v = b.load(x, b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, row, K), j));
    b.assign(acc, b.alu(KILN_IR_ADD, acc, b.alu(KILN_IR_MUL, v, v)));
    b.end_range(j);
    b.store(out, row, acc);
    kiln_program* p = cpu.build(b);
    std::vector<int32_t> xs(rows * k);
    for (size_t q = 0; q < xs.size(); ++q) xs[q] = int32_t(q % 101) - 50;
    auto* bo = cpu.alloc(rows * 4);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, rows);
    auto r = cpu.download<int32_t>(bo, rows);
    for (size_t q = 0; q < rows; ++q) {
      int32_t s = 7;
      for (size_t c = 0; c < k; ++c) s += xs[q * k + c] * xs[q * k + c];
      REQUIRE(r[q] == s);
    }
    free_all<int32_t>(cpu, p, {bo, bx});
  }
  SECTION("f16 input upcast into an 8-lane f32 accumulator, lanes summed with GEP") {
    IrBuilder b("rowsum_f16_x8");
    int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F16, 1);
    int32_t row = b.gid(0);
    int32_t base = b.alu(KILN_IR_MUL, row, b.ci(KILN_DTYPE_I32, int64_t(k)));
    int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0, 8));
    int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, int64_t(k / 8)), KILN_IR_FLAG_REDUCE);
    int32_t at = b.alu(KILN_IR_ADD, base, b.alu(KILN_IR_MUL, j, b.ci(KILN_DTYPE_I32, 8)));
    int32_t v = b.cast(KILN_DTYPE_F32, b.load(x, at, 8, -1, -1, KILN_IR_FLAG_ALIGNED));
    b.assign(acc, b.alu(KILN_IR_ADD, acc, v));
    b.end_range(j);
    int32_t total = b.gep(acc, 0);
    for (int lane = 1; lane < 8; ++lane) total = b.alu(KILN_IR_ADD, total, b.gep(acc, lane));
    b.store(out, row, total);
    kiln_program* p = cpu.build(b);
    std::vector<uint16_t> xs(rows * k);
    for (size_t q = 0; q < xs.size(); ++q) xs[q] = kt::f16_bits(_Float16(float(q % 13) * 0.125f - 0.5f));
    auto* bo = cpu.alloc(rows * 4);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, rows);
    auto r = cpu.download<float>(bo, rows);
    for (size_t q = 0; q < rows; ++q) {
      double s = 0;
      for (size_t c = 0; c < k; ++c) s += double(kt::f16_from_bits(xs[q * k + c]));
      REQUIRE(r[q] == Approx(s).margin(1e-4));
    }
    free_all<float>(cpu, p, {bo, bx});
  }
}

TEST_CASE("cpu_llvm: gated loads pad without touching memory, and gated stores", "[memory]") {
  Cpu& cpu = Cpu::get();
  const int n = 100;
  SECTION("3-tap sum with zero padding; a false gate carries a wild index") {
    IrBuilder b("pad3");
    int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
    int32_t i = b.gid(0);
    int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0));
    int32_t t = b.range(b.ci(KILN_DTYPE_I32, -1), b.ci(KILN_DTYPE_I32, 2), KILN_IR_FLAG_UNROLL);
    int32_t at = b.alu(KILN_IR_ADD, i, t);
    int32_t ok = b.alu(KILN_IR_AND, b.cmp(KILN_IR_CMPLT, b.ci(KILN_DTYPE_I32, -1), at),
                       b.cmp(KILN_IR_CMPLT, at, b.ci(KILN_DTYPE_I32, n)));
    // Where the gate is false the index is a billion elements away: touching it would crash.
    int32_t wild = b.alu(KILN_IR_WHERE, ok, at, b.ci(KILN_DTYPE_I32, -1000000000));
    int32_t v = b.load(x, wild, 1, ok, b.cf(KILN_DTYPE_F32, 0.0));
    b.assign(acc, b.alu(KILN_IR_ADD, acc, v));
    b.end_range(t);
    b.store(out, i, acc);
    kiln_program* p = cpu.build(b);
    std::vector<float> xs(n);
    for (int k = 0; k < n; ++k) xs[k] = float(k + 1);
    auto* bo = cpu.alloc(n * 4);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, n);
    auto r = cpu.download<float>(bo, n);
    for (int k = 0; k < n; ++k) {
      float want = xs[k] + (k > 0 ? xs[k - 1] : 0.f) + (k + 1 < n ? xs[k + 1] : 0.f);
      REQUIRE(r[k] == want);
    }
    free_all<float>(cpu, p, {bo, bx});
  }
  SECTION("4-lane load and store with one gate per lane (masked tail)") {
    IrBuilder b("masked_tail");
    int32_t out = b.param(KILN_DTYPE_I32, 0), x = b.param(KILN_DTYPE_I32, 1);
    int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 4));
    std::vector<int32_t> idx;
    for (int l = 0; l < 4; ++l) idx.push_back(b.alu(KILN_IR_ADD, base, b.ci(KILN_DTYPE_I32, l)));
    int32_t lanes = b.vectorize(idx);
    int32_t gate = b.cmp(KILN_IR_CMPLT, lanes, b.ci(KILN_DTYPE_I32, 10, 4));
    int32_t v = b.load(x, base, 4, gate, b.ci(KILN_DTYPE_I32, -5, 4));
    b.store(out, base, b.alu(KILN_IR_MUL, v, b.ci(KILN_DTYPE_I32, 3, 4)), 4, gate);
    kiln_program* p = cpu.build(b);
    std::vector<int32_t> xs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    std::vector<int32_t> sentinel(12, 77);
    auto* bo = cpu.upload(sentinel);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, 3);
    auto r = cpu.download<int32_t>(bo, 12);
    for (int k = 0; k < 10; ++k) REQUIRE(r[k] == 3 * xs[k]);
    REQUIRE(r[10] == 77);  // masked lanes stored nothing
    REQUIRE(r[11] == 77);
    free_all<int32_t>(cpu, p, {bo, bx});
  }
  SECTION("scalar gate on a 4-lane load; the alternative is used whole") {
    IrBuilder b("gated_vec");
    int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
    int32_t g = b.gid(0);
    int32_t base = b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 4));
    int32_t even = b.cmp(KILN_IR_CMPEQ, b.alu(KILN_IR_AND, g, b.ci(KILN_DTYPE_I32, 1)), b.ci(KILN_DTYPE_I32, 0));
    int32_t v = b.load(x, base, 4, even, b.cf(KILN_DTYPE_F32, -1.0, 4), KILN_IR_FLAG_ALIGNED);
    b.store(out, base, v, 4, -1, KILN_IR_FLAG_ALIGNED);
    kiln_program* p = cpu.build(b);
    std::vector<float> xs(16);
    for (int k = 0; k < 16; ++k) xs[k] = float(k);
    auto* bo = cpu.alloc(64);
    auto* bx = cpu.upload(xs);
    cpu.run(p, {bo, bx}, {}, 4);
    auto r = cpu.download<float>(bo, 16);
    for (int k = 0; k < 16; ++k) REQUIRE(r[k] == ((k / 4) % 2 == 0 ? xs[k] : -1.0f));
    free_all<float>(cpu, p, {bo, bx});
  }
}

TEST_CASE("cpu_llvm: vector loads/stores, VECTORIZE and GEP", "[memory]") {
  Cpu& cpu = Cpu::get();
  // out[4g..4g+3] = reverse(x[4g+1 .. 4g+4]) (an unaligned 4-lane load) + lane index.
  IrBuilder b("reverse4");
  int32_t out = b.param(KILN_DTYPE_I16, 0), x = b.param(KILN_DTYPE_I16, 1);
  int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 4));
  int32_t v = b.load(x, b.alu(KILN_IR_ADD, base, b.ci(KILN_DTYPE_I32, 1)), 4);
  int32_t rev = b.vectorize({b.gep(v, 3), b.gep(v, 2), b.gep(v, 1), b.gep(v, 0)});
  int32_t lane = b.vectorize({b.ci(KILN_DTYPE_I16, 0), b.ci(KILN_DTYPE_I16, 10), b.ci(KILN_DTYPE_I16, 20),
                              b.ci(KILN_DTYPE_I16, 30)});
  b.store(out, base, b.alu(KILN_IR_ADD, rev, lane), 4, -1, KILN_IR_FLAG_ALIGNED);
  kiln_program* p = cpu.build(b);
  const int groups = 16;
  std::vector<int16_t> xs(groups * 4 + 1);
  for (size_t k = 0; k < xs.size(); ++k) xs[k] = int16_t(k * 3);
  auto* bo = cpu.alloc(groups * 8);
  auto* bx = cpu.upload(xs);
  cpu.run(p, {bo, bx}, {}, groups);
  auto r = cpu.download<int16_t>(bo, groups * 4);
  for (int g = 0; g < groups; ++g)
    for (int l = 0; l < 4; ++l) REQUIRE(r[g * 4 + l] == xs[g * 4 + 1 + (3 - l)] + 10 * l);
  free_all<int16_t>(cpu, p, {bo, bx});
}

TEST_CASE("cpu_llvm: scalar operands broadcast into vector ops", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("broadcast");
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1), s = b.param(KILN_DTYPE_F32, 2);
  int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 8));
  int32_t v = b.load(x, base, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t scale = b.load(s, b.ci(KILN_DTYPE_I32, 0));  // scalar
  int32_t r = b.alu(KILN_IR_MULADD, v, scale, b.cf(KILN_DTYPE_F32, 0.5));
  b.store(out, base, b.alu(KILN_IR_MAX, r, b.cf(KILN_DTYPE_F32, 0.0)), 8, -1, KILN_IR_FLAG_ALIGNED);
  kiln_program* p = cpu.build(b);
  std::vector<float> xs(32), sc = {2.0f};
  for (int k = 0; k < 32; ++k) xs[k] = float(k) - 10.0f;
  auto* bo = cpu.alloc(128);
  auto* bx = cpu.upload(xs);
  auto* bs = cpu.upload(sc);
  cpu.run(p, {bo, bx, bs}, {}, 4);
  auto res = cpu.download<float>(bo, 32);
  for (int k = 0; k < 32; ++k) REQUIRE(res[k] == std::max(0.0f, xs[k] * 2.0f + 0.5f));
  free_all<float>(cpu, p, {bo, bx, bs});
}

TEST_CASE("cpu_llvm: LOCAL scratch array with BARRIER", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("local_reverse");
  int32_t out = b.param(KILN_DTYPE_F64, 0), x = b.param(KILN_DTYPE_F64, 1);
  int32_t tmp = b.local(KILN_DTYPE_F64, 8);
  int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 8));
  int32_t k = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 8));
  b.store(tmp, k, b.alu(KILN_IR_MUL, b.load(x, b.alu(KILN_IR_ADD, base, k)), b.cf(KILN_DTYPE_F64, 2.0)));
  b.end_range(k);
  b.add(KILN_IR_BARRIER, KILN_DTYPE_VOID);
  int32_t m = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 8));
  int32_t from = b.alu(KILN_IR_SUB, b.ci(KILN_DTYPE_I32, 7), m);
  b.store(out, b.alu(KILN_IR_ADD, base, m), b.load(tmp, from));
  b.end_range(m);
  kiln_program* p = cpu.build(b);
  std::vector<double> xs(64);
  for (int q = 0; q < 64; ++q) xs[q] = q * 1.5;
  auto* bo = cpu.alloc(64 * 8);
  auto* bx = cpu.upload(xs);
  cpu.run(p, {bo, bx}, {}, 8);
  auto r = cpu.download<double>(bo, 64);
  for (int q = 0; q < 64; ++q) REQUIRE(r[q] == 2.0 * xs[(q / 8) * 8 + 7 - q % 8]);
  free_all<double>(cpu, p, {bo, bx});
}

TEST_CASE("cpu_llvm: IF guards a store", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("if_positive");
  int32_t out = b.param(KILN_DTYPE_I64, 0), x = b.param(KILN_DTYPE_I64, 1);
  int32_t i = b.gid(0);
  int32_t v = b.load(x, i);
  b.if_(b.cmp(KILN_IR_CMPLT, b.ci(KILN_DTYPE_I64, 0), v));
  b.store(out, i, b.alu(KILN_IR_ADD, v, b.ci(KILN_DTYPE_I64, 1000)));
  b.end_if();
  kiln_program* p = cpu.build(b);
  std::vector<int64_t> xs = {-3, 4, 0, 9, -1, 2, 5, -100};
  std::vector<int64_t> init(8, -7);
  auto* bo = cpu.upload(init);
  auto* bx = cpu.upload(xs);
  cpu.run(p, {bo, bx}, {}, 8);
  auto r = cpu.download<int64_t>(bo, 8);
  for (int k = 0; k < 8; ++k) REQUIRE(r[k] == (xs[k] > 0 ? xs[k] + 1000 : -7));
  free_all<int64_t>(cpu, p, {bo, bx});
}

TEST_CASE("cpu_llvm: a symbolic VAR bounds a loop, and values outside its range are refused", "[memory]") {
  Cpu& cpu = Cpu::get();
  for (kiln_dtype vt : {KILN_DTYPE_I32, KILN_DTYPE_I64}) {
    IrBuilder b(vt == KILN_DTYPE_I32 ? "prefix_sum_i32" : "prefix_sum_i64");
    int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
    int32_t n = b.var(vt, 0, 1, 1000);
    int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0));
    int32_t j = b.range(b.ci(vt, 0), n, KILN_IR_FLAG_REDUCE);
    b.assign(acc, b.alu(KILN_IR_ADD, acc, b.load(x, j)));
    b.end_range(j);
    b.store(out, b.gid(0), acc);
    kiln_program* p = cpu.build(b);
    std::vector<float> xs(1000);
    for (int k = 0; k < 1000; ++k) xs[k] = float(k % 7);
    auto* bo = cpu.alloc(4);
    auto* bx = cpu.upload(xs);
    for (int64_t count : {1, 10, 999, 1000}) {
      cpu.run(p, {bo, bx}, {count}, 1);
      float want = 0;
      for (int k = 0; k < count; ++k) want += xs[k];
      REQUIRE(cpu.download<float>(bo, 1)[0] == want);
    }
    std::string err;
    CHECK(cpu.launch(p, {bo, bx}, {1001}, 1, 1, 1, &err) == KILN_ERR_INVALID);
    CHECK_THAT(err, Catch::Matchers::Contains("outside its declared range [1, 1000]"));
    CHECK(cpu.launch(p, {bo, bx}, {0}, 1, 1, 1, &err) == KILN_ERR_INVALID);
    CHECK(cpu.launch(p, {bo, bx}, {}, 1, 1, 1, &err) == KILN_ERR_INVALID);
    CHECK_THAT(err, Catch::Matchers::Contains("needs 1 variables"));
    free_all<float>(cpu, p, {bo, bx});
  }
}

TEST_CASE("cpu_llvm: 3-D grid: every group sees its x, y, z and local ids are 0", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("grid3d");
  int32_t out = b.param(KILN_DTYPE_I32, 0);
  int32_t x = b.gid(0), y = b.gid(1), z = b.gid(2), lx = b.gid(3), lz = b.gid(5);
  int32_t gx = b.ci(KILN_DTYPE_I32, 7), gy = b.ci(KILN_DTYPE_I32, 5);
  int32_t at = b.alu(KILN_IR_ADD, x, b.alu(KILN_IR_MUL, gx, b.alu(KILN_IR_ADD, y, b.alu(KILN_IR_MUL, gy, z))));
  int32_t v = b.alu(KILN_IR_ADD, x, b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, y, b.ci(KILN_DTYPE_I32, 100)),
                                         b.alu(KILN_IR_MUL, z, b.ci(KILN_DTYPE_I32, 10000))));
  v = b.alu(KILN_IR_ADD, v, b.alu(KILN_IR_ADD, lx, lz));
  b.store(out, at, v);
  kiln_program* p = cpu.build(b);
  std::vector<int32_t> init(7 * 5 * 3, -1);
  auto* bo = cpu.upload(init);
  cpu.run(p, {bo}, {}, 7, 5, 3);
  auto r = cpu.download<int32_t>(bo, init.size());
  for (int zz = 0; zz < 3; ++zz)
    for (int yy = 0; yy < 5; ++yy)
      for (int xx = 0; xx < 7; ++xx) REQUIRE(r[xx + 7 * (yy + 5 * zz)] == xx + 100 * yy + 10000 * zz);
  free_all<int32_t>(cpu, p, {bo});
}

namespace {

// out[i] = i * 3 + 1 over `groups` groups, checked everywhere, on a device with `threads`.
void check_big_grid(Cpu& cpu, uint32_t gx, uint32_t gy) {
  IrBuilder b("big_grid");
  int32_t out = b.param(KILN_DTYPE_U32, 0);
  int32_t at = b.alu(KILN_IR_ADD, b.gid(0), b.alu(KILN_IR_MUL, b.gid(1), b.ci(KILN_DTYPE_I32, gx)));
  int32_t at_u = b.cast(KILN_DTYPE_U32, at);
  b.store(out, at, b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, at_u, b.ci(KILN_DTYPE_U32, 3)), b.ci(KILN_DTYPE_U32, 1)));
  kiln_program* p = cpu.build(b);
  const size_t n = size_t(gx) * gy;
  auto* bo = cpu.alloc(n * 4);
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<uint32_t> zero(n, 0);
    cpu.put(bo, zero.data(), n * 4);
    cpu.run(p, {bo}, {}, gx, gy);
    auto r = cpu.download<uint32_t>(bo, n);
    size_t bad = 0;
    for (size_t k = 0; k < n; ++k) bad += r[k] != uint32_t(k * 3 + 1);
    REQUIRE(bad == 0);
  }
  free_all<uint32_t>(cpu, p, {bo});
}

}  // namespace

TEST_CASE("cpu_llvm: a large grid is spread over the threads and every element is written", "[memory]") {
  SECTION("default thread count") { check_big_grid(Cpu::get(), 1u << 20, 1); }
  SECTION("5 threads (more than cores), 2-D grid with an odd split") {
    Cpu cpu("5");
    kiln_device_caps caps;
    cpu.api().get_caps(cpu.dev(), &caps);
    REQUIRE(caps.compute_units == 5);
    check_big_grid(cpu, 1001, 997);
  }
  SECTION("1 thread") { Cpu cpu("1"); check_big_grid(cpu, 1u << 16, 3); }
}

TEST_CASE("cpu_llvm: concurrent launches from several threads on one device", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("scale_by_var");
  int32_t out = b.param(KILN_DTYPE_I64, 0);
  int32_t v = b.var(KILN_DTYPE_I64, 0, 0, 1000);
  int32_t i = b.cast(KILN_DTYPE_I64, b.gid(0));
  b.store(out, i, b.alu(KILN_IR_MUL, i, v));
  kiln_program* p = cpu.build(b);
  const uint32_t n = 100000;
  std::vector<kiln_buffer*> outs;
  for (int t = 0; t < 4; ++t) outs.push_back(cpu.alloc(n * 8));
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        int64_t mul = t * 100 + rep;
        if (cpu.launch(p, {outs[t]}, {mul}, n) != KILN_OK) { ++bad[t]; continue; }
        std::vector<int64_t> r(n);
        cpu.api().copy_out(cpu.dev(), r.data(), outs[t], 0, n * 8, {nullptr, 0});
        for (uint32_t k = 0; k < n; ++k) bad[t] += r[k] != int64_t(k) * mul;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) REQUIRE(bad[t] == 0);
  for (auto* o : outs) cpu.free(o);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: graphs replay a launch list with new buffers and variables", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder add("g_add");
  {
    int32_t out = add.param(KILN_DTYPE_F32, 0), x = add.param(KILN_DTYPE_F32, 1);
    int32_t v = add.var(KILN_DTYPE_I32, 0, 0, 100);
    int32_t i = add.gid(0);
    add.store(out, i, add.alu(KILN_IR_ADD, add.load(x, i), add.cast(KILN_DTYPE_F32, v)));
  }
  IrBuilder twice("g_twice");
  {
    int32_t out = twice.param(KILN_DTYPE_F32, 0), x = twice.param(KILN_DTYPE_F32, 1);
    int32_t i = twice.gid(0);
    twice.store(out, i, twice.alu(KILN_IR_MUL, twice.load(x, i), twice.cf(KILN_DTYPE_F32, 2.0)));
  }
  kiln_program* pa = cpu.build(add);
  kiln_program* pt = cpu.build(twice);
  const uint32_t n = 5000;
  std::vector<float> xs(n);
  for (uint32_t k = 0; k < n; ++k) xs[k] = float(k);
  auto* x = cpu.upload(xs);
  auto* mid = cpu.alloc(n * 4);
  auto* out = cpu.alloc(n * 4);
  auto* out2 = cpu.alloc(n * 4);

  int64_t var = 3;
  kiln_buffer* b1[] = {mid, x};
  kiln_buffer* b2[] = {out, mid};
  kiln_launch ls[2] = {};
  ls[0] = {pa, b1, 2, &var, 1, {n, 1, 1}, {1, 1, 1}};
  ls[1] = {pt, b2, 2, nullptr, 0, {n, 1, 1}, {1, 1, 1}};
  char err[1024] = "";
  kiln_graph* g = nullptr;
  REQUIRE(cpu.api().graph_create(cpu.dev(), ls, 2, &g, {err, sizeof err}) == KILN_OK);
  for (int64_t v : {3, 7, 100}) {
    var = v;
    kiln_buffer* b2b[] = {v == 7 ? out2 : out, mid};
    ls[1].buffers = b2b;
    REQUIRE(cpu.api().graph_launch(cpu.dev(), g, ls, 2, {err, sizeof err}) == KILN_OK);
    auto r = cpu.download<float>(v == 7 ? out2 : out, n);
    for (uint32_t k = 0; k < n; ++k) REQUIRE(r[k] == (xs[k] + float(v)) * 2.0f);
  }
  // Misuse is refused: other programs, counts, grids, variables out of range.
  kiln_launch swapped[2] = {ls[1], ls[0]};
  CHECK(cpu.api().graph_launch(cpu.dev(), g, swapped, 2, {err, sizeof err}) == KILN_ERR_INVALID);
  CHECK(cpu.api().graph_launch(cpu.dev(), g, ls, 1, {err, sizeof err}) == KILN_ERR_INVALID);
  kiln_launch regrid[2] = {ls[0], ls[1]};
  regrid[1].global_size[0] = n / 2;
  CHECK(cpu.api().graph_launch(cpu.dev(), g, regrid, 2, {err, sizeof err}) == KILN_ERR_INVALID);
  var = 101;
  CHECK(cpu.api().graph_launch(cpu.dev(), g, ls, 2, {err, sizeof err}) == KILN_ERR_INVALID);
  // Unloading a program the graph still names: the graph is refused, then destroyed cleanly.
  var = 1;
  cpu.api().unload(cpu.dev(), pt);
  CHECK(cpu.api().graph_launch(cpu.dev(), g, ls, 2, {err, sizeof err}) == KILN_ERR_INVALID);
  CHECK_THAT(err, Catch::Matchers::Contains("unloaded"));
  cpu.api().graph_destroy(cpu.dev(), g);
  for (auto* buf : {x, mid, out, out2}) cpu.free(buf);
  cpu.api().unload(cpu.dev(), pa);
}

TEST_CASE("cpu_llvm: launch timing, UNROLL loops, compile once and load twice", "[memory]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("unrolled_poly");
  int32_t out = b.param(KILN_DTYPE_F64, 0);
  int32_t i = b.gid(0);
  int32_t xf = b.cast(KILN_DTYPE_F64, i);
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F64, 0.0));
  int32_t k = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 6), KILN_IR_FLAG_UNROLL);
  b.assign(acc, b.alu(KILN_IR_MULADD, acc, xf, b.cast(KILN_DTYPE_F64, k)));
  b.end_range(k);
  b.store(out, i, acc);
  // Compile once, load the same blob twice (what a kernel cache does).
  kiln_kernel kk = b.kernel();
  char* text = nullptr;
  size_t len = 0;
  void* blob = nullptr;
  size_t blob_len = 0;
  char err[4096] = "";
  REQUIRE(cpu.api().render(cpu.dev(), &kk, &text, &len, {err, sizeof err}) == KILN_OK);
  REQUIRE(cpu.api().compile(cpu.dev(), text, len, &blob, &blob_len, {err, sizeof err}) == KILN_OK);
  cpu.api().free_text(cpu.dev(), text);
  kiln_program *p1 = nullptr, *p2 = nullptr;
  REQUIRE(cpu.api().load(cpu.dev(), blob, blob_len, "unrolled_poly", &p1, {err, sizeof err}) == KILN_OK);
  REQUIRE(cpu.api().load(cpu.dev(), blob, blob_len, "unrolled_poly", &p2, {err, sizeof err}) == KILN_OK);
  cpu.api().free_blob(cpu.dev(), blob);
  auto* bo = cpu.alloc(100 * 8);
  for (kiln_program* p : {p1, p2}) {
    double t = -1;
    REQUIRE(cpu.launch(p, {bo}, {}, 100, 1, 1, nullptr, &t) == KILN_OK);
    CHECK(t > 0);
    CHECK(t < 10);
    auto r = cpu.download<double>(bo, 100);
    for (int q = 0; q < 100; ++q) {
      double want = 0;
      for (int m = 0; m < 6; ++m) want = want * q + m;
      REQUIRE(r[q] == want);
    }
  }
  cpu.free(bo);
  cpu.api().unload(cpu.dev(), p1);
  cpu.api().unload(cpu.dev(), p2);
}
