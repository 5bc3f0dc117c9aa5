// JSON in and out: render inputs become template values (objects keep their key order), and
// tojson prints values exactly as Python's json.dumps does.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "jinja/value.h"

namespace kiln::jinja {

Value from_json(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
  bool ensure_ascii = true;
  std::optional<std::string> indent;  // json.dumps(indent=...): None, or the per-level string
  std::optional<std::string> item_separator;  // default ", " (or "," with indent)
  std::string key_separator = ": ";
  bool sort_keys = false;
};

std::string json_dumps(const Value& v, const JsonDumpOptions& options);

}  // namespace kiln::jinja
