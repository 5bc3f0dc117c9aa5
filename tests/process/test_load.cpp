// A bounded load test: 200 concurrent clients x 5 jobs each. Every job must get exactly one
// terminal reply, and no shared-memory segment may be left behind.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "fixture.h"
#include "kiln/ipc/protocol.h"
#include "kiln/ipc/shm.h"

using namespace kiln::test;
using Clock = std::chrono::steady_clock;

TEST_CASE("200 concurrent clients x 5 jobs: exactly one terminal reply each, no shm left", "[process][load]") {
  constexpr int kClients = 200, kJobs = 5;
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    replicas: 2
    slots: 4
    options: {embedding_dim: 32768}
limits:
  queue_depth: 2000
  shm_threshold: 64KiB
)");
  // Generous waits: on a loaded 2-core machine (make test runs suites in parallel) starting
  // runners and serving 1000 jobs can take many times the ~2 s it takes when idle.
  sup.runner_pid("echo", 0, 60s);
  sup.runner_pid("echo", 1, 60s);

  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  for (int i = 0; i < kClients; ++i) {
    sockets.emplace_back(ctx, zmq::socket_type::dealer);
    sockets.back().set(zmq::sockopt::linger, 0);
    sockets.back().connect(sup.endpoint());
  }
  auto request = [&](int client, int job) {
    json r = {{"id", job}, {"shm", client % 2 == 0}};
    std::string tag = std::string("c") + std::to_string(client) + "j" + std::to_string(job);
    switch (job) {
      case 0: r["kind"] = "Predict"; r["prompt"] = tag; break;
      case 1: r["kind"] = "PredictStream"; r["prompt"] = tag; break;
      case 2: r["kind"] = "Embedding"; r["input"] = tag; break;
      case 3: r["kind"] = "Tokenize"; r["text"] = tag; break;
      default:
        r["kind"] = "Predict";
        r["messages"] = json::array({{{"role", "user"}, {"content", tag}}});
    }
    return r;
  };
  for (int j = 0; j < kJobs; ++j) {
    for (int i = 0; i < kClients; ++i) {
      std::string body = kiln::ipc::encode(request(i, j));
      sockets[i].send(zmq::buffer(body), zmq::send_flags::none);
    }
  }

  std::map<std::pair<int, int>, int> terminals;
  int results = 0, shm_results = 0, wrong = 0;
  std::vector<zmq::pollitem_t> items;
  for (auto& s : sockets) items.push_back({static_cast<void*>(s), 0, ZMQ_POLLIN, 0});
  const auto until = Clock::now() + 120s;
  const int expected = kClients * kJobs;
  int total = 0;
  // After the last terminal, keep listening a little: a duplicate would show up here.
  std::optional<Clock::time_point> linger_until;
  while (Clock::now() < until && (!linger_until || Clock::now() < *linger_until)) {
    zmq::poll(items.data(), items.size(), std::chrono::milliseconds(50));
    for (int i = 0; i < kClients; ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t m;
      while (sockets[i].recv(m, zmq::recv_flags::dontwait)) {
        json r = kiln::ipc::decode(m.data(), m.size());
        if (!kiln::ipc::is_terminal(r)) continue;
        const int job = r["id"].get<int>();
        ++terminals[{i, job}];
        ++total;
        if (r["type"] != "result") {
          ++wrong;
          UNSCOPED_INFO("client " << i << " job " << job << ": " << r.dump());
          continue;
        }
        ++results;
        std::string tag = std::string("c") + std::to_string(i) + "j" + std::to_string(job);
        if ((job == 0 || job == 1 || job == 4) && r["text"] != "echo: " + tag) ++wrong;
        if (job == 2) {
          const json& e = r["embeddings"];
          if (kiln::ipc::is_shm_ref(e)) {
            // Read it and release it, as an ipc client that opted in does.
            auto bytes = kiln::ipc::shm_read(e["shm"], e["size"].get<size_t>());
            if (bytes.size() != 32768 * 4) ++wrong;
            std::string rel = kiln::ipc::encode({{"kind", "Release"}, {"shm", e["shm"]}});
            sockets[i].send(zmq::buffer(rel), zmq::send_flags::none);
            ++shm_results;
          } else if (!e.is_binary() || e.get_binary().size() != 32768 * 4) {
            ++wrong;
          }
        }
      }
    }
    if (total >= expected && !linger_until) linger_until = Clock::now() + 500ms;
  }
  CHECK(total == expected);
  CHECK(terminals.size() == static_cast<size_t>(expected));
  int duplicates = 0;
  for (const auto& [key, n] : terminals) duplicates += n != 1;
  CHECK(duplicates == 0);
  CHECK(results == expected);
  CHECK(wrong == 0);
  CHECK(shm_results == kClients / 2);

  // Released segments are removed by the supervisor; none may remain.
  auto deadline = Clock::now() + 15s;
  while (!sup.shm_segments().empty() && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  CHECK(sup.shm_segments().empty());
  const std::string instance = sup.instance();
  CHECK(WIFEXITED(sup.stop()));
  CHECK(kiln::ipc::shm_list(kiln::ipc::shm_prefix(instance)).empty());
}
