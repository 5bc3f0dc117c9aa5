// Shared-memory segments are reference-counted by the supervisor (jobs, runners and clients
// hold them), removed when the last holder lets go, and recovered when a holder crashes.
#include <catch2/catch.hpp>

#include <signal.h>

#include <cmath>
#include <cstring>
#include <thread>

#include "fixture.h"
#include "kiln/ipc/protocol.h"
#include "kiln/ipc/shm.h"

using namespace kiln::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

json terminal(RawClient& c, const json& id, std::chrono::milliseconds timeout = 20s) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    auto r = c.receive(50ms);
    if (r && (*r)["id"] == id && kiln::ipc::is_terminal(*r)) return *r;
  }
  FAIL("no terminal reply for " << id.dump());
  return {};
}

// f32le mono audio: `seconds` of a sine at 16 kHz.
std::vector<uint8_t> audio_bytes(double seconds) {
  std::vector<float> s(static_cast<size_t>(seconds * 16000));
  for (size_t i = 0; i < s.size(); ++i) s[i] = 0.3f * std::sin(i * 0.05f);
  std::vector<uint8_t> out(s.size() * 4);
  std::memcpy(out.data(), s.data(), out.size());
  return out;
}

// The holders the supervisor's ledger lists for segment `name` (empty when it has none).
std::vector<std::string> holders_of(kiln::ipc::Client& c, const std::string& name) {
  std::vector<std::string> out;
  const json st = c.call({{"kind", "Status"}}, 5s);
  for (const auto& s : st["shm"]["list"])
    if (s["name"] == name)
      for (const auto& h : s["holders"]) out.push_back(h);
  return out;
}

size_t count_prefix(const std::vector<std::string>& v, const std::string& prefix) {
  size_t n = 0;
  for (const auto& x : v) n += x.rfind(prefix, 0) == 0;
  return n;
}

}  // namespace

TEST_CASE("ipc clients send big inputs in shared memory, every holder counts until the last lets go",
          "[process][shm]") {
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(free_port());
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    slots: 1
    options: {token_delay_ms: 150}
)", {"{url: " + tcp + ", insecure: true}"});
  sup.runner_pid("echo");
  const std::string name = kiln::ipc::shm_client_prefix(sup.instance()) + "test.1";
  const auto audio = audio_bytes(6.0);  // 6 segments of 150 ms each
  kiln::ipc::shm_write(name, audio.data(), audio.size());
  const json ref = kiln::ipc::shm_ref(name, audio.size());

  // Two jobs read the same segment; one slot, so "b" waits while "a" runs.
  RawClient raw(sup.endpoint());
  raw.send({{"id", "a"}, {"kind", "AudioTranscription"}, {"audio", ref}});
  raw.send({{"id", "b"}, {"kind", "AudioTranscription"}, {"audio", ref}});
  auto status = sup.client();
  std::vector<std::string> h;
  // "a" at the runner and "b" queued: the two sends arrive in order but are registered
  // asynchronously, so wait for both holds
  const bool dispatched = wait_until(
      [&] {
        h = holders_of(status, name);
        return count_prefix(h, "runner:") == 1 && count_prefix(h, "job:") == 2;
      },
      5s);
  INFO("holders: " << json(h).dump() << "\nstatus: " << sup.status().dump());
  if (!dispatched) {
    while (auto r = raw.receive(100ms)) UNSCOPED_INFO("reply: " << r->dump());
  }
  REQUIRE(dispatched);
  CHECK(count_prefix(h, "job:") == 2);
  CHECK(count_prefix(h, "client:") == 1);  // the client's own, until it sends Release
  raw.send({{"kind", "Release"}, {"shm", name}});

  json a = terminal(raw, "a");
  REQUIRE(a["type"] == "result");
  CHECK(a["segments"].size() == 6);
  // "b" still holds it (queued or running): the segment is still there.
  CHECK(kiln::ipc::shm_list(name).size() == 1);
  json b = terminal(raw, "b");
  REQUIRE(b["type"] == "result");
  CHECK(b["text"] == a["text"]);
  // The last holder let go: removed.
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 3s));

  // What the supervisor refuses: tcp clients, names outside this instance's client prefix,
  // missing segments and sizes that do not match.
  kiln::ipc::shm_write(name, audio.data(), audio.size());
  RawClient remote(tcp);
  remote.send({{"id", 1}, {"kind", "AudioTranscription"}, {"audio", ref}});
  json r1 = terminal(remote, 1);
  CHECK(r1["code"] == "bad_request");
  CHECK_THAT(r1["message"].get<std::string>(), Contains("need an ipc:// endpoint"));
  const std::string stranger = kiln::ipc::shm_prefix(sup.instance()) + "in.77";
  raw.send({{"id", 2}, {"kind", "AudioTranscription"}, {"audio", kiln::ipc::shm_ref(stranger, 8)}});
  CHECK(terminal(raw, 2)["code"] == "forbidden");
  raw.send({{"id", 3}, {"kind", "AudioTranscription"}, {"audio", kiln::ipc::shm_ref(name + "x", 8)}});
  json r3 = terminal(raw, 3);
  CHECK(r3["code"] == "bad_request");
  CHECK_THAT(r3["message"].get<std::string>(), Contains("does not exist"));
  raw.send({{"id", 4}, {"kind", "AudioTranscription"}, {"audio", kiln::ipc::shm_ref(name, 8)}});
  CHECK_THAT(terminal(raw, 4)["message"].get<std::string>(), Contains("holds " + std::to_string(audio.size()) + " bytes"));
  // A refused segment is left alone: it is still its client's to remove.
  CHECK(kiln::ipc::shm_list(name).size() == 1);
  CHECK(sup.status()["shm"]["segments"] == 0);
  kiln::ipc::shm_remove(name);

  // The Client class does all of this for its user.
  auto c = sup.client(/*shm=*/true);
  const auto big = audio_bytes(2.0);
  c.send({{"id", "via-client"}, {"kind", "AudioTranscriptionStream"}, {"audio", json::binary_t(big)}});
  bool seen = false;
  const std::string cprefix = kiln::ipc::shm_client_prefix(sup.instance());
  std::optional<json> done;
  while (!done) {
    auto r = c.receive(10s);
    REQUIRE(r);
    if ((*r)["type"] == "chunk" && !seen) {
      const json st = sup.status();
      for (const auto& seg : st["shm"]["list"]) seen |= seg["name"].get<std::string>().rfind(cprefix, 0) == 0;
    }
    if (kiln::ipc::is_terminal(*r)) done = r;
  }
  CHECK(seen);  // the input travelled in a client segment
  CHECK((*done)["segments"].size() == 2);
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 3s));
}

