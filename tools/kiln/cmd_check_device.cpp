// `kiln check-device PLUGIN.so` — runs the differential op suite (tools/opsuite) against a device
// plugin: every op, over dtypes, shapes and views, compared with the reference evaluator. Exit 0
// only when every case passes: the tool a third party uses to validate its own plugin.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "suite/suite.h"

namespace {

using kiln::opsuite::CaseResult;
using kiln::opsuite::Status;

const char* status_name(Status s) {
  return s == Status::Passed ? "passed" : s == Status::Failed ? "failed" : "skipped";
}

struct FamilyCount {
  int run = 0, passed = 0, failed = 0, skipped = 0;
  double seconds = 0;
};

void print_table(const kiln::opsuite::Summary& s) {
  std::map<std::string, FamilyCount> by_family;
  std::vector<std::string> order;
  for (const CaseResult& r : s.results) {
    if (!by_family.count(r.family)) order.push_back(r.family);
    FamilyCount& f = by_family[r.family];
    f.seconds += r.seconds;
    if (r.status == Status::Skipped) {
      ++f.skipped;
      continue;
    }
    ++f.run;
    (r.status == Status::Passed ? f.passed : f.failed) += 1;
  }
  std::cout << std::left << std::setw(18) << "family" << std::right << std::setw(8) << "run"
            << std::setw(8) << "passed" << std::setw(8) << "failed" << std::setw(9) << "skipped"
            << std::setw(10) << "seconds" << "\n";
  for (const std::string& name : order) {
    const FamilyCount& f = by_family[name];
    std::cout << std::left << std::setw(18) << name << std::right << std::setw(8) << f.run
              << std::setw(8) << f.passed << std::setw(8) << f.failed << std::setw(9) << f.skipped
              << std::setw(10) << std::fixed << std::setprecision(2) << f.seconds << "\n";
  }
  std::cout << std::left << std::setw(18) << "total" << std::right << std::setw(8) << s.run
            << std::setw(8) << s.passed << std::setw(8) << s.failed << std::setw(9) << s.skipped
            << std::setw(10) << std::fixed << std::setprecision(2) << s.seconds << "\n";
}

nlohmann::json to_json(const kiln::opsuite::Summary& s) {
  nlohmann::json cases = nlohmann::json::array();
  for (const CaseResult& r : s.results)
    cases.push_back({{"name", r.name},
                     {"family", r.family},
                     {"status", status_name(r.status)},
                     {"max_error", r.max_error},
                     {"message", r.message},
                     {"seconds", r.seconds},
                     {"kernels_compiled", r.kernels_compiled}});
  return {{"device", s.device}, {"run", s.run},         {"passed", s.passed},
          {"failed", s.failed}, {"skipped", s.skipped}, {"seconds", s.seconds},
          {"kernels_compiled", s.kernels_compiled}, {"cases", cases}};
}

int check_device(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--index", "--filter", "--family"}, {"--json", "--list", "--verbose"});
  kiln::opsuite::Options options;
  options.filter = args.get_or("--filter", "");
  options.family = args.get_or("--family", "");
  if (!options.family.empty()) {
    bool known = false;
    for (const std::string& f : kiln::opsuite::families()) known = known || f == options.family;
    if (!known) throw kiln::Error("unknown family '" + options.family + "'");
  }
  if (args.has("--list")) {
    for (const std::string& name : kiln::opsuite::case_names(options)) std::cout << name << "\n";
    return 0;
  }
  if (args.positional().size() != 1)
    throw kiln::Error("expects one device plugin (a .so path, or cpu/cuda/hip), got " +
                      std::to_string(args.positional().size()) + " arguments");
  std::string spec = args.positional()[0];
  if (args.get("--index")) {
    spec += ':';
    spec += std::to_string(args.get_int("--index", 0));
  }
  kiln::Device* device = kiln::Device::get(spec);
  bool json = args.has("--json"), verbose = args.has("--verbose");
  if (!json)
    std::cout << "checking " << device->spec() << " (" << device->caps().description << ") with "
              << kiln::opsuite::case_names(options).size() << " cases\n";
  kiln::opsuite::Summary summary =
      kiln::opsuite::run_suite(*device, options, [&](const CaseResult& r) {
        if (json) return;
        if (r.status == Status::Failed)
          std::cout << "FAIL " << r.name << ": " << r.message << "\n" << std::flush;
        else if (verbose)
          std::cout << std::left << std::setw(7) << status_name(r.status) << " " << r.name
                    << (r.message.empty() ? "" : ": ") << r.message << "\n";
      });
  if (json) {
    std::cout << to_json(summary).dump(2) << "\n";
  } else {
    print_table(summary);
    std::cout << (summary.failed == 0 && summary.run > 0 ? "PASS" : "FAIL") << " "
              << summary.device << ": " << summary.passed << " of " << summary.run
              << " cases passed, " << summary.failed << " failed, " << summary.skipped
              << " skipped (" << summary.kernels_compiled << " kernels compiled)\n";
  }
  return summary.failed == 0 && summary.run > 0 ? 0 : 1;
}

}  // namespace

KILN_COMMAND("check-device",
             "PLUGIN.so|cpu|cuda|hip [--index N] [--filter SUBSTR] [--family NAME] [--json] "
             "[--list] [--verbose]",
             "run the differential op suite against a device plugin (exit 0 when all pass)",
             check_device);
