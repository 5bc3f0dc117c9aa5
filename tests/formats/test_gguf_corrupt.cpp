// Malformed GGUF files: each must fail with a kiln::Error naming the file (and the key or
// tensor), never crash or read out of bounds (the ASan+UBSan build checks the latter).
#include <catch2/catch.hpp>

#include <random>

#include "byte_writer.h"
#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/gguf.h"

using kiln::gguf::File;
using kiln::test::ByteWriter;

namespace {

constexpr uint32_t kU32 = 4, kString = 8, kArray = 9, kF32 = 0, kQ4_0 = 2, kQ8_0 = 8;

File parse(std::vector<std::byte> bytes, const std::string& name = "bad.gguf") {
  return File::parse(kiln::test::in_memory(std::move(bytes), name));
}

// A header with the given counts; the caller appends metadata and tensor infos.
ByteWriter header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
  ByteWriter w;
  w.raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  return w;
}

void tensor_info(ByteWriter& w, const std::string& name, std::vector<uint64_t> ne, uint32_t type,
                 uint64_t offset) {
  w.str(name).u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t n : ne) w.u64(n);
  w.u32(type).u64(offset);
}

// Two F32 tensors of 8 elements each, laid out per `offsets`, with `data_bytes` of data.
std::vector<std::byte> two_tensors(uint64_t off_a, uint64_t off_b, size_t data_bytes = 64) {
  ByteWriter w = header(2, 0);
  tensor_info(w, "a", {8}, kF32, off_a);
  tensor_info(w, "b", {8}, kF32, off_b);
  w.pad_to(32).zeros(data_bytes);
  return w.bytes;
}

#define REQUIRE_GGUF_ERROR(bytes, ...) \
  CHECK_THROWS_WITH(parse(bytes), Catch::Contains("bad.gguf") && __VA_ARGS__)

}  // namespace

TEST_CASE("GGUF: a well-formed hand-built file parses", "[gguf][corrupt]") {
  File f = parse(two_tensors(0, 32));
  REQUIRE(f.tensors().size() == 2);
  CHECK(f.tensors()[1].file_offset == f.data_offset() + 32);
  // Metadata-only file ending right after the last value (no padding) is fine.
  ByteWriter w = header(0, 1);
  w.str("k").u32(kU32).u32(7);
  CHECK(parse(w.bytes).get("k").as_uint() == 7);
  // Empty arrays are legal.
  ByteWriter e = header(0, 1);
  e.str("empty").u32(kArray).u32(kString).u64(0);
  CHECK(parse(e.bytes).get("empty").size() == 0);
}

TEST_CASE("GGUF: truncation at every byte is refused cleanly", "[gguf][corrupt]") {
  auto full = kiln::test::read_bytes(kiln::test::formats_data("gguf_v3_all.gguf"));
  File whole = parse(full);
  uint64_t data_end = 0;
  for (const auto& t : whole.tensors()) data_end = std::max(data_end, t.file_offset + t.nbytes);
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<std::byte> cut(full.begin(), full.begin() + n);
    if (n < data_end) {
      try {
        parse(cut);
        FAIL("truncated at " << n << " parsed");
      } catch (const kiln::Error& e) {
        if (std::string(e.what()).find("bad.gguf") == std::string::npos)
          FAIL("message lacks the file name: " << e.what());
      }
    } else {
      CHECK_NOTHROW(parse(cut));  // only trailing padding was cut
    }
  }
}

TEST_CASE("GGUF: bad magic and versions", "[gguf][corrupt]") {
  ByteWriter w;
  w.raw("GGML").u32(3).u64(0).u64(0);
  REQUIRE_GGUF_ERROR(w.bytes, Catch::Contains("not a GGUF file"));
  REQUIRE_GGUF_ERROR(header(0, 0, 1).bytes, Catch::Contains("version 1 is not supported"));
  REQUIRE_GGUF_ERROR(header(0, 0, 4).bytes, Catch::Contains("unsupported GGUF version 4"));
  REQUIRE_GGUF_ERROR(header(0, 0, 0x03000000).bytes, Catch::Contains("big-endian"));
  CHECK(parse(header(0, 0, 2).bytes).version() == 2);
}

