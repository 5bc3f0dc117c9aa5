// `kiln bench NAME [flags]`: runs one registered benchmark (bench.h).
#include <iostream>

#include "bench.h"
#include "command.h"
#include "kiln/error.h"

namespace kiln::cli {

std::map<std::string, Benchmark>& benchmark_registry() {
  static std::map<std::string, Benchmark> registry;
  return registry;
}

namespace {

int run_bench(const std::vector<std::string>& args) {
  auto& registry = benchmark_registry();
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: kiln bench NAME [flags]\n\nbenchmarks:\n";
    for (const auto& [name, b] : registry) std::cout << "  " << name << " " << b.usage << "\n      " << b.summary << "\n";
    return args.empty() ? 2 : 0;
  }
  auto it = registry.find(args[0]);
  if (it == registry.end()) throw Error("unknown benchmark '" + args[0] + "' (kiln bench --help lists them)");
  return it->second.run(std::vector<std::string>(args.begin() + 1, args.end()));
}

}  // namespace

KILN_COMMAND("bench", "NAME [flags] [--json]", "benchmarks, machine-readable with --json (kiln bench --help lists them)",
             run_bench);

}  // namespace kiln::cli