TEST_CASE("crash recovery: a runner killed while holding segments, and segments nobody claims",
          "[process][shm][faults]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    slots: 1
    options: {token_delay_ms: 100}
limits:
  shm_threshold: 16KiB
  shm_ttl: 500ms
runners:
  restart_backoff_min: 100ms
)");
  sup.runner_pid("echo");
  json st = sup.status();
  const std::string runner = st["models"][0]["replicas"][0]["runner"];
  // Something the runner wrote and never reported (as if it died mid-reply).
  const std::string orphan = kiln::ipc::shm_prefix(sup.instance()) + runner + ".999";
  kiln::ipc::shm_write(orphan, "orphan", 6);
  // Something a client created and never sent (as if it died before sending the job).
  const std::string unsent = kiln::ipc::shm_client_prefix(sup.instance()) + "gone.1";
  kiln::ipc::shm_write(unsent, "unsent", 6);

  // A streaming job (3 s) reads its input from a supervisor-made segment (above the threshold);
  // a second job with its own input waits in the queue.
  RawClient c(sup.endpoint());
  c.send({{"id", "s"}, {"kind", "AudioTranscriptionStream"}, {"audio", json::binary_t(audio_bytes(30.0))}});
  c.send({{"id", "q"}, {"kind", "AudioTranscription"}, {"audio", json::binary_t(audio_bytes(1.5))}});
  auto first = c.receive(10s);
  REQUIRE(first);
  REQUIRE((*first)["type"] == "chunk");
  json list = sup.status()["shm"]["list"];
  REQUIRE(list.size() == 2);  // two input segments: held by their jobs, one also by the runner
  std::string running_input, queued_input;
  for (const auto& s : list) {
    bool by_runner = false;
    for (const auto& h : s["holders"]) by_runner |= h == "runner:" + runner;
    (by_runner ? running_input : queued_input) = s["name"];
  }
  REQUIRE(!running_input.empty());
  REQUIRE(!queued_input.empty());

  REQUIRE(kill(sup.runner_pid("echo"), SIGKILL) == 0);
  json err = terminal(c, "s");
  CHECK(err["code"] == "runner_crashed");  // it had streamed: not run again
  // The dead runner's references and orphans are gone; the queued job's input is not.
  CHECK(wait_until([&] { return kiln::ipc::shm_list(orphan).empty() && kiln::ipc::shm_list(running_input).empty(); }, 3s));
  CHECK(kiln::ipc::shm_list(queued_input).size() == 1);
  json q = terminal(c, "q");
  CHECK(q["type"] == "result");
  CHECK(q["segments"].size() == 2);
  // The never-sent client segment goes once it is older than limits.shm_ttl.
  CHECK(wait_until([&] { return sup.shm_segments().empty(); }, 5s));
}
