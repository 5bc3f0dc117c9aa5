// Supervisor set-up, shutdown, the event loop and its timers.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"
#include "kiln/ipc/shm.h"
#include "state.h"

namespace fs = std::filesystem;

namespace kiln::supervisor {

const char* runner_state_name(RunnerState s) {
  switch (s) {
    case RunnerState::Spawned: return "starting";
    case RunnerState::Starting: return "starting";
    case RunnerState::Loading: return "loading";
    case RunnerState::Warming: return "warming";
    case RunnerState::Ready: return "ready";
    case RunnerState::Draining: return "draining";
  }
  return "?";
}

namespace {

// Takes an exclusive lock on `path` so two supervisors never run the same instance (two
// copies of its models, one stealing the other's sockets).
int take_lock(const std::string& path, const std::string& instance) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("lock file " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    throw Error("another supervisor (pid " + std::string(n > 0 ? buf : "?") +
                ") is already running instance '" + instance + "' (lock " + path + ")");
  }
  std::string pid = std::to_string(getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // The pid is informational only.
  }
  return fd;
}

}  // namespace

void Supervisor::State::setup() {
  const Config& c = config;
  ipc::ensure_private_dir(c.run_dir);
  lock_path = c.run_dir + "/" + c.instance + ".lock";
  lock_fd = take_lock(lock_path, c.instance);

  shm_prefix = ipc::shm_prefix(c.instance);
  if (size_t stale = ipc::shm_remove_all(shm_prefix)) {
    spdlog::warn("removed {} stale shared-memory segment(s) of instance '{}'", stale, c.instance);
  }

  runner_exe = c.runners.runner_path.empty() ? executable_dir() + "/kiln-runner" : c.runners.runner_path;
  if (access(runner_exe.c_str(), X_OK) != 0) {
    throw Error("runner executable " + runner_exe + " not found or not executable (set "
                "runners.runner_path)");
  }

  bool any_curve = false;
  for (const auto& e : c.endpoints) any_curve |= !e.curve_secret_key_file.empty();
  if (any_curve) zap = std::make_unique<ZapHandler>(context);

  for (size_t i = 0; i < c.endpoints.size(); ++i) {
    const EndpointConfig& e = c.endpoints[i];
    ipc::Endpoint ep = ipc::parse_endpoint(e.url);
    Frontend fe;
    fe.is_ipc = ep.is_ipc;
    fe.socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::router);
    auto& s = *fe.socket;
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::router_mandatory, 1);
    s.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(c.limits.max_frame_bytes));
    s.set(zmq::sockopt::sndhwm, 100000);
    s.set(zmq::sockopt::rcvhwm, 100000);
    if (ep.is_ipc) {
      ipc::ensure_private_dir(fs::path(ep.path).parent_path().string());
      // We hold the instance lock, so a socket file left here is stale (or another
      // instance's: refuse that instead of stealing it).
      std::error_code ec;
      if (fs::exists(ep.path, ec)) {
        bool ours = false;
        for (const auto& f : frontends) ours |= f.socket_path == ep.path;
        if (ours) throw Error("endpoint " + e.url + " is listed twice");
        fs::remove(ep.path, ec);
      }
      fe.socket_path = ep.path;
    } else if (!e.curve_secret_key_file.empty()) {
      std::string secret = ipc::read_key_file(e.curve_secret_key_file);
      std::string domain = "kiln-endpoint-" + std::to_string(i);
      std::set<std::string> keys;
      if (!e.curve_authorized_keys_file.empty()) keys = read_authorized_keys(e.curve_authorized_keys_file);
      zap->allow(domain, std::move(keys));
      s.set(zmq::sockopt::curve_server, 1);
      s.set(zmq::sockopt::curve_secretkey, secret);
      s.set(zmq::sockopt::zap_domain, domain);
    } else {
      spdlog::warn("endpoint {} is INSECURE: plaintext, no authentication (insecure: true)", e.url);
    }
    try {
      s.bind(e.url);
    } catch (const zmq::error_t& err) {
      throw Error("endpoint " + e.url + ": cannot bind: " + err.what());
    }
    fe.url = s.get(zmq::sockopt::last_endpoint);
    frontends.push_back(std::move(fe));
  }

  backend_path = c.run_dir + "/" + c.instance + ".runners.sock";
  backend_url = "ipc://" + backend_path;
  if (backend_path.size() > 107) throw Error("run_dir " + c.run_dir + " is too long for an ipc socket path");
  std::error_code ec;
  fs::remove(backend_path, ec);
  backend = std::make_unique<zmq::socket_t>(context, zmq::socket_type::router);
  backend->set(zmq::sockopt::linger, 0);
  backend->set(zmq::sockopt::router_mandatory, 1);
  backend->set(zmq::sockopt::sndhwm, 0);
  backend->set(zmq::sockopt::rcvhwm, 0);
  backend->bind(backend_url);

  for (const auto& mc : c.models) {
    Model m;
    m.cfg = mc;
    m.slots.resize(mc.replicas);
    m.last_used = Clock::now();
    models.emplace(mc.name, std::move(m));
  }
  for (auto& [name, m] : models) {
    if (m.cfg.preload) want_loaded(m);
  }
  for (const auto& fe : frontends) spdlog::info("listening on {}", fe.url);
}

