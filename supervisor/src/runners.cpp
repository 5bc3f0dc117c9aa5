// The runner side of the supervisor: the internal protocol (docs/protocol.md, "Supervisor and
// runners"), heartbeats, timeouts, and turning runner replies into client replies (shared
// memory handed on or copied inline, big blobs chunked).
#include <spdlog/spdlog.h>

#include "kiln/error.h"
#include "kiln/ipc/shm.h"
#include "state.h"

namespace kiln::supervisor {

namespace err = ipc::err;

void Supervisor::State::send_to_runner(Runner& r, const json& message) {
  std::string body = ipc::encode(message);
  try {
    if (!backend->send(zmq::buffer(r.uid), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !backend->send(zmq::buffer(body), zmq::send_flags::dontwait)) {
      spdlog::warn("runner {}: message not sent (pipe full)", r.uid);
    }
  } catch (const zmq::error_t& e) {
    // Not connected (yet, or any more): the heartbeat and exit checks deal with it.
    spdlog::debug("runner {}: message not sent: {}", r.uid, e.what());
  }
}

void Supervisor::State::cancel_on_runner(Job& job) {
  auto r = runners.find(job.runner);
  if (r == runners.end()) return;
  if (!job.cancelled_at) job.cancelled_at = Clock::now();
  send_to_runner(r->second, json{{"t", "cancel"}, {"job", job.uid}});
}

namespace {

// Removes every shared-memory segment a runner's message refers to (a reply nobody will
// read). `prefix` is that runner's own: it cannot make the supervisor remove anything else.
void drop_segments(const json& body, const std::string& prefix) {
  if (!body.is_object()) return;
  for (const auto& v : body) {
    if (ipc::is_shm_ref(v)) {
      std::string name = v["shm"];
      if (name.rfind(prefix, 0) == 0) ipc::shm_remove(name);
    }
  }
}

std::string human_bytes(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1ull << 20));
  else std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  return buf;
}

}  // namespace

void Supervisor::State::release_inputs(const Job& job, const std::string& runner_uid) {
  for (const auto& v : job.request)
    if (ipc::is_shm_ref(v)) segments.release(v["shm"], runner_holder(runner_uid));
}

void Supervisor::State::deliver_blobs(Job& job, const Runner& r, json& body, std::vector<json>& pieces_out) {
  const Limits& lim = config.limits;
  const std::string own = shm_prefix + r.uid + ".";
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (ipc::is_shm_ref(*it)) {
      std::string name = (*it)["shm"];
      uint64_t size = (*it)["size"];
      if (name.rfind(own, 0) != 0 || segments.contains(name)) {
        throw Error("runner " + r.uid + " sent a shared-memory name that is not its own: " + name);
      }
      if (job.client_shm && size >= lim.shm_threshold_bytes) {
        // The handle goes to the client as is; the client holds it until Release.
        segments.acquire(name, size, client_holder(job.client), /*once=*/true,
                         Clock::now() + std::chrono::milliseconds(lim.shm_ttl_ms));
        continue;
      }
      std::vector<uint8_t> bytes;
      try {
        bytes = ipc::shm_read(name, size);
      } catch (...) {
        ipc::shm_remove(name);
        throw;
      }
      ipc::shm_remove(name);
      *it = json::binary_t(std::move(bytes));
    }
    if (it->is_binary() && it->get_binary().size() > lim.inline_max_bytes) {
      const auto& bytes = it->get_binary();
      for (size_t off = 0; off < bytes.size(); off += lim.chunk_bytes) {
        size_t n = std::min<size_t>(lim.chunk_bytes, bytes.size() - off);
        pieces_out.push_back(json{{"type", "data"}, {"field", it.key()}, {"offset", off}, {"size", bytes.size()},
                                  {"data", json::binary_t(std::vector<uint8_t>(bytes.begin() + off,
                                                                               bytes.begin() + off + n))}});
      }
      *it = json{{"chunked", bytes.size()}};
    }
  }
}

