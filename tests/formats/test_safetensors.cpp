// Safetensors reader against files written by the reference `safetensors` package
// (tools/fixtures/formats/make_safetensors_fixtures.py), then hand-built broken files.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "byte_writer.h"
#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/quant.h"
#include "kiln/safetensors.h"

using kiln::safetensors::File;
using kiln::test::ByteWriter;
using nlohmann::json;

namespace {

File parse(std::vector<std::byte> bytes) {
  return File::parse(kiln::test::in_memory(std::move(bytes), "bad.safetensors"));
}

// A file whose header is exactly `header` (no padding) followed by `data_bytes` zero bytes.
std::vector<std::byte> with_header(const std::string& header, size_t data_bytes) {
  ByteWriter w;
  w.u64(header.size()).raw(header).zeros(data_bytes);
  return w.bytes;
}

bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::memcmp(&a, &b, 4) == 0;
}

#define REQUIRE_ST_ERROR(bytes, ...) \
  CHECK_THROWS_WITH(parse(bytes), Catch::Contains("bad.safetensors") && __VA_ARGS__)

}  // namespace

TEST_CASE("safetensors: every dtype reads as the reference wrote it", "[safetensors]") {
  json expected = json::parse(kiln::test::read_text(kiln::test::formats_data("st_expected.json")));
  auto floats = kiln::test::read_bytes(kiln::test::formats_data("st_expected.f32"));
  File file = File::open(kiln::test::formats_data("st_all.safetensors"));
  CHECK(file.header_size() == expected["header_size"].get<uint64_t>());
  CHECK(file.metadata() == expected["metadata"].get<std::map<std::string, std::string>>());
  REQUIRE(file.tensors().size() == expected["tensors"].size());
  uint64_t previous_end = 0;
  for (const auto& t : file.tensors()) {
    INFO(t.name);
    const json& e = expected["tensors"][t.name];
    CHECK(t.dtype_name == e["dtype"].get<std::string>());
    CHECK(kiln::weight_type_name(t.type) == t.dtype_name);
    CHECK(t.shape == e["shape"].get<std::vector<int64_t>>());
    CHECK(t.begin == e["data_offsets"][0].get<uint64_t>());
    CHECK(t.end == e["data_offsets"][1].get<uint64_t>());
    CHECK(t.begin == previous_end);  // listed in data order
    previous_end = t.end;
    CHECK(t.data.data() == file.mapping()->data() + file.data_offset() + t.begin);
    CHECK(file.find_tensor(t.name) == &t);
    size_t count = e["count"];
    REQUIRE(t.elements == count);
    std::vector<float> want(count);
    if (count) std::memcpy(want.data(), floats.data() + e["expected_offset"].get<size_t>(), count * 4);
    std::vector<float> got = kiln::dequantize(t.type, t.data, t.elements);
    for (size_t i = 0; i < count; ++i)
      if (!same_float(got[i], want[i])) FAIL("element " << i << ": " << got[i] << " vs " << want[i]);
  }
  CHECK(file.find_tensor("scalar")->shape.empty());
  CHECK(file.find_tensor("empty")->nbytes == 0);
  CHECK(file.find_tensor("missing") == nullptr);
}