void Supervisor::State::shutdown() {
  if (lock_fd < 0) return;  // set-up failed before owning anything of this instance
  // Every job still open gets its terminal reply.
  std::vector<uint64_t> open;
  for (auto& [uid, job] : jobs)
    if (job.state != Job::State::Done) open.push_back(uid);
  for (uint64_t uid : open) {
    auto it = jobs.find(uid);
    if (it == jobs.end()) continue;
    if (it->second.state == Job::State::Running) cancel_on_runner(it->second);
    it->second.runner.clear();
    reply(it->second, ipc::make_error(it->second.id, ipc::err::kShuttingDown, "the supervisor is shutting down"));
  }
  for (auto& [uid, r] : runners) {
    if (r.connected) send_to_runner(r, json{{"t", "drain"}});
  }
  auto until = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < until) {
    bool all = true;
    for (auto& [uid, r] : runners) all &= r.process->exited().has_value();
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  runners.clear();  // kills and reaps any that did not leave
  segments.clear();
  ipc::shm_remove_all(shm_prefix);
  for (auto& fe : frontends) {
    fe.socket.reset();
    if (!fe.socket_path.empty()) {
      std::error_code ec;
      fs::remove(fe.socket_path, ec);
    }
  }
  frontends.clear();
  backend.reset();
  zap.reset();
  std::error_code ec;
  fs::remove(backend_path, ec);
  if (lock_fd >= 0) {
    ::close(lock_fd);
    lock_fd = -1;
  }
}

void Supervisor::State::tick() {
  const auto now = Clock::now();
  check_runners();

  // Deadlines.
  std::vector<uint64_t> late;
  for (auto& [uid, job] : jobs)
    if (job.state != Job::State::Done && now > job.deadline) late.push_back(uid);
  for (uint64_t uid : late) {
    auto it = jobs.find(uid);
    if (it == jobs.end()) continue;
    Job& job = it->second;
    if (job.state == Job::State::Running) cancel_on_runner(job);
    reply(job, ipc::make_error(job.id, ipc::err::kDeadlineExceeded, "the job's deadline passed"));
  }

  // Shared memory: client references past limits.shm_ttl lapse. Once a second, segments
  // clients created but never handed over (a client that crashed before sending its job, or
  // whose request was refused before it was read) are removed once they are that old.
  segments.expire(now);
  if (now - last_shm_sweep > std::chrono::seconds(1)) {
    last_shm_sweep = now;
    const double ttl_s = config.limits.shm_ttl_ms / 1000.0;
    for (const auto& name : ipc::shm_list(ipc::shm_client_prefix(config.instance))) {
      if (!segments.contains(name) && ipc::shm_age_s(name) > ttl_s) {
        spdlog::debug("shared memory {}: created by a client, never used; removed", name);
        ipc::shm_remove(name);
      }
    }
  }
  check_receiving();

  check_idle();
  for (auto& [name, m] : models) {
    if (m.wanted) ensure_runners(m);
    dispatch(m);
  }
}

void Supervisor::State::run(const std::atomic<bool>& stop) {
  std::vector<zmq::pollitem_t> items;
  for (auto& fe : frontends) items.push_back({static_cast<void*>(*fe.socket), 0, ZMQ_POLLIN, 0});
  items.push_back({static_cast<void*>(*backend), 0, ZMQ_POLLIN, 0});
  if (zap) items.push_back({static_cast<void*>(zap->socket()), 0, ZMQ_POLLIN, 0});
  const size_t backend_index = frontends.size();
  auto last_tick = Clock::now();
  while (!stop.load()) {
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      throw;
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      if (zap && i == items.size() - 1) {
        zap->handle();
        continue;
      }
      zmq::socket_t& s = i == backend_index ? *backend : *frontends[i].socket;
      // A bounded batch per socket keeps one busy peer from starving the rest.
      for (int n = 0; n < 256; ++n) {
        std::vector<zmq::message_t> frames;
        zmq::message_t m;
        if (!s.recv(m, zmq::recv_flags::dontwait)) break;
        bool more = m.more();
        frames.push_back(std::move(m));
        while (more) {
          zmq::message_t part;
          if (!s.recv(part, zmq::recv_flags::dontwait)) break;
          more = part.more();
          frames.push_back(std::move(part));
        }
        try {
          if (i == backend_index) {
            on_backend_message(frames);
          } else {
            on_client_message(i, frames);
          }
        } catch (const std::exception& e) {
          // A bug handling one message must not take the supervisor down.
          spdlog::error("internal error handling a message: {}", e.what());
        }
        drop_gone_clients();
      }
    }
    if (Clock::now() - last_tick >= std::chrono::milliseconds(20)) {
      last_tick = Clock::now();
      tick();
      drop_gone_clients();
    }
  }
}

Supervisor::Supervisor(Config config) : state_(std::make_unique<State>(std::move(config))) {
  try {
    state_->setup();
  } catch (...) {
    state_->shutdown();
    throw;
  }
}

Supervisor::~Supervisor() {
  try {
    state_->shutdown();
  } catch (const std::exception& e) {
    spdlog::error("error during shutdown: {}", e.what());
  }
}

void Supervisor::run(const std::atomic<bool>& stop) { state_->run(stop); }

std::vector<std::string> Supervisor::endpoints() const {
  std::vector<std::string> out;
  for (const auto& fe : state_->frontends) out.push_back(fe.url);
  return out;
}

void setup_logging(const LoggingConfig& logging) {
  std::shared_ptr<spdlog::logger> logger;
  if (logging.file.empty()) {
    logger = spdlog::stderr_color_mt("kiln");
  } else {
    logger = spdlog::basic_logger_mt("kiln", logging.file);
  }
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  logger->set_level(spdlog::level::from_str(logging.level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }
}  // namespace

int serve(Config config) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Supervisor supervisor(std::move(config));
  supervisor.run(g_stop);
  spdlog::info("stopping");
  return 0;
}

}  // namespace kiln::supervisor
