// Faults: a runner killed mid-stream, a hung runner, malformed and oversized messages, a
// client that vanishes mid-stream. The supervisor must keep serving everyone else.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>
#include <zmq.hpp>

#include "fixture.h"
#include "kiln/ipc/codec.h"
#include "kiln/model.h"
#include "kiln/ipc/protocol.h"

using namespace kiln::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

// Waits for the terminal reply of `id` on `c`, counting chunks; nullopt on timeout.
std::optional<json> terminal_of(kiln::ipc::Client& c, const json& id, std::chrono::milliseconds timeout,
                                int* chunks = nullptr) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    auto r = c.receive(50ms);
    if (!r || (*r)["id"] != id) continue;
    if ((*r)["type"] == "chunk" && chunks) ++*chunks;
    if (kiln::ipc::is_terminal(*r)) return r;
  }
  return std::nullopt;
}

bool predict_works(const SupervisorProcess& sup, const std::string& prompt = "still here") {
  auto c = sup.client();
  json r = c.call({{"kind", "Predict"}, {"prompt", prompt}}, 20s);
  return r.value("text", "") == "echo: " + prompt;
}

}  // namespace

TEST_CASE("kill -9 of a runner mid-stream: error within 2 s, restart with backoff, queued jobs complete",
          "[process][faults]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    slots: 2
    options: {token_delay_ms: 20}
runners:
  restart_backoff_min: 500ms
)");
  const int pid = sup.runner_pid("echo");
  auto streamer = sup.client();
  auto silent = sup.client();
  auto waiter = sup.client();
  streamer.send({{"id", "s"}, {"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000}});
  int chunks = 0;
  while (chunks < 5) {
    auto r = streamer.receive(5s);
    REQUIRE(r);
    if ((*r)["type"] == "chunk") ++chunks;
  }
  // The second slot runs a Predict, which sends nothing before its result.
  silent.send({{"id", "p"}, {"kind", "Predict"}, {"prompt", "silent"}, {"ignore_eos", true}, {"max_tokens", 60}});
  auto both_running = [&] {
    json st = sup.status();
    return st["models"][0]["replicas"][0].value("jobs", 0) == 2;
  };
  auto until = Clock::now() + 5s;
  while (!both_running() && Clock::now() < until) std::this_thread::sleep_for(10ms);
  REQUIRE(both_running());
  // Three jobs queue behind them.
  for (int i = 0; i < 3; ++i) waiter.send({{"id", i}, {"kind", "Predict"}, {"prompt", "queued " + std::to_string(i)}});
  std::this_thread::sleep_for(100ms);

  const auto killed_at = Clock::now();
  REQUIRE(kill(pid, SIGKILL) == 0);
  auto err = terminal_of(streamer, "s", 5s);
  const auto latency = Clock::now() - killed_at;
  REQUIRE(err);
  CHECK((*err)["type"] == "error");
  CHECK((*err)["code"] == "runner_crashed");  // it had streamed: never run twice
  CHECK(latency < 2s);

  // The restart waits runners.restart_backoff_min.
  const int new_pid = sup.runner_pid("echo");
  CHECK(Clock::now() - killed_at >= 500ms);
  CHECK(new_pid != pid);
  CHECK_THAT(sup.log(), Contains("restarting in 500 ms"));

  // The queued jobs run on the new runner, and so does the Predict that had sent nothing.
  int done = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = terminal_of(waiter, i, 20s);
    REQUIRE(r);
    CHECK((*r)["text"] == "echo: queued " + std::to_string(i));
    done += (*r)["type"] == "result";
  }
  CHECK(done == 3);
  auto p = terminal_of(silent, "p", 20s);
  REQUIRE(p);
  CHECK((*p)["type"] == "result");
  CHECK_THAT((*p)["text"].get<std::string>(), Catch::Matchers::StartsWith("echo: silent"));
  CHECK((*p)["usage"]["completion_tokens"] == 60);
  CHECK_FALSE(streamer.receive(200ms));  // nothing more for "s"
  json st = sup.status();
  CHECK(st["models"][0]["restarts"].get<int>() >= 1);
  CHECK(st["jobs_in_flight"] == 0);
}

TEST_CASE("a hung runner (no heartbeats) is killed and replaced while the supervisor serves on", "[process][faults]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options: {token_delay_ms: 20}
  - name: other
    plugin: testmodel
runners:
  heartbeat: 100ms
  heartbeat_timeout: 800ms
  restart_backoff_min: 50ms
)");
  const int pid = sup.runner_pid("echo");
  sup.runner_pid("other");
  auto c = sup.client();
  c.send({{"id", "s"}, {"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000}});
  REQUIRE(c.receive(5s));
  REQUIRE(kill(pid, SIGSTOP) == 0);
  // Meanwhile the supervisor answers other models' jobs at once.
  auto t0 = Clock::now();
  CHECK(c.call({{"kind", "Predict"}, {"model", "other"}, {"prompt", "hi"}}, 5s)["text"] == "echo: hi");
  CHECK(Clock::now() - t0 < 500ms);
  auto err = terminal_of(c, "s", 5s);
  REQUIRE(err);
  CHECK((*err)["code"] == "runner_crashed");
  CHECK_THAT((*err)["message"].get<std::string>(), Contains("heartbeat"));
  CHECK(sup.runner_pid("echo") != pid);
  CHECK(predict_works(sup));
  kill(pid, SIGKILL);  // (already killed by the supervisor; harmless)
}

TEST_CASE("malformed messages, unknown kinds and oversized frames do not disturb other clients", "[process][faults]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
limits:
  max_frame: 2MiB
  max_payload: 512KiB
  chunk: 256KiB
)");
  auto bad = sup.client();
  auto expect_error = [&](const std::string& frame, const std::string& code) {
    bad.send_raw(frame);
    auto r = bad.receive(5s);
    REQUIRE(r);
    CHECK((*r)["type"] == "error");
    CHECK((*r)["code"] == code);
    return *r;
  };
  expect_error("\xc1", "bad_request");                              // never-used type byte
  expect_error("\x92\x01", "bad_request");                          // truncated array
  expect_error(std::string("\xdd\xff\xff\xff\xff", 5), "bad_request");  // array length lie
  expect_error(std::string(1000, '\x91') + "\x01", "bad_request");  // nested 1000 deep
  expect_error("\x93\x01\x02\x03", "bad_request");                  // not a map
  expect_error(kiln::ipc::encode({{"id", 1}, {"kind", "Predict"}}) + "x", "bad_request");  // trailing
  json r = expect_error(kiln::ipc::encode({{"id", "a"}, {"kind", "Teleport"}}), "unknown_kind");
  CHECK(r["id"] == "a");
  expect_error(kiln::ipc::encode({{"kind", "Predict"}}), "bad_request");  // no id
  expect_error(kiln::ipc::encode({{"id", json::array()}, {"kind", "Health"}}), "bad_request");
  expect_error(kiln::ipc::encode({{"id", 2}, {"kind", "Predict"}, {"model", "nope"}, {"prompt", "x"}}), "unknown_model");
  expect_error(kiln::ipc::encode({{"id", 3}, {"kind", "Predict"}, {"temperature", "hot"}, {"prompt", "x"}}), "bad_request");
  expect_error(kiln::ipc::encode({{"id", 4}, {"kind", "Predict"}}), "bad_request");  // no prompt
  expect_error(kiln::ipc::encode({{"id", 5}, {"kind", "Embedding"}, {"input", 5}}), "bad_request");
  expect_error(kiln::ipc::encode({{"id", 6}, {"kind", "Transcribe"}, {"input", 5}}), "unknown_kind");
  // MessagePack does not promise UTF-8: an id with other bytes is still an id (it once made
  // the supervisor throw while keying the job, and the client got no reply at all).
  const std::string odd("\xff\xfe", 2);
  bad.send_raw(kiln::ipc::encode({{"id", odd}, {"kind", "Health"}}));
  auto odd_reply = bad.receive(5s);
  REQUIRE(odd_reply);
  CHECK((*odd_reply)["type"] == "result");
  CHECK((*odd_reply)["id"] == odd);
  // A payload over limits.max_payload (but inside max_frame) is refused with an error.
  expect_error(kiln::ipc::encode({{"id", 7}, {"kind", "AudioTranscription"},
                                  {"audio", json::binary_t(std::vector<uint8_t>(600 << 10))}}),
               "payload_too_large");
  // A frame over limits.max_frame: ZeroMQ drops that connection; nothing comes back.
  bad.send_raw(std::string(3 << 20, 'x'));
  CHECK_FALSE(bad.receive(500ms));

  // Duplicate ids in flight on one connection: a request still waiting for its chunked
  // input stays in flight until cancelled.
  auto c = sup.client();
  c.send_raw(kiln::ipc::encode({{"id", "dup"}, {"kind", "AudioTranscription"}, {"audio", {{"chunked", 100}}}}));
  c.send_raw(kiln::ipc::encode({{"id", "dup"}, {"kind", "Health"}}));
  auto dup = c.receive(5s);
  REQUIRE(dup);
  CHECK((*dup)["code"] == "duplicate_id");
  CHECK((*dup)["id"] == "dup");
  c.send({{"id", "stop"}, {"kind", "Cancel"}, {"target", "dup"}});
  int cancelled = 0, results = 0;
  for (int i = 0; i < 2; ++i) {
    auto rr = c.receive(5s);
    REQUIRE(rr);
    cancelled += (*rr)["id"] == "dup" && (*rr)["code"] == "cancelled";
    results += (*rr)["id"] == "stop" && (*rr)["cancelled"] == true;
  }
  CHECK(cancelled == 1);
  CHECK(results == 1);

  CHECK(predict_works(sup));
}

TEST_CASE("a client that disconnects mid-stream gets its job cancelled", "[process][faults]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    slots: 1
    options: {token_delay_ms: 20}
)");
  sup.runner_pid("echo");
  {
    auto gone = sup.client();
    gone.send({{"id", 1}, {"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000}});
    int chunks = 0;
    while (chunks < 3) {
      auto r = gone.receive(5s);
      REQUIRE(r);
      chunks += (*r)["type"] == "chunk";
    }
  }  // the client's socket closes here, mid-stream
  // The only slot frees up quickly, so a new job does not wait for the endless stream.
  auto t0 = Clock::now();
  CHECK(predict_works(sup, "after"));
  CHECK(Clock::now() - t0 < 3s);
  json st = sup.status();
  CHECK(st["jobs_in_flight"] == 0);
}

TEST_CASE("wrong-ABI and missing model plugins give the documented load errors", "[process][faults]") {
  SupervisorProcess sup(std::string(R"(
plugin_paths: [)") + BAD_PLUGIN_DIR + R"(]
models:
  - name: good
    plugin: testmodel
  - name: future
    plugin: badabi
  - name: missing
    plugin: nosuchplugin
)");
  auto c = sup.client();
  json future = c.call({{"kind", "Predict"}, {"model", "future"}, {"prompt", "x"}}, 20s);
  CHECK(future["code"] == "load_failed");
  CHECK_THAT(future["message"].get<std::string>(), Contains("badabi.so"));
  CHECK_THAT(future["message"].get<std::string>(), Contains("implements contract version 999, this Kiln needs " + std::to_string(KILN_MODEL_API_VERSION)));
  json missing = c.call({{"kind", "Load"}, {"model", "missing"}}, 20s);
  CHECK(missing["code"] == "load_failed");
  CHECK_THAT(missing["message"].get<std::string>(), Contains("model plugin 'nosuchplugin' not found"));
  json st = sup.status();
  for (const auto& m : st["models"]) {
    if (m["name"] == "future") CHECK(m["state"] == "failed");
  }
  CHECK(c.call({{"kind", "Predict"}, {"model", "good"}, {"prompt", "x"}}, 20s)["text"] == "echo: x");
}

TEST_CASE("a model plugin that needs a device refuses device none with the documented error", "[process][faults]") {
  SupervisorProcess sup(std::string(R"(
plugin_paths: [)") + DEVICE_PLUGIN_DIR + R"(]
models:
  - name: nodev
    plugin: testmodel_device
    device: none
  - name: oncpu
    plugin: testmodel_device
    device: cpu
)");
  auto c = sup.client();
  json r = c.call({{"kind", "Predict"}, {"model", "nodev"}, {"prompt", "x"}}, 20s);
  CHECK(r["code"] == "load_failed");
  CHECK_THAT(r["message"].get<std::string>(),
             Contains("model plugin 'testmodel_device' needs a device; set device: auto, cpu, cuda or hip for model 'nodev'"));
  // The same plugin on a device loads and serves.
  json md = c.call({{"kind", "ModelMetadata"}, {"model", "oncpu"}}, 30s);
  INFO(md.dump());
  CHECK(md["metadata"]["plugin"] == "testmodel_device");
  CHECK(md["metadata"]["device"] == "cpu_llvm");
}
