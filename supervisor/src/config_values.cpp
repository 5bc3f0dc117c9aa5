// Scalar values of the configuration: sizes, durations and ${VAR} expansion.
#include <cctype>
#include <cstdlib>

#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"
#include "kiln/supervisor/config.h"

namespace kiln::supervisor {

namespace {

// Splits "12.5MiB" into 12.5 and "MiB"; false when there is no leading number.
bool split_number(const std::string& text, double& number, std::string& unit) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return false;
  try {
    size_t used = 0;
    number = std::stod(text.substr(0, i), &used);
    if (used != i) return false;
  } catch (const std::exception&) {
    return false;
  }
  size_t j = i;
  while (j < text.size() && text[j] == ' ') ++j;
  unit = text.substr(j);
  return number >= 0;
}

}  // namespace

uint64_t parse_size(const std::string& text, const std::string& what) {
  double n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    throw Error(what + ": '" + text + "' is not a size (e.g. 4096, 64KiB, 2MB, 1GiB)");
  }
  struct U { const char* name; double mult; };
  static const U units[] = {{"", 1},          {"B", 1},          {"K", 1e3},  {"KB", 1e3},
                            {"KiB", 1024.0},  {"M", 1e6},        {"MB", 1e6}, {"MiB", 1048576.0},
                            {"G", 1e9},       {"GB", 1e9},       {"GiB", 1073741824.0},
                            {"T", 1e12},      {"TB", 1e12},      {"TiB", 1099511627776.0}};
  for (const auto& u : units) {
    if (unit == u.name) {
      double bytes = n * u.mult;
      if (bytes > 1.8e19) throw Error(what + ": '" + text + "' is too large");
      return static_cast<uint64_t>(bytes);
    }
  }
  throw Error(what + ": unknown size unit '" + unit + "' in '" + text + "'");
}

int64_t parse_duration_ms(const std::string& text, const std::string& what) {
  double n = 0;
  std::string unit;
  if (!split_number(text, n, unit)) {
    throw Error(what + ": '" + text + "' is not a duration (e.g. 500ms, 5s, 10m, 1h; a bare number is ms)");
  }
  double mult = 0;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60000;
  else if (unit == "h") mult = 3600000;
  else throw Error(what + ": unknown duration unit '" + unit + "' in '" + text + "'");
  double ms = n * mult;
  if (ms > 9.2e15) throw Error(what + ": '" + text + "' is too long");
  return static_cast<int64_t>(ms);
}

std::string expand_vars(const std::string& text, const std::string& what) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) throw Error(what + ": unterminated ${ in '" + text + "'");
    std::string inner = text.substr(i + 2, close - i - 2);
    std::string name = inner, fallback;
    bool has_fallback = false;
    if (auto p = inner.find(":-"); p != std::string::npos) {
      name = inner.substr(0, p);
      fallback = inner.substr(p + 2);
      has_fallback = true;
    }
    if (name.empty()) throw Error(what + ": empty variable name in '" + text + "'");
    const char* value = std::getenv(name.c_str());
    if (name == "KILN_RUN_DIR" && !(value && *value)) {
      out += ipc::default_run_dir();
    } else if (value && *value) {
      out += value;
    } else if (has_fallback) {
      out += fallback;
    } else {
      throw Error(what + ": environment variable " + name + " is not set (write ${" + name +
                  ":-fallback} to give a default)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace kiln::supervisor
