// Reference elementwise semantics: integer division and remainder, shifts, casts, promotion,
// broadcasting.
#include <catch2/catch.hpp>
#include <cmath>

#include "reference/reference.h"

using namespace kiln;
using namespace kiln::ref;

namespace {
NDArray vec(DType t, std::vector<double> v) {
  Shape s{static_cast<int64_t>(v.size())};
  return NDArray(t, s, std::move(v));
}
}  // namespace

TEST_CASE("reference idiv truncates toward zero, mod takes the dividend's sign", "[reference]") {
  NDArray a = vec(DType::I32, {-7, 7, -7, 7, 0});
  NDArray b = vec(DType::I32, {2, 2, -2, -2, 3});
  CHECK(binary(Binary::IDiv, a, b).data == std::vector<double>{-3, 3, 3, -3, 0});
  CHECK(binary(Binary::Mod, a, b).data == std::vector<double>{-1, 1, -1, 1, 0});
  NDArray u = vec(DType::U8, {200, 255}), v = vec(DType::U8, {7, 16});
  CHECK(binary(Binary::IDiv, u, v).data == std::vector<double>{28, 15});
  CHECK(binary(Binary::Mod, u, v).data == std::vector<double>{4, 15});
  CHECK_THROWS_AS(binary(Binary::IDiv, a, vec(DType::I32, {0, 1, 1, 1, 1})), Error);
}

TEST_CASE("reference integer arithmetic wraps in the result type", "[reference]") {
  NDArray a = vec(DType::I8, {100, -100, 127}), b = vec(DType::I8, {100, -100, 1});
  CHECK(binary(Binary::Add, a, b).data == std::vector<double>{-56, 56, -128});
  CHECK(binary(Binary::Mul, a, b).data == std::vector<double>{16, 16, 127});
  NDArray u = vec(DType::U8, {200}), i = vec(DType::I8, {100});
  NDArray s = binary(Binary::Add, u, i);  // u8 + i8 -> i16: no wrap
  CHECK(s.dtype == DType::I16);
  CHECK(s.data == std::vector<double>{300});
  CHECK(unary(Unary::Neg, vec(DType::U8, {1})).data == std::vector<double>{255});
  CHECK(unary(Unary::Abs, vec(DType::I8, {-128})).data == std::vector<double>{-128});
  CHECK(unary(Unary::BitwiseNot, vec(DType::I16, {0})).data == std::vector<double>{-1});
  NDArray big = vec(DType::I32, {2147483647}), two = vec(DType::I32, {2147483647});
  CHECK(binary(Binary::Mul, big, two).data == std::vector<double>{1});  // (2^31-1)^2 mod 2^32
  NDArray l = vec(DType::I64, {9007199254740992.0}), one = vec(DType::I64, {1});
  CHECK_THROWS_AS(binary(Binary::Add, l, one), Error);  // 2^53 + 1: not exact in a double
}

TEST_CASE("reference shifts and bitwise ops", "[reference]") {
  CHECK(binary(Binary::Shr, vec(DType::I8, {-128, -1, 64}), vec(DType::I8, {1, 3, 2})).data ==
        std::vector<double>{-64, -1, 16});
  CHECK(binary(Binary::Shr, vec(DType::U8, {128}), vec(DType::U8, {1})).data ==
        std::vector<double>{64});
  CHECK(binary(Binary::Shl, vec(DType::I8, {64, -1}), vec(DType::I8, {1, 7})).data ==
        std::vector<double>{-128, -128});
  CHECK(binary(Binary::Shl, vec(DType::U32, {3}), vec(DType::U32, {31})).data ==
        std::vector<double>{2147483648.0});
  CHECK_THROWS_AS(binary(Binary::Shl, vec(DType::I8, {1}), vec(DType::I8, {8})), Error);
  CHECK(binary(Binary::And, vec(DType::I16, {-1, 12}), vec(DType::I16, {5, 10})).data ==
        std::vector<double>{5, 8});
  CHECK(binary(Binary::Xor, vec(DType::U8, {255}), vec(DType::U8, {15})).data ==
        std::vector<double>{240});
  NDArray t = vec(DType::Bool, {1, 1, 0}), f = vec(DType::Bool, {1, 0, 0});
  NDArray o = binary(Binary::Or, t, f);
  CHECK(o.dtype == DType::Bool);
  CHECK(o.data == std::vector<double>{1, 1, 0});
}