void Supervisor::State::on_backend_message(std::vector<zmq::message_t>& frames) {
  if (frames.size() != 2) return;
  const std::string uid = frames[0].to_string();
  auto rit = runners.find(uid);
  json msg;
  try {
    msg = ipc::decode(frames[1].data(), frames[1].size());
  } catch (const ipc::ProtocolError& e) {
    spdlog::error("runner {}: malformed message ignored: {}", uid, e.what());
    return;
  }
  if (rit == runners.end()) {
    // A runner this supervisor no longer tracks (killed, late message): drop its payloads.
    if (msg.contains("body")) drop_segments(msg["body"], shm_prefix + uid + ".");
    return;
  }
  Runner& r = rit->second;
  r.last_seen = Clock::now();
  const std::string t = msg.value("t", "");
  Model* m = find_model(r.model);
  if (!m) return;

  if (t == "hello") {
    r.connected = true;
    if (r.state == RunnerState::Draining) {
      send_to_runner(r, json{{"t", "drain"}});
      return;
    }
    r.state = RunnerState::Starting;
    json spec = {{"t", "load"},
                 {"model", m->cfg.to_json()},
                 {"plugin_paths", config.plugin_paths},
                 {"heartbeat_ms", config.runners.heartbeat_ms},
                 {"supervisor_timeout_ms", config.runners.heartbeat_timeout_ms},
                 {"shm_prefix", shm_prefix + uid + "."},
                 {"shm_threshold", config.limits.shm_threshold_bytes}};
    send_to_runner(r, spec);
    return;
  }
  if (t == "hb") return;
  if (t == "state") {
    const std::string s = msg.value("state", "");
    if (r.state == RunnerState::Draining) return;
    if (s == "loading") {
      r.state = RunnerState::Loading;
    } else if (s == "warming") {
      r.state = RunnerState::Warming;
      spdlog::info("model '{}' replica {}: warming up", r.model, r.replica);
    } else if (s == "ready") {
      r.state = RunnerState::Ready;
      r.stable = true;
      m->metadata = msg.value("metadata", json::object());
      if (m->metadata.contains("memory_bytes") && m->metadata["memory_bytes"].is_number_unsigned()) {
        m->reported_memory = m->metadata["memory_bytes"];
      }
      m->last_error.clear();
      m->failed = false;
      spdlog::info("model '{}' replica {}: ready (runner {})", r.model, r.replica, r.uid);
      notify_load_waiters(*m);
      dispatch(*m);
    } else if (s == "failed") {
      r.failure = msg.value("error", std::string("load failed"));
      spdlog::error("model '{}' replica {}: {}", r.model, r.replica, r.failure);
    }
    return;
  }
  if (t == "progress") {
    json p = msg;
    p.erase("t");
    p["replica"] = r.replica;
    r.progress = p;
    auto now = Clock::now();
    if (now - r.last_progress_log > std::chrono::seconds(1)) {
      r.last_progress_log = now;
      uint64_t read = p.value("bytes_read", uint64_t{0}), total = p.value("bytes_total", uint64_t{0});
      uint64_t kern = p.value("kernels_compiled", uint64_t{0}), kern_total = p.value("kernels_total", uint64_t{0});
      std::string line = p.value("stage", std::string("loading"));
      if (read || total) line += " " + human_bytes(read) + (total ? " of " + human_bytes(total) : "");
      line += ", " + std::to_string(kern) + (kern_total ? " of " + std::to_string(kern_total) : "") + " kernels compiled";
      spdlog::info("model '{}' replica {}: {}", r.model, r.replica, line);
    }
    for (uint64_t w : m->load_waiters) {
      auto it = jobs.find(w);
      if (it != jobs.end()) reply(it->second, ipc::make_progress(it->second.id, p));
    }
    return;
  }
  if (t == "reply") return on_runner_reply(r, msg);
  spdlog::warn("runner {}: unknown message type '{}'", uid, t);
}

