// Index simplification in the IR builder: ranges and the div/mod splitting rules, checked
// both structurally (what is emitted) and by brute force over every value in range.
#include <catch2/catch.hpp>

#include <functional>
#include <map>

#include "codegen/ir_builder.h"
#include "kiln/device_runtime.h"
#include "kiln/tensor.h"

using namespace kiln;
using namespace kiln::detail;

namespace {

// Evaluates integer instructions of a builder with the atoms bound to values (C semantics).
int64_t eval(const IrBuilder& b, Val v, const std::map<Val, int64_t>& env) {
  if (auto it = env.find(v); it != env.end()) return it->second;
  const kiln_ir_inst& in = b.insts().at(v);
  auto s = [&](int k) { return eval(b, in.src[k], env); };
  switch (in.op) {
    case KILN_IR_CONST:
      return in.imm.i;
    case KILN_IR_ADD:
      return s(0) + s(1);
    case KILN_IR_SUB:
      return s(0) - s(1);
    case KILN_IR_MUL:
      return s(0) * s(1);
    case KILN_IR_IDIV:
      return s(0) / s(1);
    case KILN_IR_MOD:
      return s(0) % s(1);
    case KILN_IR_CMPLT:
      return s(0) < s(1);
    case KILN_IR_CAST:
      return s(0);
    default:
      FAIL("unexpected op " << in.op);
      return 0;
  }
}

size_t count_op(const IrBuilder& b, uint16_t op) {
  size_t n = 0;
  for (const auto& i : b.insts()) n += i.op == op;
  return n;
}

}  // namespace

TEST_CASE("index simplify: (g*64 + j) / 64 and % 64 fold when j < 64", "[core][index]") {
  IrBuilder b;
  Val g = b.special(0, 100);
  Val j = b.mod_const(b.special(1, 1000), 64);  // j in [0, 63]
  Val x = b.add(b.mul_const(g, 64), j);
  size_t divs = count_op(b, KILN_IR_IDIV), mods = count_op(b, KILN_IR_MOD);
  Val d = b.idiv_const(x, 64);
  Val m = b.mod_const(x, 64);
  CHECK(d == g);
  CHECK(m == j);
  CHECK(count_op(b, KILN_IR_IDIV) == divs);  // no division or remainder emitted
  CHECK(count_op(b, KILN_IR_MOD) == mods);
}

TEST_CASE("index simplify: unravel of a ravel gives the parts back", "[core][index]") {
  // flat = (g*4 + r)*1024 + c*16 with r const, c in [0, 63]: /16 % 64 = c, /1024 % 4 = r
  IrBuilder b;
  Val g = b.special(0, 256);
  Val c = b.special(1, 64);
  for (int r = 0; r < 4; ++r) {
    Val flat = b.add(b.mul_const(b.add_const(b.mul_const(g, 4), r), 1024), b.mul_const(c, 16));
    CHECK(b.mod_const(b.idiv_const(flat, 16), 64) == c);
    Val rr = b.mod_const(b.idiv_const(flat, 1024), 4);
    REQUIRE(b.is_const(rr));
    CHECK(b.const_value_int(rr) == r);
  }
  CHECK(count_op(b, KILN_IR_IDIV) == 0);
  CHECK(count_op(b, KILN_IR_MOD) == 0);
}

TEST_CASE("index simplify: results equal the unsimplified C arithmetic", "[core][index]") {
  // Brute force over atom values: sums with negative coefficients, offsets and constants that
  // only sometimes allow a split.
  for (int64_t c : {3, 4, 7, 16}) {
    for (int64_t k : {-5, -1, 1, 2, 4, 8, 12}) {
      for (int64_t off : {-9, 0, 3, 17}) {
        IrBuilder b;
        Val x = b.special(0, 12);
        Val y = b.special(1, 5);
        Val e = b.add_const(b.add(b.mul_const(x, k * c), b.mul_const(y, k)), off);
        Val d = b.idiv_const(e, c), m = b.mod_const(e, c);
        Val lt = b.lt(e, b.const_int(20, DType::I32));
        for (int64_t xv = 0; xv < 12; ++xv)
          for (int64_t yv = 0; yv < 5; ++yv) {
            std::map<Val, int64_t> env{{x, xv}, {y, yv}};
            int64_t ev = xv * k * c + yv * k + off;
            INFO("c=" << c << " k=" << k << " off=" << off << " x=" << xv << " y=" << yv);
            CHECK(eval(b, d, env) == ev / c);
            CHECK(eval(b, m, env) == ev % c);
            CHECK(eval(b, lt, env) == (ev < 20));
          }
      }
    }
  }
}

