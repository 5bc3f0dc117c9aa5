// Big payloads: shared memory between runner, supervisor and ipc clients that opt in;
// inline or chunked bytes for everyone else (tcp clients), in both directions.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "fixture.h"
#include "kiln/ipc/shm.h"

using namespace kiln::test;
using Clock = std::chrono::steady_clock;

namespace {

// The bytes of a binary value, as a plain vector (json's binary type compares ambiguously).
const std::vector<uint8_t>& bytes_of(const json& v) { return v.get_binary(); }

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

json terminal(RawClient& c, std::vector<json>* pieces = nullptr) {
  while (auto r = c.receive(20s)) {
    if ((*r)["type"] == "data" && pieces) pieces->push_back(*r);
    if ((*r)["type"] == "result" || (*r)["type"] == "error") return *r;
  }
  FAIL("no terminal reply");
  return {};
}

}  // namespace

TEST_CASE("embeddings above the threshold travel in shared memory to ipc clients that opt in", "[process][shm]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options: {embedding_dim: 100000}
limits:
  shm_threshold: 64KiB
  shm_ttl: 400ms
)");
  RawClient raw(sup.endpoint());
  raw.send({{"id", 1}, {"kind", "Embedding"}, {"input", "kiln"}, {"shm", true}});
  json r = terminal(raw);
  REQUIRE(r["type"] == "result");
  REQUIRE(kiln::ipc::is_shm_ref(r["embeddings"]));
  const std::string name = r["embeddings"]["shm"];
  CHECK(name.rfind(kiln::ipc::shm_prefix(sup.instance()), 0) == 0);
  auto shm_bytes = kiln::ipc::shm_read(name, r["embeddings"]["size"].get<size_t>());
  CHECK(shm_bytes.size() == 400000);
  raw.send({{"kind", "Release"}, {"shm", name}});
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 3s));

  // Without opting in, the same bytes come inline.
  raw.send({{"id", 2}, {"kind", "Embedding"}, {"input", "kiln"}});
  json inl = terminal(raw);
  REQUIRE(inl["embeddings"].is_binary());
  CHECK(bytes_of(inl["embeddings"]) == shm_bytes);

  // A client that never releases: the segment goes after limits.shm_ttl.
  raw.send({{"id", 3}, {"kind", "Embedding"}, {"input", "kiln"}, {"shm", true}});
  REQUIRE(kiln::ipc::is_shm_ref(terminal(raw)["embeddings"]));
  CHECK(sup.shm_segments().size() == 1);
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 3s));

  // The Client class reads and releases for its user.
  auto c = sup.client(/*shm=*/true);
  json viaclient = c.call({{"kind", "Embedding"}, {"input", "kiln"}}, 20s);
  CHECK(bytes_of(viaclient["embeddings"]) == shm_bytes);
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 3s));
}

TEST_CASE("tcp clients get big results in chunks and may send big inputs in chunks", "[process][shm]") {
  const int port = free_port();
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(port);
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options: {embedding_dim: 100000}
limits:
  inline_max: 128KiB
  chunk: 64KiB
  max_frame: 1MiB
  max_payload: 4MiB
)", {"{url: " + tcp + ", insecure: true}"});

  RawClient raw(tcp);
  raw.send({{"id", "e"}, {"kind", "Embedding"}, {"input", "kiln"}, {"shm", true}});  // shm ignored on tcp
  std::vector<json> pieces;
  json r = terminal(raw, &pieces);
  REQUIRE(r["type"] == "result");
  REQUIRE(r["embeddings"].is_object());
  CHECK(r["embeddings"]["chunked"] == 400000);
  CHECK(pieces.size() == 7);  // 400000 bytes in 64 KiB pieces
  std::vector<uint8_t> joined;
  for (const auto& p : pieces) {
    CHECK(p["field"] == "embeddings");
    CHECK(p["offset"] == joined.size());
    const auto& d = p["data"].get_binary();
    joined.insert(joined.end(), d.begin(), d.end());
  }
  CHECK(joined.size() == 400000);

  kiln::ipc::ClientOptions opt;
  opt.endpoint = tcp;
  opt.chunk_bytes = 64 << 10;
  kiln::ipc::Client c(opt);
  json whole = c.call({{"kind", "Embedding"}, {"input", "kiln"}}, 20s);
  CHECK(bytes_of(whole["embeddings"]) == joined);

  // 2 MiB of audio: more than one frame may carry, so the client sends it in pieces; the
  // supervisor hands it to the runner in shared memory and removes that afterwards.
  std::vector<float> samples(512 * 1024);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = 0.25f * std::sin(i * 0.01f);
  std::vector<uint8_t> audio(samples.size() * 4);
  std::memcpy(audio.data(), samples.data(), audio.size());
  json tr = c.call({{"kind", "AudioTranscription"}, {"audio", json::binary_t(audio)}}, 30s);
  REQUIRE(tr["type"] == "result");
  CHECK(tr["segments"].size() == 33);  // 524288 samples at 16 kHz
  CHECK(sup.shm_segments().empty());

  // Pieces out of order are refused, and the job still ends.
  raw.send({{"id", "bad"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 8}}}});
  raw.send({{"kind", "Data"}, {"id", "bad"}, {"field", "audio"}, {"offset", 4}, {"data", json::binary_t({1, 2, 3, 4})}});
  json bad = terminal(raw);
  CHECK(bad["code"] == "bad_request");
}

TEST_CASE("stale segments of an instance are removed when its supervisor starts", "[process][shm]") {
  // The instance name is chosen by the fixture; plant a segment under the name it will use
  // by starting once, stopping, planting, starting again with the same config.
  std::string instance;
  {
    SupervisorProcess first(R"(
models:
  - name: echo
    plugin: testmodel
)");
    instance = first.instance();
    std::string stale = kiln::ipc::shm_prefix(instance) + "r99.1";
    first.stop();
    kiln::ipc::shm_write(stale, "left by a crash", 15);
    REQUIRE(kiln::ipc::shm_list(kiln::ipc::shm_prefix(instance)).size() == 1);
    // Restart the same instance from the same config.
    pid_t pid = spawn({bin("kiln-supervisor"), "--config", first.dir() + "/config.yaml"}, first.dir() + "/second.log");
    CHECK(wait_until([&] { return kiln::ipc::shm_list(kiln::ipc::shm_prefix(instance)).empty(); }, 10s));
    kill(pid, SIGTERM);
    CHECK(wait_exit(pid, 10s) != -1);
  }
}
