#include "jinja/args.h"

namespace kiln::jinja {

BoundArgs::BoundArgs(const std::string& function, const CallArgs& call,
                     const std::vector<std::string>& names, size_t required)
    : function_(function), names_(names), values_(names.size()) {
  if (call.args.size() > names.size()) {
    type_error(function + "() takes at most " + std::to_string(names.size()) + " argument" +
               (names.size() == 1 ? "" : "s") + " (" + std::to_string(call.args.size()) +
               " given)");
  }
  for (size_t i = 0; i < call.args.size(); ++i) values_[i] = call.args[i];
  for (const auto& [key, value] : call.kwargs) {
    size_t i = 0;
    while (i < names.size() && names[i] != key) ++i;
    if (i == names.size())
      type_error(function + "() got an unexpected keyword argument '" + key + "'");
    if (values_[i]) type_error(function + "() got multiple values for argument '" + key + "'");
    values_[i] = value;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!values_[i])
      type_error(function + "() missing required argument '" + names[i] + "'");
  }
}

int64_t BoundArgs::int_or(size_t i, int64_t fallback) const {
  if (!has(i)) return fallback;
  const Value& v = get(i);
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_integral())
    type_error("'" + type_name(v) + "' object cannot be interpreted as an integer (argument '" +
               names_[i] + "' of " + function_ + "())");
  return v.as_int();
}

bool BoundArgs::bool_or(size_t i, bool fallback) const { return has(i) ? truthy(get(i)) : fallback; }

std::optional<std::string> BoundArgs::str_or_none(size_t i) const {
  if (!has(i) || get(i).is_none()) return std::nullopt;
  const Value& v = get(i);
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string())
    type_error(function_ + "() argument '" + names_[i] + "' must be str or None, not " +
               type_name(v));
  return v.str();
}

}  // namespace kiln::jinja
