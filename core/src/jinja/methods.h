// The methods templates may call on str, dict, list and tuple values (s.strip(), d.items(),
// l.index(x), ...), with the ImmutableSandboxedEnvironment's refusal of mutating ones.
#pragma once

#include <string>

#include "jinja/value.h"

namespace kiln::jinja {

enum class MethodStatus { Missing, Safe, Unsafe };

MethodStatus find_method(const Value& self, const std::string& name);
// A callable object bound to `self` (what `s.strip` evaluates to).
Value bound_method(const Value& self, const std::string& name);
Value call_method(const Value& self, const std::string& name, const CallArgs& args);

}  // namespace kiln::jinja
