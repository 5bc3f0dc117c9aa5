// Model lifecycle: load on first use with progress, preload, Free, idle unload, LRU unloading
// under a memory budget, queue limits, load errors, and runners dying with their supervisor.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <thread>

#include "fixture.h"
#include "kiln/ipc/shm.h"

using namespace kiln::test;
using Catch::Matchers::Contains;
using Clock = std::chrono::steady_clock;

namespace {

std::string state_of(const SupervisorProcess& sup, const std::string& model) {
  const json st = sup.status();
  for (const auto& m : st["models"])
    if (m["name"] == model) return m["state"];
  return "?";
}

bool wait_state(const SupervisorProcess& sup, const std::string& model, const std::string& state,
                std::chrono::milliseconds timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (state_of(sup, model) == state) return true;
    std::this_thread::sleep_for(30ms);
  }
  return false;
}

// Running (a zombie nobody reaped yet counts as dead).
bool alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  auto paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

}  // namespace

TEST_CASE("Load streams progress (bytes read) and answers when the model is ready", "[process][lifecycle]") {
  SupervisorProcess sup(std::string(R"(
models:
  - name: slow
    plugin: testmodel
    path: )") + KILN_TEST_DATA_DIR + R"(/process/echo.testmodel.json
    options: {load_delay_ms: 1500}
  - name: eager
    plugin: testmodel
    preload: true
)");
  CHECK(wait_state(sup, "eager", "ready", 10s));  // loaded without a request
  CHECK(state_of(sup, "slow") == "unloaded");
  auto c = sup.client();
  int progress = 0;
  uint64_t bytes = 0;
  json r = c.call({{"kind", "Load"}, {"model", "slow"}}, 20s, [&](const json& p) {
    CHECK(p["type"] == "progress");
    ++progress;
    bytes = std::max<uint64_t>(bytes, p.value("bytes_read", uint64_t{0}));
  });
  REQUIRE(r["type"] == "result");
  CHECK(r["state"] == "ready");
  CHECK(progress >= 2);
  CHECK(bytes > 0);
  CHECK(state_of(sup, "slow") == "ready");

  // Free: the runner goes away and the model reads as unloaded; the next job loads it again.
  const int pid = sup.runner_pid("slow");
  json freed = c.call({{"kind", "Free"}, {"model", "slow"}}, 10s);
  CHECK(freed["state"] == "unloaded");
  CHECK(state_of(sup, "slow") == "unloaded");
  CHECK_FALSE(alive(pid));
}

TEST_CASE("Load answers once every replica (or the number asked for) is ready", "[process][lifecycle]") {
  TempDir locks;
  SupervisorProcess sup(R"(
models:
  - name: pair
    plugin: testmodel
    replicas: 2
    options: {load_delay_ms: 600, load_lock: )" + locks.path() + R"(/load.lock}
)");
  auto c = sup.client();
  json bad = c.call({{"kind", "Load"}, {"model", "pair"}, {"replicas", 3}}, 5s);
  CHECK(bad["code"] == "bad_request");
  CHECK_THAT(bad["message"].get<std::string>(), Contains("field 'replicas' must be 1..2"));
  // The replicas load one after another (the lock): the second is ready ~600 ms after the
  // first, and only then does Load answer.
  const auto t0 = Clock::now();
  json r = c.call({{"kind", "Load"}, {"model", "pair"}}, 20s);
  REQUIRE(r["type"] == "result");
  CHECK(Clock::now() - t0 >= 1100ms);
  CHECK(r["replicas_ready"] == 2);
  json st = sup.status();
  for (const auto& rep : st["models"][0]["replicas"]) CHECK(rep["state"] == "ready");
  // Asking for fewer than are ready answers at once.
  json one = c.call({{"kind", "Load"}, {"model", "pair"}, {"replicas", 1}}, 5s);
  CHECK(one["replicas_ready"] == 2);
}

TEST_CASE("idle models are unloaded, and a memory budget unloads the least recently used", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: idle
    plugin: testmodel
    idle_unload: 300ms
  - name: a
    plugin: testmodel
    memory: 600MiB
  - name: b
    plugin: testmodel
    memory: 600MiB
limits:
  memory_budget: 1GiB
)");
  auto c = sup.client();
  CHECK(c.call({{"kind", "Predict"}, {"model", "idle"}, {"prompt", "x"}}, 20s)["text"] == "echo: x");
  CHECK(wait_state(sup, "idle", "unloaded", 5s));
  CHECK(c.call({{"kind", "Predict"}, {"model", "idle"}, {"prompt", "y"}}, 20s)["text"] == "echo: y");

  CHECK(c.call({{"kind", "Predict"}, {"model", "a"}, {"prompt", "1"}}, 20s)["text"] == "echo: 1");
  CHECK(state_of(sup, "a") == "ready");
  CHECK(c.call({{"kind", "Predict"}, {"model", "b"}, {"prompt", "2"}}, 20s)["text"] == "echo: 2");
  CHECK(state_of(sup, "b") == "ready");
  CHECK(state_of(sup, "a") == "unloaded");
  CHECK_THAT(sup.log(), Contains("unloading model 'a' (least recently used) to make room for 'b'"));
}

