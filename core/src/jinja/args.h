// Binding call arguments to named parameters the way Python does for builtins: positionals
// first, then keywords; too many, unknown or duplicate arguments are TypeErrors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "jinja/value.h"

namespace kiln::jinja {

class BoundArgs {
 public:
  // `names` lists the parameters in order; `required` how many leading ones must be given.
  BoundArgs(const std::string& function, const CallArgs& call, const std::vector<std::string>& names,
            size_t required = 0);

  bool has(size_t i) const { return values_[i].has_value(); }
  const Value& get(size_t i) const { return *values_[i]; }
  Value get_or(size_t i, Value fallback) const { return has(i) ? *values_[i] : std::move(fallback); }
  // The argument, or `fallback` when absent; TypeError unless an int (bool counts).
  int64_t int_or(size_t i, int64_t fallback) const;
  bool bool_or(size_t i, bool fallback) const;
  // A str argument (TypeError otherwise), or `fallback` when absent or None.
  std::optional<std::string> str_or_none(size_t i) const;

 private:
  std::string function_;
  std::vector<std::string> names_;
  std::vector<std::optional<Value>> values_;
};

}  // namespace kiln::jinja
