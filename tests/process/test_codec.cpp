// libkiln_ipc units: the MessagePack checker and codec, shared-memory blobs, endpoints.
#include <catch2/catch.hpp>

#include <random>

#include "kiln/error.h"
#include "kiln/ipc/codec.h"
#include "kiln/ipc/endpoint.h"
#include "kiln/ipc/protocol.h"
#include "kiln/ipc/shm.h"

using kiln::ipc::json;
using Catch::Matchers::Contains;

namespace {
json sample() {
  return {{"id", "x1"},
          {"kind", "PredictStream"},
          {"messages", json::array({{{"role", "user"}, {"content", "héllo"}}})},
          {"max_tokens", 12},
          {"temperature", 0.5},
          {"seed", -3},
          {"blob", json::binary_t(std::vector<uint8_t>{0, 1, 2, 255})},
          {"nested", {{"a", json::array({1, 2.5, nullptr, true, "s"})}}}};
}
}  // namespace

TEST_CASE("codec: round trip, including binary", "[ipc]") {
  json m = sample();
  std::string bytes = kiln::ipc::encode(m);
  CHECK(kiln::ipc::check_msgpack(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()).empty());
  json back = kiln::ipc::decode(bytes.data(), bytes.size());
  CHECK(back == m);
  CHECK(back["blob"].is_binary());
}

TEST_CASE("codec: every truncation and corruption is refused cleanly", "[ipc]") {
  std::string bytes = kiln::ipc::encode(sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK_THROWS_AS(kiln::ipc::decode(bytes.data(), n), kiln::ipc::ProtocolError);
  }
  std::mt19937 rng(42);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = bytes;
    for (int k = 0; k < 1 + i % 4; ++k) m[rng() % m.size()] = static_cast<char>(rng());
    try {
      json j = kiln::ipc::decode(m.data(), m.size());
      CHECK(j.is_object());
      ++accepted;
    } catch (const kiln::ipc::ProtocolError& e) {
      CHECK(e.code() == "bad_request");
    }
  }
  CHECK(accepted < 20000);
}

TEST_CASE("codec: nesting depth and container lengths are bounded", "[ipc]") {
  auto nested = [](size_t depth) {
    std::string s(depth, '\x91');  // array of one element, `depth` times
    s += '\x01';
    return s;
  };
  std::string ok = "\x81\xa1x" + nested(60);
  CHECK(kiln::ipc::check_msgpack(reinterpret_cast<const uint8_t*>(ok.data()), ok.size()).empty());
  std::string deep = "\x81\xa1x" + nested(100000);
  std::string why = kiln::ipc::check_msgpack(reinterpret_cast<const uint8_t*>(deep.data()), deep.size());
  CHECK_THAT(why, Contains("nesting deeper than 64"));
  std::string lie("\x81\xa1x\xdf\x7f\xff\xff\xff", 8);  // a map claiming 2^31 entries
  CHECK_THAT(kiln::ipc::check_msgpack(reinterpret_cast<const uint8_t*>(lie.data()), lie.size()),
             Contains("container length exceeds the message"));
  std::string bin("\x81\xa1x\xc6\xff\xff\xff\xff\x00", 9);  // bin32 of 4 GiB, 1 byte present
  CHECK_THAT(kiln::ipc::check_msgpack(reinterpret_cast<const uint8_t*>(bin.data()), bin.size()),
             Contains("truncated"));
  CHECK_THROWS_AS(kiln::ipc::decode("\x91\x01", 2), kiln::ipc::ProtocolError);  // not a map
  CHECK_THROWS_AS(kiln::ipc::decode("\x81\x01\x01", 3), kiln::ipc::ProtocolError);  // int key
}

TEST_CASE("protocol: strict field readers name the field", "[ipc]") {
  json m = {{"n", "seven"}, {"ok", 1}, {"id", json::array()}};
  try {
    kiln::ipc::opt_int(m, "n");
    FAIL();
  } catch (const kiln::ipc::ProtocolError& e) {
    CHECK_THAT(e.what(), Contains("'n' must be an integer"));
  }
  CHECK_THROWS_AS(kiln::ipc::opt_bool(m, "ok"), kiln::ipc::ProtocolError);
  CHECK_THROWS_AS(kiln::ipc::check_job_id(m["id"]), kiln::ipc::ProtocolError);
  CHECK_THROWS_AS(kiln::ipc::check_job_id(std::string(257, 'x')), kiln::ipc::ProtocolError);
  CHECK_NOTHROW(kiln::ipc::check_job_id(12));
  CHECK(kiln::ipc::parse_job_kind("AudioTranscriptionStream").has_value());
  CHECK_FALSE(kiln::ipc::parse_job_kind("predict").has_value());
  CHECK(kiln::ipc::job_kind_names().size() == 14);
}

TEST_CASE("shared memory blobs: write, read, size check, remove, list", "[ipc]") {
  const std::string prefix = "kiln.unit" + std::to_string(getpid()) + ".";
  const std::string name = prefix + "a";
  kiln::ipc::shm_write(name, "abcdef", 6);
  CHECK_THROWS_AS(kiln::ipc::shm_write(name, "x", 1), kiln::Error);  // exists
  auto bytes = kiln::ipc::shm_read(name, 6);
  CHECK(std::string(bytes.begin(), bytes.end()) == "abcdef");
  CHECK_THROWS_WITH(kiln::ipc::shm_read(name, 7), Contains("holds 6 bytes"));
  CHECK(kiln::ipc::shm_list(prefix) == std::vector<std::string>{name});
  CHECK(kiln::ipc::shm_remove(name));
  CHECK_FALSE(kiln::ipc::shm_remove(name));
  CHECK_THROWS_AS(kiln::ipc::shm_read(name, 6), kiln::Error);
  CHECK_FALSE(kiln::ipc::valid_shm_name("../etc/passwd"));
  CHECK_THROWS_AS(kiln::ipc::shm_read("../x", 1), kiln::Error);
  CHECK(kiln::ipc::is_shm_ref(kiln::ipc::shm_ref(name, 6)));
}

TEST_CASE("endpoints and keys", "[ipc]") {
  CHECK(kiln::ipc::parse_endpoint("ipc:///tmp/a.sock").is_ipc);
  CHECK(kiln::ipc::parse_endpoint("tcp://127.0.0.1:5555").port == 5555);
  CHECK_THROWS_WITH(kiln::ipc::parse_endpoint("ipc://relative.sock"), Contains("absolute path"));
  CHECK_THROWS_WITH(kiln::ipc::parse_endpoint("tcp://host"), Contains("tcp://HOST:PORT"));
  CHECK_THROWS_WITH(kiln::ipc::parse_endpoint("tcp://h:99999"), Contains("bad port"));
  CHECK_THROWS_WITH(kiln::ipc::parse_endpoint("http://x"), Contains("only ipc:// and tcp://"));
  CHECK_THROWS_WITH(kiln::ipc::parse_endpoint("ipc:///" + std::string(200, 'a')), Contains("longer than 107"));
  auto keys = kiln::ipc::generate_curve_keys();
  CHECK(kiln::ipc::valid_z85_key(keys.public_key));
  CHECK(kiln::ipc::curve_public_key(keys.secret_key) == keys.public_key);
  CHECK_FALSE(kiln::ipc::valid_z85_key("short"));
}
