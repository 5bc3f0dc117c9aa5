// One kiln-runner child process. The only place that touches Boost.Process is
// runner_process.cpp; the rest of the supervisor sees this small interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::supervisor {

class RunnerProcess {
 public:
  // Starts `exe` with `args` (stdin closed, stdout/stderr inherited). Throws kiln::Error when
  // the executable cannot be started.
  RunnerProcess(const std::string& exe, const std::vector<std::string>& args);
  // Kills (SIGKILL) and reaps the process if it is still running.
  ~RunnerProcess();
  RunnerProcess(const RunnerProcess&) = delete;
  RunnerProcess& operator=(const RunnerProcess&) = delete;

  int pid() const;
  // Non-blocking: the exit description ("exit code 1", "signal 9") once the process ended.
  std::optional<std::string> exited();
  void kill();  // SIGKILL
  void stop();  // SIGSTOP/SIGCONT are for tests; this sends SIGTERM

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Path of the running executable's directory (for finding kiln-runner beside it).
std::string executable_dir();

}  // namespace kiln::supervisor
