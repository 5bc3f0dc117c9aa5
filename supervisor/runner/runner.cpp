// kiln-runner: hosts one model on one device for a supervisor. The main thread owns the
// socket to the supervisor (heartbeats, jobs, cancellation); a loader thread loads the
// model; `slots` worker threads run jobs. Threads hand their outgoing messages to the main
// thread through an inproc PUSH/PULL pair (ZeroMQ sockets are not shared across threads).
#include "runner.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "jobs.h"
#include "kiln/error.h"
#include "kiln/ipc/codec.h"
#include "kiln/ipc/protocol.h"
#include "kiln/ipc/shm.h"
#include "model_host.h"

namespace kiln::runner {

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kOutbox = "inproc://runner-outbox";

struct QueuedJob {
  uint64_t uid;
  std::string kind;
  json request;
  std::shared_ptr<CancelFlag> cancel;
};

}  // namespace

struct Runner::Impl {
  RunnerOptions opt;
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::dealer};
  zmq::socket_t outbox{context, zmq::socket_type::pull};

  // Shared with the loader and workers.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<QueuedJob> queue;
  std::map<uint64_t, std::shared_ptr<CancelFlag>> running;  // queued or running jobs
  std::unique_ptr<ModelHost> host;
  bool stopping = false;
  std::atomic<uint64_t> next_segment{1};

  // Main thread only.
  json spec;
  std::string state = "starting";
  bool draining = false;
  Clock::time_point last_from_supervisor = Clock::now();
  std::thread loader;
  std::vector<std::thread> workers;
  std::string shm_prefix;
  uint64_t shm_threshold = 64 << 10;
  int64_t heartbeat_ms = 500;
  int64_t supervisor_timeout_ms = 5000;

  void send(const json& msg) {
    std::string body = ipc::encode(msg);
    socket.send(zmq::buffer(body), zmq::send_flags::none);
  }

  // Called from other threads: each keeps its own PUSH socket.
  static zmq::socket_t& push_socket(zmq::context_t& ctx) {
    thread_local std::unique_ptr<zmq::socket_t> s;
    if (!s) {
      s = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::push);
      s->set(zmq::sockopt::linger, 1000);
      s->set(zmq::sockopt::sndhwm, 0);
      s->connect(kOutbox);
    }
    return *s;
  }
  void post(const json& msg) {
    std::string body = ipc::encode(msg);
    push_socket(context).send(zmq::buffer(body), zmq::send_flags::none);
  }

  void load_model();
  void worker_loop();
  void handle(const json& msg);
  void start_job(const json& msg);
  bool idle() {
    std::lock_guard<std::mutex> lock(mu);
    return running.empty();
  }
  void forward_outbox();
};

void Runner::Impl::load_model() {
  auto progress = [this](const LoadProgress& p) {
    post({{"t", "progress"}, {"stage", p.stage}, {"bytes_read", p.bytes_read}, {"bytes_total", p.bytes_total},
          {"kernels_compiled", p.kernels_compiled}, {"kernels_total", p.kernels_total}});
  };
  try {
    supervisor::ModelConfig cfg = supervisor::ModelConfig::from_json(spec.at("model"));
    std::vector<std::string> paths = spec.value("plugin_paths", std::vector<std::string>{});
    post({{"t", "state"}, {"state", "loading"}});
    auto h = std::make_unique<ModelHost>(cfg, paths, progress);
    if (cfg.warmup) {
      post({{"t", "state"}, {"state", "warming"}});
      h->warmup([&](const LoadProgress& p) {
        LoadProgress q = p;
        if (q.stage.empty()) q.stage = "warming";
        progress(q);
      });
    }
    json md = h->metadata();
    {
      std::lock_guard<std::mutex> lock(mu);
      host = std::move(h);
    }
    for (int i = 0; i < std::max(1, cfg.slots); ++i) workers.emplace_back([this] { worker_loop(); });
    post({{"t", "state"}, {"state", "ready"}, {"metadata", md}});
  } catch (const std::exception& e) {
    spdlog::error("runner {}: {}", opt.id, e.what());
    post({{"t", "state"}, {"state", "failed"}, {"error", e.what()}});
  }
}

void Runner::Impl::worker_loop() {
  while (true) {
    QueuedJob job;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;
      job = std::move(queue.front());
      queue.pop_front();
    }
    JobContext ctx;
    ctx.uid = job.uid;
    ctx.kind = job.kind;
    ctx.request = std::move(job.request);
    ctx.cancel = job.cancel.get();
    ctx.emit = [&](json body) {
      const bool terminal = ipc::is_terminal(body);
      post({{"t", "reply"}, {"job", job.uid}, {"body", std::move(body)}});
      if (terminal) {
        std::lock_guard<std::mutex> lock(mu);
        running.erase(job.uid);
      }
    };
    ctx.make_blob = [&](std::vector<uint8_t> bytes) -> json {
      if (bytes.size() < shm_threshold) return json::binary_t(std::move(bytes));
      std::string name = shm_prefix + std::to_string(next_segment++);
      ipc::shm_write(name, bytes.data(), bytes.size());
      return ipc::shm_ref(name, bytes.size());
    };
    ctx.read_blob = [](const json& v) -> std::vector<uint8_t> {
      if (v.is_binary()) return v.get_binary();
      if (ipc::is_shm_ref(v)) return ipc::shm_read(v["shm"], v["size"].get<size_t>());
      throw ipc::ProtocolError(ipc::err::kBadRequest, "a payload field must be bytes");
    };
    run_job(*host, ctx);
  }
}