TEST_CASE("index simplify: comparisons decided by ranges fold", "[core][index]") {
  IrBuilder b;
  Val i = b.mod_const(b.special(0, 1 << 20), 10);  // [0, 9]
  Val t = b.lt(i, b.const_int(10, DType::I32));
  Val f = b.lt(b.const_int(9, DType::I32), i);
  REQUIRE(b.is_const(t));
  CHECK(b.const_value_int(t) == 1);
  REQUIRE(b.is_const(f));
  CHECK(b.const_value_int(f) == 0);
  Val open = b.lt(i, b.const_int(5, DType::I32));
  CHECK_FALSE(b.is_const(open));
}

TEST_CASE("index simplify: values that may wrap are not split", "[core][index]") {
  // A plain (wrapping) integer add of data is an atom: its parts are never pulled apart.
  IrBuilder b;
  Val g = b.special(0, 100);
  Val data = b.alu(KILN_IR_ADD, DType::I32, b.mul_const(g, 64), b.const_int(5, DType::I32));
  Val d = b.idiv_const(data, 64);
  CHECK(b.insts().at(d).op == KILN_IR_IDIV);
}

TEST_CASE("index simplify: a packed matmul still computes the right values", "[core][index]") {
  Device* dev = Device::default_device();
  Tensor a = Tensor::rand({64, 128}, 1, DType::F32, dev);
  Tensor w = Tensor::rand({128, 64}, 2, DType::F32, dev);
  a.realize();
  w.realize();
  // values: against a plain dot product
  auto out = a.matmul(w).to_vector<float>();
  auto av = a.to_vector<float>(), wv = w.to_vector<float>();
  for (int i = 0; i < 64; i += 7)
    for (int j = 0; j < 64; j += 5) {
      double s = 0;
      for (int k = 0; k < 128; ++k) s += double(av[i * 128 + k]) * wv[k * 64 + j];
      CHECK(out[i * 64 + j] == Approx(s).epsilon(1e-5));
    }
}

TEST_CASE("index simplify: lanes stay on an axis whose start is a remainder of a multiple",
          "[core][index]") {
  // a row-major (rows, 8192) view's column j = (g * 16) % 8192, read as 16 lanes from a
  // buffer of 16-wide groups: j is a multiple of 16, so j + l (l < 16) never leaves its group
  IrBuilder b;
  Val g = b.special(0, 32768);
  Val j = b.mod_const(b.mul_const(g, 16), 8192);
  Val row = b.idiv_const(b.mul_const(g, 16), 8192);
  CHECK(b.known_multiple(j, 16));
  CHECK(b.lanes_stay(b.add(b.mul_const(row, 16384), j), 1, 16));
  CHECK(b.lanes_stay(b.add(b.add_const(b.mul_const(row, 16384), 8192), j), 1, 16));
  // not when the remainder's divisor or its dividend is not such a multiple
  Val odd = b.mod_const(b.mul_const(g, 16), 8200);
  CHECK_FALSE(b.known_multiple(odd, 16));
  CHECK_FALSE(b.lanes_stay(odd, 1, 16));
  Val shifted = b.mod_const(b.add_const(b.mul_const(g, 16), 4), 8192);
  CHECK_FALSE(b.known_multiple(shifted, 16));
  CHECK_FALSE(b.lanes_stay(b.add(row, shifted), 1, 16));
  // brute force: j is a multiple of 16 for every g
  for (int64_t gv = 0; gv < 32768; gv += 97) CHECK(eval(b, j, {{g, gv}}) % 16 == 0);
}