void Supervisor::State::on_runner_reply(Runner& r, const json& msg) {
  uint64_t uid = msg.value("job", uint64_t{0});
  json body = msg.value("body", json::object());
  const bool terminal = ipc::is_terminal(body);
  const std::string own = shm_prefix + r.uid + ".";
  auto it = jobs.find(uid);
  if (it == jobs.end() || it->second.runner != r.uid) {
    drop_segments(body, own);
    return;
  }
  Job& job = it->second;
  if (terminal) {
    r.jobs.erase(uid);
    job.runner.clear();
    release_inputs(job, r.uid);
  }
  if (job.state == Job::State::Done) {
    // Nobody waits for it any more (cancelled, past its deadline, client gone).
    drop_segments(body, own);
    if (terminal) finish(job);
  } else {
    std::vector<json> pieces;
    try {
      deliver_blobs(job, r, body, pieces);
    } catch (const Error& e) {
      drop_segments(body, own);
      body = ipc::make_error(job.id, err::kInternal, e.what());
      if (!terminal) cancel_on_runner(job);
      pieces.clear();
    }
    for (auto& p : pieces) {
      p["id"] = job.id;
      job.sent_output = true;
      send_to_client(job.client, p);
    }
    reply(job, std::move(body));
  }
  if (terminal) {
    if (Model* m = find_model(r.model)) dispatch(*m);
  }
}

void Supervisor::State::check_runners() {
  const auto now = Clock::now();
  const auto hb_timeout = std::chrono::milliseconds(config.runners.heartbeat_timeout_ms);
  std::vector<std::pair<std::string, std::string>> exited;
  for (auto& [uid, r] : runners) {
    if (auto how = r.process->exited()) {
      exited.emplace_back(uid, *how);
      continue;
    }
    if (!r.kill_reason.empty()) continue;  // already killed, waiting for the exit
    if (r.connected && now - r.last_seen > hb_timeout) {
      r.kill_reason = "sent no heartbeat for " + std::to_string(config.runners.heartbeat_timeout_ms) + " ms (hung); killed";
    } else if (!r.connected && now - r.spawned_at > hb_timeout + std::chrono::seconds(10)) {
      r.kill_reason = "never connected; killed";
    } else if (r.state != RunnerState::Ready && r.state != RunnerState::Draining &&
               now - r.spawned_at > std::chrono::milliseconds(config.runners.start_timeout_ms)) {
      r.kill_reason = "did not become ready within runners.start_timeout; killed";
    }
    if (r.kill_reason.empty()) {
      for (uint64_t j : r.jobs) {
        auto it = jobs.find(j);
        if (it != jobs.end() && it->second.cancelled_at &&
            now - *it->second.cancelled_at > std::chrono::milliseconds(config.runners.cancel_grace_ms)) {
          r.kill_reason = "did not stop a cancelled job within runners.cancel_grace; killed";
          break;
        }
      }
    }
    if (!r.kill_reason.empty()) {
      spdlog::warn("model '{}' replica {}: runner {} {}", r.model, r.replica, uid, r.kill_reason);
      r.process->kill();
    }
    // A runner that has stayed ready a while clears its replica's crash count.
    if (r.state == RunnerState::Ready && now - r.spawned_at > std::chrono::seconds(30)) {
      if (Model* m = find_model(r.model)) m->slots[r.replica].failures = 0;
    }
  }
  for (auto& [uid, how] : exited) {
    auto it = runners.find(uid);
    if (it != runners.end()) on_runner_exit(it->second, how);
  }
  if (now - last_heartbeat_sent >= std::chrono::milliseconds(config.runners.heartbeat_ms)) {
    last_heartbeat_sent = now;
    for (auto& [uid, r] : runners)
      if (r.connected) send_to_runner(r, json{{"t", "hb"}});
  }
}

}  // namespace kiln::supervisor