TEST_CASE("reference division, comparison and float math dtypes", "[reference]") {
  NDArray d = binary(Binary::Div, vec(DType::I32, {7, -1}), vec(DType::I32, {2, 3}));
  CHECK(d.dtype == DType::F32);
  CHECK(d.data[0] == 3.5);
  CHECK(d.data[1] == static_cast<double>(-1.0f / 3.0f));
  NDArray c = binary(Binary::Lt, vec(DType::F16, {1, 2}), vec(DType::I32, {2, 2}));
  CHECK(c.dtype == DType::Bool);
  CHECK(c.data == std::vector<double>{1, 0});
  NDArray e = unary(Unary::Exp, vec(DType::F16, {1}));
  CHECK(e.dtype == DType::F16);
  CHECK(e.data[0] == round_to(DType::F16, std::exp(1.0)));
  NDArray h = binary(Binary::Add, vec(DType::F16, {1}), vec(DType::F16, {std::ldexp(1.0, -11)}));
  CHECK(h.data[0] == 1.0);  // rounded to storage precision
  NDArray g = unary(Unary::GeluTanh, vec(DType::F32, {1}));
  CHECK(g.data[0] == Approx(0.8411919906082768).epsilon(1e-7));
  NDArray ge = unary(Unary::GeluErf, vec(DType::F32, {1}));
  CHECK(ge.data[0] == Approx(0.8413447460685429).epsilon(1e-7));
  NDArray s = unary(Unary::Silu, vec(DType::F32, {2}));
  CHECK(s.data[0] == Approx(1.7615941559557649).epsilon(1e-7));
  CHECK(unary(Unary::Floor, vec(DType::F32, {-1.5})).data[0] == -2);
  CHECK(unary(Unary::Trunc, vec(DType::F32, {-1.5})).data[0] == -1);
}

TEST_CASE("reference casts", "[reference]") {
  CHECK(cast(vec(DType::F32, {-2.75, 2.75, 0.5}), DType::I32).data ==
        std::vector<double>{-2, 2, 0});
  CHECK(cast(vec(DType::F32, {255.9}), DType::U8).data == std::vector<double>{255});
  CHECK_THROWS_AS(cast(vec(DType::F32, {256}), DType::U8), Error);  // undefined in C
  CHECK(cast(vec(DType::I32, {300, -1}), DType::U8).data == std::vector<double>{44, 255});
  CHECK(cast(vec(DType::U16, {65535}), DType::I16).data == std::vector<double>{-1});
  CHECK(cast(vec(DType::F32, {0, -0.5, 3}), DType::Bool).data == std::vector<double>{0, 1, 1});
  CHECK(cast(vec(DType::Bool, {1, 0}), DType::F16).data == std::vector<double>{1, 0});
  CHECK(cast(vec(DType::I32, {2049}), DType::F16).data == std::vector<double>{2048});
  CHECK(cast(vec(DType::F32, {70000}), DType::F16).data[0] == INFINITY);
}

TEST_CASE("reference bitcast", "[reference]") {
  CHECK(bitcast(vec(DType::F32, {1.0}), DType::I32).data == std::vector<double>{1065353216});
  CHECK(bitcast(vec(DType::F16, {-2.0}), DType::I16).data == std::vector<double>{-16384});
  CHECK(bitcast(vec(DType::I16, {0x3C00}), DType::F16).data == std::vector<double>{1.0});
  CHECK(bitcast(vec(DType::F16, {1.0}), DType::BF16).data[0] == 0.0078125);  // 0x3C00 as bf16
  CHECK(bitcast(vec(DType::U32, {0xBF800000u}), DType::F32).data == std::vector<double>{-1.0});
  CHECK_THROWS_AS(bitcast(vec(DType::F32, {1}), DType::I16), Error);
}

TEST_CASE("reference broadcasting and where", "[reference]") {
  NDArray a(DType::F32, {2, 1}, {1, 2}), b(DType::F32, {3}, {10, 20, 30});
  NDArray s = binary(Binary::Add, a, b);
  CHECK(s.shape == Shape{2, 3});
  CHECK(s.data == std::vector<double>{11, 21, 31, 12, 22, 32});
  try {
    binary(Binary::Add, NDArray(DType::F32, {2, 3}), NDArray(DType::F32, {4}));
    FAIL("no error");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("(2, 3)") != std::string::npos);
    CHECK(m.find("(4)") != std::string::npos);
  }
  CHECK(broadcast_shapes({0, 1}, {3}) == Shape{0, 3});
  CHECK(broadcast_shapes({}, {2, 2}) == Shape{2, 2});
  NDArray w = where(NDArray(DType::Bool, {3}, {1, 0, 1}), NDArray(DType::I8, {}, {5}),
                    NDArray(DType::F16, {3}, {0.5, 1.5, 2.5}));
  CHECK(w.dtype == DType::F16);
  CHECK(w.data == std::vector<double>{5, 1.5, 5});
  CHECK(clamp(vec(DType::I32, {-5, 0, 5}), -2, 3).data == std::vector<double>{-2, 0, 3});
}
