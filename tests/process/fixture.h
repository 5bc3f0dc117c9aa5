// Test fixture: a temporary directory, a real kiln-supervisor process started on a YAML
// config written there, and clients. Everything is torn down (processes stopped, files
// removed) when the fixture goes out of scope.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "kiln/ipc/client.h"
#include "kiln/ipc/codec.h"

namespace kiln::test {

using ipc::json;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A unique instance name per supervisor (tests run in parallel).
std::string unique_instance();

struct ModelSpec {
  std::string name = "echo";
  std::string extra;  // more YAML lines for this model, each "    key: value\n"
};

class SupervisorProcess {
 public:
  // `body` is YAML appended after instance/run_dir/endpoints (models, limits, runners...).
  // Starts kiln-supervisor and waits until it answers Health.
  SupervisorProcess(const std::string& body, const std::vector<std::string>& extra_endpoints = {});
  ~SupervisorProcess();

  const std::string& endpoint() const { return endpoint_; }  // the ipc endpoint
  const std::string& instance() const { return instance_; }
  const std::string& dir() const { return dir_.path(); }
  pid_t pid() const { return pid_; }
  std::string log() const;  // the supervisor's (and its runners') output so far

  ipc::Client client(bool shm = false) const;
  json status() const;
  // pid of replica `replica` of `model` once it is ready (waits up to `timeout`).
  int runner_pid(const std::string& model, int replica = 0, std::chrono::milliseconds timeout = 10s) const;
  // Names of this instance's segments in /dev/shm.
  std::vector<std::string> shm_segments() const;
  // Sends SIGTERM and waits; returns the exit status.
  int stop();

 private:
  TempDir dir_;
  std::string instance_;
  std::string endpoint_;
  pid_t pid_ = -1;
};

// Starts a process with stdout/stderr appended to `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log);
// Waits up to `timeout` for `pid` to exit; returns its wait status or -1 on timeout.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout);

std::string bin(const std::string& name);  // build/bin/<name>

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A DEALER socket that shows replies exactly as they arrive (no blob handling).
class RawClient {
 public:
  RawClient(const std::string& endpoint, const std::string& server_key = "", const std::string& public_key = "",
            const std::string& secret_key = "");
  void send(const json& message);
  std::optional<json> receive(std::chrono::milliseconds timeout);

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t socket_{ctx_, zmq::socket_type::dealer};
};

}  // namespace kiln::test
