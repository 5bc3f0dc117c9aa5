// The tools of a request, as a parser needs them: which function names exist and what JSON
// schema type each parameter has (for formats whose argument values arrive as bare text).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::toolparse {

class ToolSet {
 public:
  ToolSet() = default;
  // Reads an OpenAI tools array ([{"type":"function","function":{"name","parameters"}}], bare
  // {"name","parameters"} entries too). Lenient: entries it cannot read are skipped.
  static ToolSet from_json(const nlohmann::json& tools);
  // Strict check for callers that own the input: kiln::Error naming the entry and field.
  static void validate(const nlohmann::json& tools, const std::string& where);

  bool empty() const { return functions_.empty(); }
  bool has(std::string_view name) const;
  // The JSON schema of parameter `param` of function `name`, or nullptr.
  const nlohmann::json* parameter_schema(std::string_view name, std::string_view param) const;

 private:
  std::map<std::string, nlohmann::json, std::less<>> functions_;  // name -> parameters schema
};

// The JSON types a schema allows ("string", "integer", "number", "boolean", "object", "array",
// "null"), from "type" (string or list), "anyOf"/"oneOf", or "enum" values. Empty if unknown.
std::vector<std::string> schema_types(const nlohmann::json* schema);

// True when a value for this schema is text to keep verbatim (type string, or no type known).
bool schema_wants_string(const nlohmann::json* schema);

// Converts a parameter value written as bare text to the type its schema asks for; text that
// does not read as that type stays a string.
nlohmann::json convert_parameter_value(std::string_view text, const nlohmann::json* schema);

}  // namespace kiln::toolparse
