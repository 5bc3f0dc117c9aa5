// Python's two string formatting languages: printf-style `fmt % args` (also the `format`
// filter) and str.format() with its format-spec mini-language.
#pragma once

#include <string>

#include "jinja/value.h"

namespace kiln::jinja {

// `fmt % args`; with `markup` (a Markup format string) the arguments are HTML-escaped.
std::string percent_format(const std::string& fmt, const Value& args, bool markup);
// fmt.format(*args, **kwargs), fields looked up through the sandbox like jinja does.
std::string str_format(const std::string& fmt, const CallArgs& args);
// format(value, spec)
std::string format_value(const Value& value, const std::string& spec);

}  // namespace kiln::jinja
