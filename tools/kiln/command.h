// Subcommands of the `kiln` CLI register themselves: one cmd_*.cpp file per command.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::cli {

struct Command {
  std::string name;
  std::string usage;  // one line: flags and arguments
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;  // args after the name
};

std::map<std::string, Command>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(Command command) {
    command_registry()[command.name] = std::move(command);
  }
};

}  // namespace kiln::cli

#define KILN_CLI_CONCAT2(a, b) a##b
#define KILN_CLI_CONCAT(a, b) KILN_CLI_CONCAT2(a, b)
// KILN_COMMAND("name", "usage", "summary", function)
#define KILN_COMMAND(NAME, USAGE, SUMMARY, FN)                                         \
  static const ::kiln::cli::CommandRegistrar KILN_CLI_CONCAT(kiln_command_, __LINE__){ \
      ::kiln::cli::Command{NAME, USAGE, SUMMARY, FN}}
