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
}

TEST_CASE("chunked inputs: pieces in any order, duplicates, overlaps, missing pieces and limits", "[process][shm]") {
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(free_port());
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
limits:
  chunk: 16KiB
  max_frame: 64KiB
  max_payload: 1MiB
  chunk_timeout: 1s
)", {"{url: " + tcp + ", insecure: true}"});
  RawClient raw(tcp);
  std::vector<uint8_t> audio(64000);  // 16000 f32 samples
  for (size_t i = 0; i < audio.size() / 4; ++i) {
    float v = 0.5f * std::sin(i * 0.02f);
    std::memcpy(&audio[i * 4], &v, 4);
  }
  auto piece = [&](const json& id, size_t off, size_t n) {
    return json{{"kind", "Data"}, {"id", id}, {"field", "audio"}, {"offset", off},
                {"data", json::binary_t(std::vector<uint8_t>(audio.begin() + off, audio.begin() + off + n))}};
  };
  // Reference: the same audio inline.
  raw.send({{"id", "inline"}, {"kind", "AudioTranscription"}, {"audio", json::binary_t(audio)}});
  json want = terminal(raw);
  REQUIRE(want["type"] == "result");

  // Four pieces, out of order: the job starts once every byte is there.
  raw.send({{"id", "shuffled"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", audio.size()}}}});
  for (size_t k : {3, 1, 0, 2}) raw.send(piece("shuffled", k * 16000, 16000));
  json got = terminal(raw);
  REQUIRE(got["type"] == "result");
  CHECK(got["text"] == want["text"]);

  auto expect_bad = [&](const json& id, const std::string& needle) {
    json r = terminal(raw);
    CHECK(r["id"] == id);
    CHECK(r["code"] == "bad_request");
    CHECK_THAT(r["message"].get<std::string>(), Catch::Matchers::Contains(needle));
    // The job has its terminal reply: later pieces for it get no second one.
    raw.send(piece(id, 0, 4));
    CHECK_FALSE(raw.receive(300ms));
  };
  raw.send({{"id", "dup"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 8}}}});
  raw.send(piece("dup", 4, 4));
  raw.send(piece("dup", 4, 4));
  expect_bad("dup", "field 'audio': piece at offset 4 (4 bytes) is a duplicate");

  raw.send({{"id", "overlap"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 12}}}});
  raw.send(piece("overlap", 0, 8));
  raw.send(piece("overlap", 4, 4));
  expect_bad("overlap", "overlaps the piece at offset 0");

  raw.send({{"id", "past"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 8}}}});
  raw.send(piece("past", 6, 4));
  expect_bad("past", "runs past the announced size of 8 bytes");

  // A piece that never comes: after limits.chunk_timeout the job fails, naming the gap.
  raw.send({{"id", "gap"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 16}}}});
  raw.send(piece("gap", 0, 4));
  raw.send(piece("gap", 12, 4));
  const auto t0 = Clock::now();
  expect_bad("gap", "field 'audio': 8 of 16 bytes arrived, missing bytes 4..11");
  CHECK(Clock::now() - t0 >= 900ms);

  // Announcing more than limits.max_payload is refused at once; its pieces are dropped.
  raw.send({{"id", "big"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 2 << 20}}}});
  json big = terminal(raw);
  CHECK(big["code"] == "payload_too_large");
  raw.send(piece("big", 0, 16000));
  CHECK_FALSE(raw.receive(300ms));

  // The supervisor still serves, holds no half-received input, and left nothing in /dev/shm.
  raw.send({{"id", "h"}, {"kind", "Health"}});
  CHECK(terminal(raw)["type"] == "result");
  json st = sup.status();
  CHECK(st["jobs_in_flight"] == 0);
  CHECK(sup.shm_segments().empty());
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
