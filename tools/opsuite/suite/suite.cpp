#include "suite.h"

#include <chrono>
#include <map>
#include <set>

#include "cases.h"
#include "kiln/device_runtime.h"

namespace kiln::opsuite {

const std::vector<DType>& float_dtypes() {
  static const std::vector<DType> v{DType::F32, DType::F16, DType::BF16};
  return v;
}
const std::vector<DType>& int_dtypes() {
  static const std::vector<DType> v{DType::I8,  DType::U8,  DType::I16, DType::U16,
                                    DType::I32, DType::U32, DType::I64, DType::U64};
  return v;
}
const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> v = [] {
    std::vector<DType> all = float_dtypes();
    all.insert(all.end(), int_dtypes().begin(), int_dtypes().end());
    all.push_back(DType::Bool);
    return all;
  }();
  return v;
}

std::string case_name(const std::string& family, const std::string& op, const std::string& detail) {
  return family + "/" + op + (detail.empty() ? "" : " " + detail);
}

namespace {

const CaseList& all_cases() {
  static const CaseList cases = [] {
    CaseList list;
    add_unary_cases(list);
    add_binary_cases(list);
    add_logic_cases(list);
    add_dot4_cases(list);
    add_cast_cases(list);
    add_reduce_cases(list);
    add_movement_cases(list);
    add_matmul_cases(list);
    add_softmax_cases(list);
    add_gather_cases(list);
    add_conv_cases(list);
    add_norm_cases(list);
    add_attention_cases(list);
    add_creation_cases(list);
    add_assign_cases(list);
    add_random_cases(list);
    add_error_cases(list);
    // Names identify cases (filters, reports): make repeats unique.
    std::map<std::string, int> seen;
    for (Case& c : list) {
      int n = ++seen[c.name];
      if (n > 1) c.name += " #" + std::to_string(n);
    }
    return list;
  }();
  return cases;
}

bool selected(const Case& c, const Options& o) {
  if (!o.family.empty() && c.family != o.family) return false;
  return o.filter.empty() || c.name.find(o.filter) != std::string::npos;
}

}  // namespace

std::vector<std::string> families() {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Case& c : all_cases())
    if (seen.insert(c.family).second) out.push_back(c.family);
  return out;
}

std::vector<std::string> case_names(const Options& options) {
  std::vector<std::string> out;
  for (const Case& c : all_cases())
    if (selected(c, options)) out.push_back(c.name);
  return out;
}

Summary run_suite(Device& device, const Options& options,
                  const std::function<void(const CaseResult&)>& on_result) {
  using clock = std::chrono::steady_clock;
  Summary summary;
  summary.device = device.spec();
  auto suite_start = clock::now();
  uint32_t mask = device.caps().dtype_mask;
  for (const Case& c : all_cases()) {
    if (!selected(c, options)) continue;
    CaseResult r;
    r.name = c.name;
    r.family = c.family;
    auto start = clock::now();
    uint64_t compiled_before = runtime_stats().kernels_compiled;
    Outcome o;
    for (DType t : c.dtypes)
      if (!(mask & (1u << static_cast<unsigned>(t))))
        o = Outcome::skip("device lacks dtype " + dtype_str(t));
    if (o.status != Status::Skipped) {
      Context cx{&device, Rng(hash_name(c.name, options.seed))};
      try {
        o = c.run(cx);
      } catch (const Error& e) {
        o = Outcome::fail(std::string("kiln::Error: ") + e.what());
      } catch (const std::exception& e) {
        o = Outcome::fail(std::string("exception: ") + e.what());
      }
    }
    r.status = o.status;
    r.max_error = o.max_error;
    r.message = o.message;
    r.seconds = std::chrono::duration<double>(clock::now() - start).count();
    r.kernels_compiled = runtime_stats().kernels_compiled - compiled_before;
    summary.kernels_compiled += r.kernels_compiled;
    if (r.status == Status::Skipped) ++summary.skipped;
    else ++summary.run;
    if (r.status == Status::Passed) ++summary.passed;
    if (r.status == Status::Failed) ++summary.failed;
    if (on_result) on_result(r);
    summary.results.push_back(std::move(r));
  }
  summary.seconds = std::chrono::duration<double>(clock::now() - suite_start).count();
  return summary;
}

}  // namespace kiln::opsuite
