// `kiln` — the command line. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <exception>
#include <iostream>

#include "command.h"
#include "kiln/error.h"

namespace kiln::cli {

std::map<std::string, Command>& command_registry() {
  static std::map<std::string, Command> registry;
  return registry;
}

}  // namespace kiln::cli

static void print_help() {
  std::cout << "kiln " KILN_VERSION " — a tensor compiler and local inference server\n\n"
            << "usage: kiln COMMAND [flags]\n\ncommands:\n";
  for (const auto& [name, cmd] : kiln::cli::command_registry()) {
    std::cout << "  " << name << " " << cmd.usage << "\n      " << cmd.summary << "\n";
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_help();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::cout << "kiln " KILN_VERSION "\n";
    return 0;
  }
  auto& registry = kiln::cli::command_registry();
  auto it = registry.find(argv[1]);
  if (it == registry.end()) {
    std::cerr << "kiln: unknown command '" << argv[1] << "' (kiln --help lists them)\n";
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return it->second.run(args);
  } catch (const kiln::Error& e) {
    std::cerr << "kiln " << argv[1] << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "kiln " << argv[1] << ": internal error: " << e.what() << "\n";
    return 1;
  }
}
