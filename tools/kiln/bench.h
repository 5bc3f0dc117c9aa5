// `kiln bench NAME` suites register themselves like commands (one bench_*.cpp each).
#pragma once

#include <functional>

#include "command.h"
#include <map>
#include <string>
#include <vector>

namespace kiln::cli {

struct BenchSuite {
  std::string name;
  std::string summary;
  // args after "bench NAME"; prints JSON when json is true, else a readable table
  std::function<int(const std::vector<std::string>& args, bool json)> run;
};

std::map<std::string, BenchSuite>& bench_registry();

struct BenchRegistrar {
  explicit BenchRegistrar(BenchSuite s) { bench_registry()[s.name] = std::move(s); }
};

}  // namespace kiln::cli

#define KILN_BENCH(NAME, SUMMARY, FN)                                                 \
  static const ::kiln::cli::BenchRegistrar KILN_CLI_CONCAT(kiln_bench_, __LINE__){ \
      ::kiln::cli::BenchSuite{NAME, SUMMARY, FN}}
