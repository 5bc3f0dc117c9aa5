// kiln::dequantize against gguf-py's reference dequantizers (gguf.quants), bit for bit.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/gguf.h"
#include "kiln/quant.h"

using nlohmann::json;

namespace {

uint32_t bits_of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Equal bits, or both NaN (NaN payloads are not part of the contract).
bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return bits_of(a) == bits_of(b);
}

}  // namespace

TEST_CASE("dequantize matches gguf-py for every GGUF tensor type in the fixture", "[quant]") {
  json expected =
      json::parse(kiln::test::read_text(kiln::test::formats_data("gguf_expected.json")))["tensors"];
  auto floats_bytes = kiln::test::read_bytes(kiln::test::formats_data("gguf_expected.f32"));
  auto file = kiln::gguf::File::open(kiln::test::formats_data("gguf_v3_all.gguf"));
  std::set<std::string> seen;
  for (const auto& t : file.tensors()) {
    INFO(t.name << " " << kiln::weight_type_name(t.type));
    const json& e = expected[t.name];
    size_t count = e["count"], offset = e["expected_offset"];
    REQUIRE(count == t.elements);
    std::vector<float> want(count);
    std::memcpy(want.data(), floats_bytes.data() + offset, count * 4);
    std::vector<float> got = kiln::dequantize(t.type, t.data, t.elements);
    size_t mismatches = 0;
    for (size_t i = 0; i < count; ++i)
      if (!same_float(got[i], want[i]) && mismatches++ < 5)
        FAIL_CHECK("element " << i << ": got " << got[i] << " want " << want[i]);
    CHECK(mismatches == 0);
    seen.insert(std::string(kiln::weight_type_name(t.type)));
  }
  for (const char* type : {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K",
                           "Q5_K", "Q6_K", "Q2_K", "Q3_K", "IQ4_NL", "MXFP4"})
    CHECK(seen.count(type) == 1);
}

TEST_CASE("fp16 and F8 conversions are exact over every encoding", "[quant]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const int sign = (h >> 15) ? -1 : 1;
    const int exp = (h >> 10) & 31, mant = h & 1023;
    float got = kiln::fp16_to_float(static_cast<uint16_t>(h));
    if (exp == 31) {
      CHECK((mant ? std::isnan(got) : std::isinf(got)));
      continue;
    }
    double want = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    if (!same_float(got, static_cast<float>(sign * want))) FAIL("fp16 " << h);
    CHECK(std::signbit(got) == (sign < 0));
  }
  // E5M2 is the top byte of an fp16.
  for (uint32_t b = 0; b < 256; ++b)
    CHECK(same_float(kiln::f8_e5m2_to_float(static_cast<uint8_t>(b)),
                     kiln::fp16_to_float(static_cast<uint16_t>(b << 8))));
  // E4M3FN: spot values from the OCP spec.
  CHECK(kiln::f8_e4m3_to_float(0x7E) == 448.0f);       // max normal
  CHECK(kiln::f8_e4m3_to_float(0x08) == 0.015625f);    // min normal 2^-6
  CHECK(kiln::f8_e4m3_to_float(0x01) == 0.001953125f); // min subnormal 2^-9
  CHECK(kiln::f8_e4m3_to_float(0xB8) == -1.0f);
  CHECK(std::isnan(kiln::f8_e4m3_to_float(0x7F)));
  CHECK(std::isnan(kiln::f8_e4m3_to_float(0xFF)));
  CHECK(kiln::f8_e4m3_to_float(0x78) == 256.0f);  // no infinities: exponent 15 is a number
  CHECK(kiln::bf16_to_float(0x3F80) == 1.0f);
}

TEST_CASE("dequantize refuses wrong sizes and undecodable types", "[quant]") {
  std::vector<std::byte> block(34);
  CHECK(kiln::dequantize(kiln::WeightType::Q8_0, block, 32).size() == 32);
  CHECK_THROWS_WITH(kiln::dequantize(kiln::WeightType::Q8_0, block, 16),
                    Catch::Contains("whole number of Q8_0 blocks"));
  CHECK_THROWS_WITH(kiln::dequantize(kiln::WeightType::Q8_0, block, 64),
                    Catch::Contains("take 68 bytes, got 34"));
  CHECK_THROWS_AS(kiln::dequantize(kiln::WeightType::IQ2_XXS, block, 256), kiln::Error);
  std::vector<std::byte> f64(8);
  double big = 1e300;
  std::memcpy(f64.data(), &big, 8);
  CHECK(std::isinf(kiln::dequantize(kiln::WeightType::F64, f64, 1)[0]));
}
