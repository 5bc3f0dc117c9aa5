// Jinja's built-in filters, tests and global functions, plus the ones transformers adds
// (tojson as json.dumps, raise_exception, strftime_now).
#pragma once

#include <string>

#include "jinja/value.h"

namespace kiln::jinja {

using FilterFn = Value (*)(Interpreter& interp, const Value& value, const CallArgs& args);
using TestFn = bool (*)(Interpreter& interp, const Value& value, const CallArgs& args);

struct FilterDef {
  const char* name;
  FilterFn fn;
};

struct TestDef {
  const char* name;
  TestFn fn;
};

const FilterDef* find_filter(const std::string& name);
const TestDef* find_test(const std::string& name);
// A filter or test jinja2 has but this engine does not implement.
bool is_unimplemented_filter(const std::string& name);
bool is_unimplemented_test(const std::string& name);

// range, dict, namespace, cycler, joiner, raise_exception, strftime_now.
void add_global_functions(DictData& globals);

}  // namespace kiln::jinja