void Runner::Impl::start_job(const json& msg) {
  QueuedJob job;
  job.uid = msg.value("job", uint64_t{0});
  job.kind = msg.value("kind", std::string());
  job.request = msg.value("request", json::object());
  job.cancel = std::make_shared<CancelFlag>(false);
  if (draining || state != "ready") {
    send({{"t", "reply"}, {"job", job.uid},
          {"body", {{"type", "error"}, {"code", ipc::err::kShuttingDown}, {"message", "runner is not serving"}}}});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    running[job.uid] = job.cancel;
    queue.push_back(std::move(job));
  }
  cv.notify_one();
}

void Runner::Impl::handle(const json& msg) {
  const std::string t = msg.value("t", "");
  if (t == "hb") return;
  if (t == "load") {
    if (!spec.is_null()) return;  // loads once
    spec = msg;
    shm_prefix = spec.value("shm_prefix", std::string("kiln.unnamed.") + opt.id + ".");
    shm_threshold = spec.value("shm_threshold", shm_threshold);
    heartbeat_ms = spec.value("heartbeat_ms", heartbeat_ms);
    supervisor_timeout_ms = spec.value("supervisor_timeout_ms", supervisor_timeout_ms);
    state = "loading";
    loader = std::thread([this] { load_model(); });
    return;
  }
  if (t == "job") return start_job(msg);
  if (t == "cancel") {
    uint64_t uid = msg.value("job", uint64_t{0});
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = running.find(uid); it != running.end()) it->second->store(true);
    return;
  }
  if (t == "drain") {
    draining = true;
    return;
  }
  spdlog::warn("runner {}: unknown message type '{}'", opt.id, t);
}

void Runner::Impl::forward_outbox() {
  while (true) {
    zmq::message_t m;
    if (!outbox.recv(m, zmq::recv_flags::dontwait)) return;
    // Messages from the loader that change this thread's view of the state.
    json peek;
    try {
      peek = ipc::decode(m.data(), m.size());
    } catch (const std::exception&) {
      continue;
    }
    if (peek.value("t", "") == "state") state = peek.value("state", state);
    socket.send(m, zmq::send_flags::none);
  }
}

Runner::Runner(RunnerOptions options) : impl_(std::make_unique<Impl>()) { impl_->opt = std::move(options); }

Runner::~Runner() = default;

int Runner::run() {
  Impl& s = *impl_;
  s.socket.set(zmq::sockopt::routing_id, s.opt.id);
  s.socket.set(zmq::sockopt::linger, 2000);
  s.socket.set(zmq::sockopt::sndhwm, 0);
  s.outbox.set(zmq::sockopt::rcvhwm, 0);
  s.outbox.bind(kOutbox);
  s.socket.connect(s.opt.backend);
  s.send({{"t", "hello"}, {"runner", s.opt.id}, {"pid", getpid()}});

  zmq::pollitem_t items[] = {{static_cast<void*>(s.socket), 0, ZMQ_POLLIN, 0},
                             {static_cast<void*>(s.outbox), 0, ZMQ_POLLIN, 0}};
  auto last_hb = Clock::now();
  int exit_code = 0;
  while (true) {
    zmq::poll(items, 2, std::chrono::milliseconds(std::min<int64_t>(s.heartbeat_ms, 100)));
    if (items[1].revents & ZMQ_POLLIN) s.forward_outbox();
    if (items[0].revents & ZMQ_POLLIN) {
      for (int n = 0; n < 256; ++n) {
        zmq::message_t m;
        if (!s.socket.recv(m, zmq::recv_flags::dontwait)) break;
        s.last_from_supervisor = Clock::now();
        try {
          s.handle(ipc::decode(m.data(), m.size()));
        } catch (const std::exception& e) {
          spdlog::error("runner {}: bad message from the supervisor: {}", s.opt.id, e.what());
        }
      }
    }
    auto now = Clock::now();
    if (now - last_hb >= std::chrono::milliseconds(s.heartbeat_ms)) {
      last_hb = now;
      size_t n = 0;
      {
        std::lock_guard<std::mutex> lock(s.mu);
        n = s.running.size();
      }
      s.send({{"t", "hb"}, {"state", s.state}, {"jobs", n}});
    }
    if (s.opt.parent_pid > 0 && getppid() != s.opt.parent_pid) {
      spdlog::error("runner {}: the supervisor is gone; exiting", s.opt.id);
      exit_code = 2;
      break;
    }
    if (now - s.last_from_supervisor > std::chrono::milliseconds(s.supervisor_timeout_ms)) {
      spdlog::error("runner {}: no word from the supervisor for {} ms; exiting", s.opt.id, s.supervisor_timeout_ms);
      exit_code = 2;
      break;
    }
    if (s.state == "failed") {
      exit_code = 1;
      break;
    }
    if (s.draining && (s.state == "ready" ? s.idle() : true)) break;
  }
  // Flush what the threads posted, then stop them.
  if (s.state == "ready") {
    {
      std::lock_guard<std::mutex> lock(s.mu);
      s.stopping = true;
      for (auto& [uid, flag] : s.running) flag->store(true);
    }
    s.cv.notify_all();
    for (auto& w : s.workers) w.join();
  }
  if (s.loader.joinable()) {
    if (s.state == "ready" || s.state == "failed") {
      s.loader.join();
    } else {
      // Still loading: a load cannot be interrupted, and nobody waits for this model.
      s.forward_outbox();
      s.socket.close();
      _exit(exit_code);
    }
  }
  s.forward_outbox();
  s.host.reset();
  return exit_code;
}

}  // namespace kiln::runner
