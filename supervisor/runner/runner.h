// kiln-runner's main object (see runner.cpp).
#pragma once

#include <memory>
#include <string>

namespace kiln::runner {

struct RunnerOptions {
  std::string backend;   // the supervisor's runner endpoint (ipc://...)
  std::string id;        // routing id the supervisor gave this process
  std::string instance;  // supervisor instance (for log lines)
  int parent_pid = 0;    // exit when the parent changes (the supervisor died)
};

class Runner {
 public:
  explicit Runner(RunnerOptions options);
  ~Runner();
  // Serves until drained, told to stop, or the supervisor disappears. Returns the exit code.
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::runner
