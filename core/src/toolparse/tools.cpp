// A request's tools and the schema-driven conversion of bare-text argument values.
#include "kiln/toolparse_tools.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "kiln/error.h"
#include "kiln/toolparse_text.h"

namespace kiln::toolparse {

namespace {

// The function object of one tools entry: {"type":"function","function":{..}} or a bare {..}.
const nlohmann::json* function_of(const nlohmann::json& entry) {
  if (!entry.is_object()) return nullptr;
  auto f = entry.find("function");
  if (f != entry.end() && f->is_object()) return &*f;
  if (entry.contains("name")) return &entry;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has_type(const std::vector<std::string>& types, std::string_view t) {
  return std::find(types.begin(), types.end(), t) != types.end();
}

// Common spellings models and hand-written schemas use for the JSON schema types.
std::string canonical_type(const std::string& t) {
  if (t == "int") return "integer";
  if (t == "float" || t == "double") return "number";
  if (t == "bool") return "boolean";
  if (t == "dict") return "object";
  if (t == "list") return "array";
  return t;
}

void add_type(std::vector<std::string>& out, const std::string& t) {
  std::string c = canonical_type(t);
  if (!has_type(out, c)) out.push_back(c);
}

void add_types_of(const nlohmann::json& schema, std::vector<std::string>& out, int depth) {
  if (!schema.is_object() || depth > 8) return;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) add_type(out, t->get<std::string>());
    if (t->is_array())
      for (const auto& e : *t)
        if (e.is_string()) add_type(out, e.get<std::string>());
    return;
  }
  for (const char* key : {"anyOf", "oneOf", "allOf"}) {
    if (auto alts = schema.find(key); alts != schema.end() && alts->is_array()) {
      for (const auto& alt : *alts) add_types_of(alt, out, depth + 1);
    }
  }
  if (!out.empty()) return;
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    for (const auto& v : *e) {
      if (v.is_string()) add_type(out, "string");
      else if (v.is_number_integer()) add_type(out, "integer");
      else if (v.is_number()) add_type(out, "number");
      else if (v.is_boolean()) add_type(out, "boolean");
      else if (v.is_null()) add_type(out, "null");
    }
  } else if (schema.contains("properties")) {
    add_type(out, "object");
  } else if (schema.contains("items")) {
    add_type(out, "array");
  }
}

bool read_integer(std::string_view t, nlohmann::json& out) {
  size_t i = (!t.empty() && t[0] == '-') ? 1 : 0;
  if (i == t.size() || t.size() - i > 18) return false;  // keep within int64
  for (size_t k = i; k < t.size(); ++k)
    if (t[k] < '0' || t[k] > '9') return false;
  out = std::stoll(std::string(t));
  return true;
}

bool read_number(std::string_view t, nlohmann::json& out) {
  if (t.empty() || t.size() > 64) return false;
  // A JSON number keeps its exact text form (integers stay integers).
  nlohmann::json parsed = nlohmann::json::parse(t, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_number()) {
    out = parsed;
    return true;
  }
  // Forms JSON does not allow but models write: "+3", ".5", "2.".
  std::string s(t);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  bool plain = s.find_first_not_of("+-.0123456789eE") == std::string::npos;
  if (!plain || errno != 0 || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool read_json_of(std::string_view t, nlohmann::json::value_t kind, nlohmann::json& out) {
  if (t.empty() || json_max_nesting(t) > kMaxJsonNesting) return false;
  nlohmann::json parsed = nlohmann::json::parse(t, nullptr, false);
  if (parsed.is_discarded() || parsed.type() != kind) return false;
  out = std::move(parsed);
  return true;
}

}  // namespace

ToolSet ToolSet::from_json(const nlohmann::json& tools) {
  ToolSet set;
  if (!tools.is_array()) return set;
  for (const auto& entry : tools) {
    const nlohmann::json* f = function_of(entry);
    if (!f) continue;
    auto name = f->find("name");
    if (name == f->end() || !name->is_string() || name->get<std::string>().empty()) continue;
    auto params = f->find("parameters");
    set.functions_[name->get<std::string>()] =
        (params != f->end() && params->is_object()) ? *params : nlohmann::json::object();
  }
  return set;
}

void ToolSet::validate(const nlohmann::json& tools, const std::string& where) {
  if (!tools.is_array()) throw Error(where + ": tools must be a JSON array");
  for (size_t i = 0; i < tools.size(); ++i) {
    const auto& entry = tools[i];
    const std::string at = where + ": tools[" + std::to_string(i) + "]";
    if (!entry.is_object()) throw Error(at + " is not an object");
    if (auto t = entry.find("type"); t != entry.end() && *t != "function") {
      throw Error(at + ".type is " + t->dump() + ", expected \"function\"");
    }
    const nlohmann::json* f = function_of(entry);
    if (!f) throw Error(at + " has no \"function\" object");
    const std::string fat = (f == &entry) ? at : at + ".function";
    auto name = f->find("name");
    if (name == f->end() || !name->is_string() || name->get<std::string>().empty()) {
      throw Error(fat + ".name is missing or not a non-empty string");
    }
    if (auto p = f->find("parameters"); p != f->end() && !p->is_object()) {
      throw Error(fat + ".parameters is not an object");
    }
  }
}

bool ToolSet::has(std::string_view name) const { return functions_.find(name) != functions_.end(); }

const nlohmann::json* ToolSet::parameter_schema(std::string_view name,
                                                std::string_view param) const {
  auto f = functions_.find(name);
  if (f == functions_.end()) return nullptr;
  auto props = f->second.find("properties");
  if (props == f->second.end() || !props->is_object()) return nullptr;
  auto p = props->find(std::string(param));
  return p == props->end() ? nullptr : &*p;
}

std::vector<std::string> schema_types(const nlohmann::json* schema) {
  std::vector<std::string> out;
  if (schema) add_types_of(*schema, out, 0);
  return out;
}

bool schema_wants_string(const nlohmann::json* schema) {
  auto types = schema_types(schema);
  return types.empty() || (types.size() == 1 && types[0] == "string");
}

nlohmann::json convert_parameter_value(std::string_view text, const nlohmann::json* schema) {
  auto types = schema_types(schema);
  if (types.empty() || (types.size() == 1 && types[0] == "string")) return std::string(text);
  std::string_view t = trim(text);
  nlohmann::json out;
  if (has_type(types, "null") && (t == "null" || t == "None")) return nullptr;
  if (has_type(types, "boolean")) {
    std::string l = lower(t);
    if (l == "true") return true;
    if (l == "false") return false;
  }
  if (has_type(types, "integer") && read_integer(t, out)) return out;
  if (has_type(types, "number") && read_number(t, out)) return out;
  if (has_type(types, "object") && read_json_of(t, nlohmann::json::value_t::object, out)) return out;
  if (has_type(types, "array") && read_json_of(t, nlohmann::json::value_t::array, out)) return out;
  return std::string(text);
}

}  // namespace kiln::toolparse
