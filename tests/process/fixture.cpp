#include "fixture.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kiln/error.h"
#include "kiln/ipc/shm.h"

extern char** environ;

namespace fs = std::filesystem;

namespace kiln::test {

TempDir::TempDir() {
  // Short paths: ipc socket paths must fit in 107 bytes.
  char tmpl[] = "/tmp/kt-XXXXXX";
  if (!mkdtemp(tmpl)) throw Error("mkdtemp failed");
  path_ = tmpl;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::replace);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string unique_instance() {
  static std::atomic<int> n{0};
  std::string name = "t";  // (built by appending: GCC 12 warns falsely on "t" + to_string)
  name += std::to_string(getpid());
  name += "x";
  name += std::to_string(++n);
  return name;
}

std::string bin(const std::string& name) { return std::string(KILN_BIN_DIR) + "/" + name; }

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw Error("cannot start " + argv[0]);
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

SupervisorProcess::SupervisorProcess(const std::string& body, const std::vector<std::string>& extra_endpoints)
    : instance_(unique_instance()) {
  endpoint_ = "ipc://" + dir() + "/run/client.sock";
  std::ostringstream yaml;
  yaml << "instance: " << instance_ << "\n"
       << "run_dir: " << dir() << "/run\n"
       << "endpoints:\n  - " << endpoint_ << "\n";
  for (const auto& e : extra_endpoints) yaml << "  - " << e << "\n";
  yaml << body;
  std::ofstream(dir() + "/config.yaml") << yaml.str();
  pid_ = spawn({bin("kiln-supervisor"), "--config", dir() + "/config.yaml"}, dir() + "/supervisor.log");
  auto c = client();
  auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    if (wait_exit(pid_, 0ms) != -1) {
      pid_ = -1;
      throw Error("kiln-supervisor exited at start:\n" + log());
    }
    c.send(json{{"id", "health"}, {"kind", "Health"}});
    if (auto r = c.receive(200ms); r && r->value("type", "") == "result") return;
  }
  throw Error("kiln-supervisor did not answer Health in time:\n" + log());
}

SupervisorProcess::~SupervisorProcess() {
  // A supervisor that stops normally leaves nothing of its instance in /dev/shm.
  if (pid_ > 0) {
    const int status = stop();
    if (status != -1 && WIFEXITED(status)) {
      INFO("segments left by instance " << instance_);
      CHECK(ipc::shm_list(ipc::shm_prefix(instance_)).empty());
    }
  }
  // The supervisor and its runners write sanitizer reports (ASan/UBSan/LSan builds) into
  // this log; any report fails the test.
  const std::string text = log();
  for (const char* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}) {
    INFO(text);
    CHECK(text.find(report) == std::string::npos);
  }
  // The supervisor removes its segments; whatever a crashed test left is removed here.
  ipc::shm_remove_all(ipc::shm_prefix(instance_));
}

int SupervisorProcess::stop() {
  if (pid_ <= 0) return 0;
  kill(pid_, SIGTERM);
  int status = wait_exit(pid_, 10s);
  if (status == -1) {
    kill(pid_, SIGKILL);
    status = wait_exit(pid_, 5s);
  }
  pid_ = -1;
  return status;
}

std::string SupervisorProcess::log() const {
  std::ifstream in(dir() + "/supervisor.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ipc::Client SupervisorProcess::client(bool shm) const {
  ipc::ClientOptions o;
  o.endpoint = endpoint_;
  o.use_shm = shm;
  return ipc::Client(o);
}

json SupervisorProcess::status() const {
  auto c = client();
  return c.call(json{{"kind", "Status"}}, 5s);
}

int SupervisorProcess::runner_pid(const std::string& model, int replica, std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  client().call(json{{"kind", "Load"}, {"model", model}}, timeout);
  while (std::chrono::steady_clock::now() < until) {
    json st = status();
    for (const auto& m : st["models"]) {
      if (m["name"] != model) continue;
      const auto& r = m["replicas"][replica];
      if (r.value("state", "") == "ready") return r["pid"].get<int>();
    }
    std::this_thread::sleep_for(20ms);
  }
  throw Error("model " + model + " replica " + std::to_string(replica) + " did not become ready:\n" + log());
}

std::vector<std::string> SupervisorProcess::shm_segments() const {
  return ipc::shm_list(ipc::shm_prefix(instance_));
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw Error("bind failed");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

RawClient::RawClient(const std::string& endpoint, const std::string& server_key, const std::string& public_key,
                     const std::string& secret_key) {
  socket_.set(zmq::sockopt::linger, 0);
  if (!server_key.empty()) {
    socket_.set(zmq::sockopt::curve_serverkey, server_key);
    socket_.set(zmq::sockopt::curve_publickey, public_key);
    socket_.set(zmq::sockopt::curve_secretkey, secret_key);
  }
  socket_.connect(endpoint);
}

void RawClient::send(const json& message) {
  std::string body = ipc::encode(message);
  socket_.send(zmq::buffer(body), zmq::send_flags::none);
}

std::optional<json> RawClient::receive(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
  zmq::message_t m;
  if (!socket_.recv(m, zmq::recv_flags::dontwait)) return std::nullopt;
  return ipc::decode(m.data(), m.size());
}

}  // namespace kiln::test
