// kiln-supervisor [--config FILE]: the supervisor as its own executable (`kiln run` is the
// same with progress output in the CLI).
#include <cstring>
#include <iostream>
#include <string>

#include "kiln/error.h"
#include "kiln/supervisor/config.h"
#include "kiln/supervisor/supervisor.h"

int main(int argc, char** argv) {
  std::string config_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_file = argv[++i];
    } else if (a == "--check") {
      check_only = true;
    } else if (a == "--print-default-config") {
      std::cout << kiln::supervisor::default_config_text();
      return 0;
    } else {
      std::cerr << "usage: kiln-supervisor [--config FILE] [--check] [--print-default-config]\n";
      return 2;
    }
  }
  try {
    kiln::supervisor::Config config = config_file.empty() ? kiln::supervisor::default_config()
                                                          : kiln::supervisor::load_config_file(config_file);
    if (check_only) {
      std::cout << "config " << config.source << ": OK (" << config.models.size() << " models)\n";
      return 0;
    }
    kiln::supervisor::setup_logging(config.logging);
    return kiln::supervisor::serve(std::move(config));
  } catch (const kiln::Error& e) {
    std::cerr << "kiln-supervisor: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kiln-supervisor: internal error: " << e.what() << "\n";
    return 1;
  }
}
