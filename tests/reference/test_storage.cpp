// The reference's storage model: float rounding, integer wraparound, bit patterns.
#include <catch2/catch.hpp>
#include <cmath>

#include "reference/reference.h"

using namespace kiln;
using namespace kiln::ref;

TEST_CASE("reference f16 rounding: ties to even, subnormals, overflow", "[reference]") {
  const double u = std::ldexp(1.0, -10);  // f16 spacing at 1
  CHECK(round_to(DType::F16, 1 + u / 2) == 1.0);                 // tie -> even (1.0)
  CHECK(round_to(DType::F16, 1 + 3 * u / 2) == 1 + 2 * u);       // tie -> even (1 + 2u)
  CHECK(round_to(DType::F16, 1 + u / 2 + 1e-9) == 1 + u);        // above the tie
  CHECK(round_to(DType::F16, 65504) == 65504);
  CHECK(round_to(DType::F16, 65519) == 65504);
  CHECK(std::isinf(round_to(DType::F16, 65520)));                // max + half ulp -> inf
  CHECK(round_to(DType::F16, -1e6) == -INFINITY);
  CHECK(round_to(DType::F16, std::ldexp(1.0, -24)) == std::ldexp(1.0, -24));  // min subnormal
  CHECK(round_to(DType::F16, std::ldexp(1.0, -25)) == 0.0);      // tie -> even (0)
  CHECK(round_to(DType::F16, std::ldexp(1.5, -25)) == std::ldexp(1.0, -24));
  CHECK(round_to(DType::F16, std::ldexp(3.0, -25)) == std::ldexp(2.0, -24));  // tie -> even
  CHECK(std::isnan(round_to(DType::F16, NAN)));
  CHECK(round_to(DType::F16, 0.1) == 0.0999755859375);
}

TEST_CASE("reference bf16 and f32 rounding", "[reference]") {
  const double u = std::ldexp(1.0, -7);
  CHECK(round_to(DType::BF16, 1 + u / 2) == 1.0);
  CHECK(round_to(DType::BF16, 1 + 3 * u / 2) == 1 + 2 * u);
  CHECK(round_to(DType::BF16, M_PI) == 3.140625);
  CHECK(round_to(DType::BF16, 3e38) == 226.0 / 128 * std::ldexp(1.0, 127));
  CHECK(round_to(DType::BF16, 3.4e38) == INFINITY);
  CHECK(round_to(DType::F32, 0.1) == static_cast<double>(0.1f));
  CHECK(round_to(DType::F32, 1e39) == INFINITY);
  CHECK(round_to(DType::F32, 1e-45) == static_cast<double>(1e-45f));  // subnormal
  CHECK(epsilon(DType::F16) == std::ldexp(1.0, -10));
  CHECK(epsilon(DType::BF16) == std::ldexp(1.0, -7));
  CHECK(epsilon(DType::F32) == std::ldexp(1.0, -23));
  CHECK(epsilon(DType::I32) == 0);
}

TEST_CASE("reference integer storage wraps around", "[reference]") {
  CHECK(round_to(DType::I8, 200) == -56);
  CHECK(round_to(DType::I8, -129) == 127);
  CHECK(round_to(DType::U8, -1) == 255);
  CHECK(round_to(DType::U16, 70000) == 4464);
  CHECK(round_to(DType::I32, 2147483648.0) == -2147483648.0);
  CHECK(round_to(DType::U32, -1) == 4294967295.0);
  CHECK(round_to(DType::I64, -5) == -5);
  CHECK(round_to(DType::U64, 18446744073709551616.0 + 4096) == 4096);
  CHECK(round_to(DType::Bool, -3) == 1);
  CHECK(round_to(DType::Bool, 0) == 0);
  CHECK_THROWS_AS(round_to(DType::I32, 1.5), Error);
  CHECK(int_min(DType::I16) == -32768);
  CHECK(int_max(DType::U16) == 65535);
}

TEST_CASE("reference bit patterns", "[reference]") {
  CHECK(to_bits(DType::F16, 1.0) == 0x3C00);
  CHECK(to_bits(DType::F16, -2.0) == 0xC000);
  CHECK(to_bits(DType::F16, 65504) == 0x7BFF);
  CHECK(to_bits(DType::F16, INFINITY) == 0x7C00);
  CHECK(to_bits(DType::F16, std::ldexp(1.0, -24)) == 0x0001);
  CHECK(to_bits(DType::F16, std::ldexp(1023.0, -24)) == 0x03FF);
  CHECK(from_bits(DType::F16, 0x3555) == 0.333251953125);
  CHECK(from_bits(DType::F16, 0x8001) == -std::ldexp(1.0, -24));
  CHECK(std::isnan(from_bits(DType::F16, 0x7E00)));
  CHECK(to_bits(DType::BF16, 1.0) == 0x3F80);
  CHECK(to_bits(DType::BF16, M_PI) == 0x4049);
  CHECK(from_bits(DType::BF16, 0xC0A0) == -5.0);
  CHECK(to_bits(DType::F32, 1.0) == 0x3F800000);
  CHECK(to_bits(DType::I8, -1) == 0xFF);
  CHECK(to_bits(DType::I64, -2) == 0xFFFFFFFFFFFFFFFEull);
  CHECK(from_bits(DType::I16, 0x8000) == -32768);
  CHECK(from_bits(DType::U32, 0xFFFFFFFF) == 4294967295.0);
  // Every f16 bit pattern survives decode -> encode (NaNs aside).
  for (uint64_t b = 0; b < 0x10000; ++b) {
    double v = from_bits(DType::F16, b);
    if (!std::isnan(v)) REQUIRE(to_bits(DType::F16, v) == b);
  }
}

TEST_CASE("reference encode/decode round trip", "[reference]") {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8, DType::U8, DType::I16,
                  DType::U16, DType::I32, DType::U32, DType::I64, DType::U64, DType::Bool}) {
    NDArray a(t, {2, 3}, {0, 1, 2, 3, 4, 5});
    std::vector<uint8_t> bytes = encode(a);
    REQUIRE(bytes.size() == 6 * size_of(t));
    NDArray b = decode(t, {2, 3}, bytes.data(), bytes.size());
    CHECK(b.data == a.data);
  }
  uint8_t raw[4] = {0x00, 0x3C, 0x00, 0xC0};
  NDArray h = decode(DType::F16, {2}, raw, 4);
  CHECK(h.data == std::vector<double>{1.0, -2.0});
  CHECK_THROWS_AS(decode(DType::F16, {3}, raw, 4), Error);
}

TEST_CASE("reference dtype promotion", "[reference]") {
  CHECK(promote_types(DType::I8, DType::U8) == DType::I16);
  CHECK(promote_types(DType::U16, DType::I16) == DType::I32);
  CHECK(promote_types(DType::U32, DType::I32) == DType::I64);
  CHECK(promote_types(DType::I8, DType::U16) == DType::I32);
  CHECK(promote_types(DType::I32, DType::U16) == DType::I32);
  CHECK(promote_types(DType::F16, DType::BF16) == DType::F32);
  CHECK(promote_types(DType::F16, DType::I64) == DType::F16);
  CHECK(promote_types(DType::Bool, DType::U8) == DType::U8);
  CHECK(promote_types(DType::F32, DType::F16) == DType::F32);
  CHECK_THROWS_AS(promote_types(DType::I64, DType::U64), Error);
}