TEST_CASE("safetensors: header checks", "[safetensors][corrupt]") {
  REQUIRE_ST_ERROR(std::vector<std::byte>(5), Catch::Contains("shorter than the 8-byte"));
  ByteWriter huge;
  huge.u64(100'000'001).raw("{}");
  REQUIRE_ST_ERROR(huge.bytes, Catch::Contains("exceeds the limit"));
  ByteWriter past;
  past.u64(64).raw("{}");
  REQUIRE_ST_ERROR(past.bytes, Catch::Contains("truncated") && Catch::Contains("JSON header"));
  REQUIRE_ST_ERROR(with_header("{\"a\":", 0), Catch::Contains("not valid JSON"));
  REQUIRE_ST_ERROR(with_header("[1,2]", 0), Catch::Contains("not a JSON object"));
  REQUIRE_ST_ERROR(with_header("{\"\xff\xfe\":{}}", 0), Catch::Contains("not valid JSON"));
  REQUIRE_ST_ERROR(with_header("{\"a\":{\"b\":{\"c\":{\"d\":1}}}}", 0), Catch::Contains("nests deeper"));
  std::string deep(100000, '[');
  REQUIRE_ST_ERROR(with_header("{\"a\":" + deep, 0), Catch::Contains("nests deeper"));
  REQUIRE_ST_ERROR(with_header("{\"__metadata__\":{\"k\":1}}", 0), Catch::Contains("'k' is not a string"));
  // Empty header and whitespace padding are fine, as in files the reference writes.
  CHECK(parse(with_header("{}      ", 0)).tensors().empty());
}

TEST_CASE("safetensors: tensor entry checks name the tensor", "[safetensors][corrupt]") {
  auto one = [](const std::string& entry, size_t data) {
    return with_header("{\"w.0\":" + entry + "}", data);
  };
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 4),
                   Catch::Contains("'w.0'") && Catch::Contains("past the end"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}", 8),
                   Catch::Contains("'w.0': unknown dtype 'F31'"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}", 8),
                   Catch::Contains("'w.0': shape [3] of F32 takes 12 bytes but data_offsets span 8"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}", 8),
                   Catch::Contains("non-negative integer"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}", 8),
                   Catch::Contains("non-negative integer"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}", 8),
                   Catch::Contains("overflows"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}", 8),
                   Catch::Contains("end 0 < begin 8"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}", 8),
                   Catch::Contains("[begin, end]"));
  REQUIRE_ST_ERROR(one("{\"shape\":[2],\"data_offsets\":[0,8]}", 8), Catch::Contains("missing string 'dtype'"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}", 8), Catch::Contains("missing array 'shape'"));
  REQUIRE_ST_ERROR(one("[]", 8), Catch::Contains("not an object"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}", 16),
                   Catch::Contains("leaves a gap"));
  REQUIRE_ST_ERROR(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 12),
                   Catch::Contains("data section has 12 bytes but the tensors cover 8"));
  CHECK(parse(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8)).tensors().size() == 1);
}

TEST_CASE("safetensors: duplicate and overlapping tensors", "[safetensors][corrupt]") {
  const std::string t = "{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}";
  REQUIRE_ST_ERROR(with_header("{\"a\":" + t + ",\"a\":" + t + "}", 4),
                   Catch::Contains("duplicate tensor name 'a'"));
  REQUIRE_ST_ERROR(with_header("{\"a\":" + t + ",\"b\":" + t + "}", 4), Catch::Contains("overlaps"));
  REQUIRE_ST_ERROR(
      with_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}", 6),
      Catch::Contains("'b' overlaps"));
}

TEST_CASE("safetensors: truncation and random corruption never crash", "[safetensors][corrupt]") {
  auto full = kiln::test::read_bytes(kiln::test::formats_data("st_all.safetensors"));
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<std::byte> cut(full.begin(), full.begin() + n);
    try {
      parse(cut);
      FAIL("truncated at " << n << " parsed");
    } catch (const kiln::Error& e) {
      if (std::string(e.what()).find("bad.safetensors") == std::string::npos) FAIL(e.what());
    }
  }
  std::mt19937 rng(99);
  size_t refused = 0;
  for (int round = 0; round < 2000; ++round) {
    auto bytes = full;
    std::uniform_int_distribution<size_t> pos(0, 8 + 1224);
    for (int i = 0; i <= round % 3; ++i) bytes[pos(rng)] = static_cast<std::byte>(rng());
    try {
      parse(bytes);
    } catch (const kiln::Error&) {
      ++refused;
    }
  }
  CHECK(refused > 1000);
}
