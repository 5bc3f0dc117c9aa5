// kiln-runner --backend ipc://... --id ID --instance NAME [--parent-pid PID]
// Started by kiln-supervisor, one per model replica; not meant to be run by hand.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <string>

#include "runner.h"

int main(int argc, char** argv) {
  kiln::runner::RunnerOptions opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "kiln-runner: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--backend") opt.backend = value();
    else if (a == "--id") opt.id = value();
    else if (a == "--instance") opt.instance = value();
    else if (a == "--parent-pid") opt.parent_pid = std::atoi(value().c_str());
    else {
      std::cerr << "kiln-runner: unknown argument " << a
                << "\nusage: kiln-runner --backend ipc://SOCKET --id ID --instance NAME [--parent-pid PID]\n"
                   "(started by kiln-supervisor; not meant to be run by hand)\n";
      return 2;
    }
  }
  if (opt.backend.empty() || opt.id.empty()) {
    std::cerr << "kiln-runner: --backend and --id are required (it is started by kiln-supervisor)\n";
    return 2;
  }
  // Die with the supervisor, even when it is killed with SIGKILL.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (opt.parent_pid > 0 && getppid() != opt.parent_pid) return 2;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, SIG_IGN);  // Ctrl-C in `kiln run` reaches the whole group; the supervisor drains us

  auto logger = spdlog::stderr_color_mt("runner");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] [runner " + opt.id + "] %v");
  spdlog::set_default_logger(logger);
  try {
    kiln::runner::Runner runner(opt);
    return runner.run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
