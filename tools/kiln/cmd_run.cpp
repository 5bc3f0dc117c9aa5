// kiln run [--config FILE]: the supervisor in the foreground, with progress output.
#include <iostream>
#include <set>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "kiln/supervisor/config.h"
#include "kiln/supervisor/supervisor.h"

namespace {

int run_supervisor(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--config", "--log-level"}, {"--check", "--print-default-config"});
  if (args.has("--print-default-config")) {
    std::cout << kiln::supervisor::default_config_text();
    return 0;
  }
  auto file = args.get("--config");
  kiln::supervisor::Config config =
      file ? kiln::supervisor::load_config_file(*file) : kiln::supervisor::default_config();
  if (auto level = args.get("--log-level")) {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.count(*level)) throw kiln::Error("--log-level must be trace, debug, info, warn, error, critical or off");
    config.logging.level = *level;
  }
  if (args.has("--check")) {
    std::cout << "config " << config.source << ": OK (" << config.models.size() << " model(s))\n";
    return 0;
  }
  kiln::supervisor::setup_logging(config.logging);
  std::cerr << "kiln run: config " << config.source << ", instance '" << config.instance << "', "
            << config.models.size() << " model(s); Ctrl-C stops\n";
  return kiln::supervisor::serve(std::move(config));
}

}  // namespace

KILN_COMMAND("run", "[--config FILE] [--log-level LEVEL] [--check] [--print-default-config]",
             "start the supervisor in the foreground (configs/default.yaml is built in)", run_supervisor);
