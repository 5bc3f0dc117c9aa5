// kiln-supervisor: binds the client endpoints, spawns one kiln-runner per model replica,
// routes jobs, restarts crashed runners, loads models on first use and unloads idle ones.
// DESIGN.md section 5 and docs/protocol.md describe the behaviour.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "kiln/supervisor/config.h"

namespace kiln::supervisor {

class Supervisor {
 public:
  // Takes the instance lock, removes stale shared memory of this instance, binds every
  // endpoint and starts the models marked preload. Throws kiln::Error (naming the endpoint,
  // directory or model) when any of that fails.
  explicit Supervisor(Config config);
  // Drains and stops every runner, removes this instance's shared memory and sockets.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Serves until `stop` becomes true.
  void run(const std::atomic<bool>& stop);
  // The endpoints actually bound (a tcp port of 0 or * resolved).
  std::vector<std::string> endpoints() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// Configures spdlog from the logging section.
void setup_logging(const LoggingConfig& logging);

// Runs a supervisor until SIGINT or SIGTERM; returns the process exit code. Used by
// kiln-supervisor and `kiln run`.
int serve(Config config);

}  // namespace kiln::supervisor
