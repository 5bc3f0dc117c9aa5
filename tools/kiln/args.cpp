#include "args.h"

#include <stdexcept>

#include "kiln/error.h"

namespace kiln::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& value_flags,
           const std::set<std::string>& bool_flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      positional_.push_back(a);
      continue;
    }
    std::string flag = a, value;
    bool has_inline = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_inline = true;
    }
    if (value_flags.count(flag)) {
      if (!has_inline) {
        if (i + 1 >= argv.size()) throw Error("flag " + flag + " needs a value");
        value = argv[++i];
      }
      values_[flag] = value;
    } else if (bool_flags.count(flag)) {
      if (has_inline) throw Error("flag " + flag + " takes no value");
      bools_.insert(flag);
    } else {
      throw Error("unknown flag " + flag);
    }
  }
}

bool Args::has(const std::string& flag) const {
  return bools_.count(flag) > 0 || values_.count(flag) > 0;
}

std::optional<std::string> Args::get(const std::string& flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& flag, const std::string& fallback) const {
  auto v = get(flag);
  return v ? *v : fallback;
}

std::string Args::require(const std::string& flag) const {
  auto v = get(flag);
  if (!v) throw Error("missing required flag " + flag);
  return *v;
}

int64_t Args::get_int(const std::string& flag, int64_t fallback) const {
  auto v = get(flag);
  if (!v) return fallback;
  try {
    size_t used = 0;
    int64_t out = std::stoll(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return out;
  } catch (const std::exception&) {
    throw Error("flag " + flag + ": '" + *v + "' is not an integer");
  }
}

double Args::get_double(const std::string& flag, double fallback) const {
  auto v = get(flag);
  if (!v) return fallback;
  try {
    size_t used = 0;
    double out = std::stod(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return out;
  } catch (const std::exception&) {
    throw Error("flag " + flag + ": '" + *v + "' is not a number");
  }
}

}  // namespace kiln::cli
