// `kiln bench NAME [flags]`: each benchmark registers itself (one bench_*.cpp per benchmark),
// the way subcommands do. Benchmarks print figures (JSON with --json) and measure Kiln and
// its peers in the same run.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kiln::cli {

struct Benchmark {
  std::string name;
  std::string usage;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;  // args after the name
};

std::map<std::string, Benchmark>& benchmark_registry();

struct BenchmarkRegistrar {
  explicit BenchmarkRegistrar(Benchmark b) { benchmark_registry()[b.name] = std::move(b); }
};

}  // namespace kiln::cli

#define KILN_BENCH_CONCAT2(a, b) a##b
#define KILN_BENCH_CONCAT(a, b) KILN_BENCH_CONCAT2(a, b)
// KILN_BENCHMARK("name", "usage", "summary", function)
#define KILN_BENCHMARK(NAME, USAGE, SUMMARY, FN)                                                \
  static const ::kiln::cli::BenchmarkRegistrar KILN_BENCH_CONCAT(kiln_benchmark_, __LINE__){ \
      ::kiln::cli::Benchmark{NAME, USAGE, SUMMARY, FN}}