TEST_CASE("a full queue refuses jobs with queue_full, and every job still gets one reply", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    slots: 1
    options: {token_delay_ms: 20}
limits:
  queue_depth: 2
)");
  sup.runner_pid("echo");
  auto c = sup.client();
  for (int i = 0; i < 6; ++i) c.send({{"id", i}, {"kind", "Predict"}, {"prompt", "q"}});
  int ok = 0, full = 0;
  for (int n = 0; n < 6; ++n) {
    auto r = c.receive(20s);
    REQUIRE(r);
    ok += (*r)["type"] == "result";
    full += (*r).value("code", "") == "queue_full";
  }
  CHECK(ok == 3);  // one running, two queued
  CHECK(full == 3);
}

TEST_CASE("a model whose load fails reports it, and a later request tries again", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: broken
    plugin: testmodel
    options: {token_delay_ms: "slow"}
)");
  auto c = sup.client();
  json r = c.call({{"kind", "Predict"}, {"model", "broken"}, {"prompt", "x"}}, 20s);
  CHECK(r["code"] == "load_failed");
  CHECK_THAT(r["message"].get<std::string>(), Contains("option token_delay_ms must be an integer"));
  CHECK(state_of(sup, "broken") == "failed");
  json again = c.call({{"kind", "Load"}, {"model", "broken"}}, 20s);
  CHECK(again["code"] == "load_failed");
}

TEST_CASE("runners die with their supervisor, even after kill -9", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    replicas: 2
)");
  const int r0 = sup.runner_pid("echo", 0), r1 = sup.runner_pid("echo", 1);
  CHECK(r0 != r1);
  kill(sup.pid(), SIGKILL);
  auto until = Clock::now() + 5s;
  while ((alive(r0) || alive(r1)) && Clock::now() < until) std::this_thread::sleep_for(20ms);
  CHECK_FALSE(alive(r0));
  CHECK_FALSE(alive(r1));
}

TEST_CASE("SIGTERM: jobs in flight get shutting_down, runners stop, the supervisor exits", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options: {token_delay_ms: 20}
)");
  const int runner = sup.runner_pid("echo");
  auto c = sup.client();
  c.send({{"id", "s"}, {"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000}});
  REQUIRE(c.receive(5s));
  const std::string instance = sup.instance();
  kill(sup.pid(), SIGTERM);
  bool got = false;
  for (int i = 0; i < 100 && !got; ++i) {
    auto r = c.receive(50ms);
    if (r && (*r)["type"] == "error") {
      CHECK((*r)["code"] == "shutting_down");
      got = true;
    }
  }
  CHECK(got);
  const auto t0 = Clock::now();
  int status = sup.stop();  // (a second SIGTERM changes nothing) waits and reaps
  CHECK(Clock::now() - t0 < 5s);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto until = Clock::now() + 3s;
  while (alive(runner) && Clock::now() < until) std::this_thread::sleep_for(20ms);
  CHECK_FALSE(alive(runner));
  CHECK(kiln::ipc::shm_list(kiln::ipc::shm_prefix(instance)).empty());
}

TEST_CASE("the runner opens the configured device plugin, or says why it cannot", "[process][lifecycle]") {
  SupervisorProcess sup(R"(
models:
  - name: oncpu
    plugin: testmodel
    device: cpu
  - name: nodevice
    plugin: testmodel
    device: warp_drive
  - name: badindex
    plugin: testmodel
    device: cpu
    device_index: 7
)");
  auto c = sup.client();
  json md = c.call({{"kind", "ModelMetadata"}, {"model", "oncpu"}}, 30s);
  INFO(md.dump());
  CHECK(md["metadata"]["device"] == "cpu_llvm");
  json none = c.call({{"kind", "Load"}, {"model", "nodevice"}}, 30s);
  CHECK(none["code"] == "load_failed");
  CHECK_THAT(none["message"].get<std::string>(), Contains("device plugin 'warp_drive' not found"));
  json idx = c.call({{"kind", "Load"}, {"model", "badindex"}}, 30s);
  CHECK(idx["code"] == "load_failed");
  CHECK_THAT(idx["message"].get<std::string>(), Contains("cpu_llvm: sees 1 device(s)"));
}
