// kiln::opsuite — the differential op suite (llama.cpp's test-backend-ops idea): every op of
// kiln/tensor.h and kiln/nn.h, over dtypes and random shapes (broadcast, non-contiguous views,
// zero-size and size-1 dims), run on a device and compared with the double-precision reference
// evaluator; plus bad-input cases that must throw kiln::Error naming the shapes.
// Used by tests/opsuite (every present device) and `kiln check-device PLUGIN.so`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln {
class Device;
}

namespace kiln::opsuite {

struct Options {
  std::string filter;  // run only cases whose name contains this substring (empty: all)
  std::string family;  // run only this family (empty: all)
  uint64_t seed = 0x6b696c6e;  // "kiln": input values derive from it and the case name
};

enum class Status { Passed, Failed, Skipped };

struct CaseResult {
  std::string name;    // "family/op dtype shapes view", unique
  std::string family;
  Status status = Status::Passed;
  double max_error = 0;  // largest |device - reference| over compared elements
  std::string message;   // why it failed or was skipped
  double seconds = 0;
  uint64_t kernels_compiled = 0;  // device compiles the case caused (0 when all were cached)
};

struct Summary {
  std::string device;  // the device's canonical spec, e.g. "cpu:0"
  int run = 0, passed = 0, failed = 0;  // run = passed + failed
  int skipped = 0;                      // not run: the device lacks a dtype it needs
  double seconds = 0;
  uint64_t kernels_compiled = 0;
  std::vector<CaseResult> results;
};

// The op families, in suite order ("unary", "binary", ..., "errors").
std::vector<std::string> families();
// Names of the cases Options selects, without running them.
std::vector<std::string> case_names(const Options& options = {});
// Runs the selected cases on device; on_result (optional) sees each result as it completes.
Summary run_suite(Device& device, const Options& options = {},
                  const std::function<void(const CaseResult&)>& on_result = {});

}  // namespace kiln::opsuite
