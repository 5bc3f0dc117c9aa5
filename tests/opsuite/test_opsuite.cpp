// Runs tools/opsuite on every present device, one test case per op family (so a failure names
// its family, and the message names each failing case and op). REQUIREs 0 failures.
#include <catch2/catch.hpp>
#include <iostream>
#include <set>

#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "suite/suite.h"

using namespace kiln;

namespace {

struct Present {
  std::vector<Device*> devices;
  std::vector<std::string> absent;  // "cuda: why"
};

// The cpu device must load (it is the default device); GPUs are used when present.
const Present& present_devices() {
  static const Present p = [] {
    Present out;
    out.devices.push_back(Device::get("cpu"));
    for (const char* spec : {"cuda", "hip"}) {
      try {
        out.devices.push_back(Device::get(spec));
      } catch (const Error& e) {
        out.absent.push_back(std::string(spec) + ": " + e.what());
      }
    }
    return out;
  }();
  return p;
}

void run_family(const std::string& family) {
  const Present& p = present_devices();
  for (const std::string& why : p.absent)
    std::cout << "opsuite " << family << ": skipped device " << why << "\n";
  opsuite::Options options;
  options.family = family;
  for (Device* device : p.devices) {
    opsuite::Summary s = opsuite::run_suite(*device, options);
    std::cout << "opsuite " << family << " on " << s.device << ": " << s.run << " run, " << s.passed
              << " passed, " << s.failed << " failed, " << s.skipped << " skipped ("
              << s.seconds << " s)\n";
    int shown = 0;
    for (const opsuite::CaseResult& r : s.results) {
      if (r.status != opsuite::Status::Failed) continue;
      if (++shown <= 40) UNSCOPED_INFO(s.device << " FAIL " << r.name << ": " << r.message);
    }
    if (shown > 40) UNSCOPED_INFO("... and " << shown - 40 << " more failures");
    CHECK(s.run > 0);
    CHECK(s.failed == 0);
  }
}

}  // namespace

// Families covered by the test cases below; a family added to the suite must be added here.
static const std::set<std::string> kTested{
    "unary",   "binary", "logic",     "dot4",     "cast",     "reduce",   "movement", "matmul",
    "softmax", "gather", "conv",      "norm",     "attention", "attention_large",
    "creation", "assign", "random",   "errors"};

TEST_CASE("opsuite: every family has a test case, several thousand cases", "[opsuite]") {
  std::vector<std::string> families = opsuite::families();
  for (const std::string& f : families) {
    INFO("family " << f);
    CHECK(kTested.count(f) == 1);
  }
  CHECK(families.size() == kTested.size());
  CHECK(opsuite::case_names().size() >= 3000);
}

TEST_CASE("opsuite: unary", "[opsuite]") { run_family("unary"); }
TEST_CASE("opsuite: binary", "[opsuite]") { run_family("binary"); }
TEST_CASE("opsuite: logic", "[opsuite]") { run_family("logic"); }
TEST_CASE("opsuite: dot4", "[opsuite]") { run_family("dot4"); }
TEST_CASE("opsuite: cast", "[opsuite]") { run_family("cast"); }
TEST_CASE("opsuite: reduce", "[opsuite]") { run_family("reduce"); }
TEST_CASE("opsuite: movement", "[opsuite]") { run_family("movement"); }
TEST_CASE("opsuite: matmul", "[opsuite]") { run_family("matmul"); }
TEST_CASE("opsuite: softmax", "[opsuite]") { run_family("softmax"); }
TEST_CASE("opsuite: gather", "[opsuite]") { run_family("gather"); }
TEST_CASE("opsuite: conv", "[opsuite]") { run_family("conv"); }
TEST_CASE("opsuite: norm", "[opsuite]") { run_family("norm"); }
TEST_CASE("opsuite: attention", "[opsuite]") { run_family("attention"); }
TEST_CASE("opsuite: attention_large", "[opsuite]") { run_family("attention_large"); }
TEST_CASE("opsuite: creation", "[opsuite]") { run_family("creation"); }
TEST_CASE("opsuite: assign", "[opsuite]") { run_family("assign"); }
TEST_CASE("opsuite: random", "[opsuite]") { run_family("random"); }
TEST_CASE("opsuite: errors", "[opsuite]") { run_family("errors"); }