TEST_CASE("GGUF: hostile counts and lengths", "[gguf][corrupt]") {
  REQUIRE_GGUF_ERROR(header(UINT64_MAX, 0).bytes, Catch::Contains("claims"));
  REQUIRE_GGUF_ERROR(header(0, UINT64_MAX).bytes, Catch::Contains("claims"));
  ByteWriter key = header(0, 1);
  key.u64(UINT64_MAX).raw("abc").zeros(16);
  REQUIRE_GGUF_ERROR(key.bytes, Catch::Contains("truncated") && Catch::Contains("metadata key #0"));
  ByteWriter str = header(0, 1);
  str.str("s").u32(kString).u64(1ull << 62).raw("x");
  REQUIRE_GGUF_ERROR(str.bytes, Catch::Contains("truncated") && Catch::Contains("value of s"));
  ByteWriter arr = header(0, 1);
  arr.str("big").u32(kArray).u32(kU32).u64(1ull << 61).zeros(16);
  REQUIRE_GGUF_ERROR(arr.bytes, Catch::Contains("metadata big") && Catch::Contains("array claims"));
  ByteWriter strings = header(0, 1);
  strings.str("toks").u32(kArray).u32(kString).u64(1000).str("a");
  REQUIRE_GGUF_ERROR(strings.bytes, Catch::Contains("array claims"));
  ByteWriter strings2 = header(0, 1);
  strings2.str("toks").u32(kArray).u32(kString).u64(3).str("a").str("b").u64(99);
  REQUIRE_GGUF_ERROR(strings2.bytes, Catch::Contains("toks[2]"));
}

TEST_CASE("GGUF: unknown value types, deep nesting, duplicate keys", "[gguf][corrupt]") {
  ByteWriter t = header(0, 1);
  t.str("k").u32(13).u32(0);
  REQUIRE_GGUF_ERROR(t.bytes, Catch::Contains("metadata k: unknown value type 13"));
  ByteWriter at = header(0, 1);
  at.str("k").u32(kArray).u32(77).u64(0);
  REQUIRE_GGUF_ERROR(at.bytes, Catch::Contains("unknown array element type 77"));
  ByteWriter deep = header(0, 1);
  deep.str("deep").u32(kArray);
  for (int i = 0; i < 40; ++i) deep.u32(kArray).u64(1);
  deep.u32(kU32).u64(0);
  REQUIRE_GGUF_ERROR(deep.bytes, Catch::Contains("nested deeper"));
  ByteWriter dup = header(0, 2);
  dup.str("k").u32(kU32).u32(1).str("k").u32(kU32).u32(2);
  REQUIRE_GGUF_ERROR(dup.bytes, Catch::Contains("duplicate metadata key 'k'"));
}

TEST_CASE("GGUF: general.alignment must be a UINT32 power of two", "[gguf][corrupt]") {
  for (uint32_t bad : {0u, 3u, 48u}) {
    ByteWriter w = header(0, 1);
    w.str("general.alignment").u32(kU32).u32(bad);
    REQUIRE_GGUF_ERROR(w.bytes, Catch::Contains("power of two"));
  }
  ByteWriter s = header(0, 1);
  s.str("general.alignment").u32(kString).str("32");
  REQUIRE_GGUF_ERROR(s.bytes, Catch::Contains("must be UINT32"));
}

