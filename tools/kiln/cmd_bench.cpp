// `kiln bench SUITE [--json] ...`: benchmark suites (figures, never pass/fail).
#include <iostream>

#include "bench.h"
#include "command.h"
#include "kiln/error.h"

namespace kiln::cli {

std::map<std::string, BenchSuite>& bench_registry() {
  static std::map<std::string, BenchSuite> r;
  return r;
}

namespace {
int run_bench(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << "usage: kiln bench SUITE [--json] ...\nsuites:\n";
    for (const auto& [name, s] : bench_registry()) std::cerr << "  " << name << "  " << s.summary << "\n";
    return 2;
  }
  auto it = bench_registry().find(args[0]);
  if (it == bench_registry().end()) throw Error("unknown bench suite '" + args[0] + "'");
  std::vector<std::string> rest;
  bool json = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json") json = true;
    else rest.push_back(args[i]);
  }
  return it->second.run(rest, json);
}
}  // namespace

KILN_COMMAND("bench", "SUITE [--json] [...]", "benchmarks: kiln and its peers in one run, as ratios",
             run_bench);

}  // namespace kiln::cli