TEST_CASE("GGUF: bad tensor infos name the tensor", "[gguf][corrupt]") {
  auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data = 64) {
    ByteWriter w = header(1, 0);
    tensor_info(w, "blk.0.weight", std::move(ne), type, offset);
    w.pad_to(32).zeros(data);
    return w.bytes;
  };
  REQUIRE_GGUF_ERROR(one({1, 1, 1, 1, 1}, kF32, 0), Catch::Contains("'blk.0.weight' has 5 dimensions"));
  REQUIRE_GGUF_ERROR(one({1ull << 63}, kF32, 0), Catch::Contains("negative or too large"));
  REQUIRE_GGUF_ERROR(one({1ull << 40, 1ull << 40}, kF32, 0), Catch::Contains("overflows"));
  REQUIRE_GGUF_ERROR(one({1ull << 62}, kF32, 0), Catch::Contains("'blk.0.weight'") &&
                                                     Catch::Contains("byte size overflows"));
  REQUIRE_GGUF_ERROR(one({8}, 4, 0), Catch::Contains("unknown GGML type 4"));
  REQUIRE_GGUF_ERROR(one({8}, 1000, 0), Catch::Contains("unknown GGML type 1000"));
  REQUIRE_GGUF_ERROR(one({16, 2}, kQ4_0, 0), Catch::Contains("not a multiple of the Q4_0 block size 32"));
  REQUIRE_GGUF_ERROR(one({8}, kF32, 4), Catch::Contains("not a multiple of the alignment"));
  REQUIRE_GGUF_ERROR(one({8}, kF32, 1ull << 60), Catch::Contains("extends past the end"));
  REQUIRE_GGUF_ERROR(one({32}, kQ8_0, 32, 40), Catch::Contains("extends past the end"));
  REQUIRE_GGUF_ERROR(one({8}, kF32, 0, 31), Catch::Contains("'blk.0.weight'") &&
                                                Catch::Contains("extends past the end"));
  // Infos promise data but the file ends inside the padding before the data section.
  ByteWriter w = header(1, 0);
  tensor_info(w, "t", {8}, kF32, 0);
  w.zeros(1);
  REQUIRE_GGUF_ERROR(w.bytes, Catch::Contains("past the end") || Catch::Contains("would start"));
}

TEST_CASE("GGUF: duplicate and overlapping tensors", "[gguf][corrupt]") {
  ByteWriter dup = header(2, 0);
  tensor_info(dup, "w", {8}, kF32, 0);
  tensor_info(dup, "w", {8}, kF32, 32);
  dup.pad_to(32).zeros(64);
  REQUIRE_GGUF_ERROR(dup.bytes, Catch::Contains("duplicate tensor 'w'"));
  REQUIRE_GGUF_ERROR(two_tensors(0, 0), Catch::Contains("tensors 'a' and 'b' overlap"));
  ByteWriter rev = header(2, 0);  // listed out of order: overlap is found after sorting
  tensor_info(rev, "late", {8}, kF32, 32);
  tensor_info(rev, "early", {16}, kF32, 0);
  rev.pad_to(32).zeros(96);
  REQUIRE_GGUF_ERROR(rev.bytes, Catch::Contains("tensors 'early' and 'late' overlap"));
  CHECK_NOTHROW(parse(two_tensors(32, 0)));  // adjacent, not overlapping
}

TEST_CASE("GGUF: random byte corruption never crashes", "[gguf][corrupt]") {
  auto full = kiln::test::read_bytes(kiln::test::formats_data("gguf_v3_all.gguf"));
  std::mt19937 rng(1234);
  size_t parsed = 0, refused = 0;
  for (int round = 0; round < 3000; ++round) {
    auto bytes = full;
    // Corrupt the header/metadata/tensor-info region, where the parser looks.
    std::uniform_int_distribution<size_t> pos(0, 2600);
    int flips = 1 + round % 4;
    for (int i = 0; i < flips; ++i) bytes[pos(rng)] = static_cast<std::byte>(rng());
    try {
      parse(bytes);
      ++parsed;
    } catch (const kiln::Error& e) {
      ++refused;
      if (std::string(e.what()).find("bad.gguf") == std::string::npos) FAIL(e.what());
    }
  }
  CHECK(parsed + refused == 3000);
  CHECK(refused > 100);
}
