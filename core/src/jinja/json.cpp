#include "jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "jinja/unicode.h"

namespace kiln::jinja {

namespace {

Value from_json_at(const nlohmann::ordered_json& j, uint32_t depth) {
  using T = nlohmann::ordered_json::value_t;
  if (depth > kMaxNesting)
    fail(ErrorKind::Overflow, "JSON input nests more than " + std::to_string(kMaxNesting) + " levels deep");
  switch (j.type()) {
    case T::null: return Value::none();
    case T::boolean: return Value::boolean(j.get<bool>());
    case T::number_integer: return Value::integer(j.get<int64_t>());
    case T::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(ErrorKind::Overflow, "JSON integer " + std::to_string(u) + " does not fit in 64 bits");
      return Value::integer(static_cast<int64_t>(u));
    }
    case T::number_float: return Value::floating(j.get<double>());
    case T::string: return Value::string(j.get<std::string>());
    case T::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(from_json_at(item, depth + 1));
      return Value::list(std::move(items));
    }
    case T::object: {
      DictData d;
      for (const auto& [k, v] : j.items()) d.items.emplace_back(Value::string(k), from_json_at(v, depth + 1));  // keys are unique
      return Value::dict(std::move(d));
    }
    default: fail(ErrorKind::Type, "unsupported JSON value (binary or discarded)");
  }
}

}  // namespace

Value from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

namespace {

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  auto hex4 = [&](unsigned v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", v);
    out += buf;
  };
  for (char32_t c : utf8_decode(s)) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20) {
      hex4(static_cast<unsigned>(c));
    } else if (ensure_ascii && c >= 0x7F) {
      if (c >= 0x10000) {
        char32_t v = c - 0x10000;
        hex4(0xD800 + static_cast<unsigned>(v >> 10));
        hex4(0xDC00 + static_cast<unsigned>(v & 0x3FF));
      } else {
        hex4(static_cast<unsigned>(c));
      }
    } else {
      utf8_append(out, c);
    }
  }
  out.push_back('"');
}

std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return float_repr(d);
}

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o) : opt_(o) {
    item_sep_ = o.item_separator ? *o.item_separator : (o.indent ? "," : ", ");
  }

  void dump(std::string& out, const Value& v, int level) {
    if (level > 500) fail(ErrorKind::Overflow, "maximum recursion depth exceeded while encoding a JSON object");
    switch (v.kind()) {
      case Value::Kind::None: out += "null"; return;
      case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
      case Value::Kind::Int: out += std::to_string(v.as_int()); return;
      case Value::Kind::Float: out += float_json(v.as_float()); return;
      case Value::Kind::String: dump_string(out, v.str(), opt_.ensure_ascii); return;
      case Value::Kind::List:
        if (v.list_data().kind == SeqKind::List || v.list_data().kind == SeqKind::Tuple) {
          dump_list(out, v.items(), level);
          return;
        }
        break;
      case Value::Kind::Dict: dump_dict(out, v.dict_data(), level); return;
      default: break;
    }
    type_error("Object of type " + type_name(v) + " is not JSON serializable");
  }

 private:
  void newline(std::string& out, int level) {
    check_result_size(static_cast<double>(out.size()) + static_cast<double>(level) * static_cast<double>(opt_.indent->size()),
                      "tojson");
    out.push_back('\n');
    for (int i = 0; i < level; ++i) out += *opt_.indent;
  }

  void dump_list(std::string& out, const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += item_sep_;
      if (opt_.indent) newline(out, level + 1);
      dump(out, items[i], level + 1);
    }
    if (opt_.indent) newline(out, level);
    out.push_back(']');
  }

  std::string key_text(const Value& k) {
    switch (k.kind()) {
      case Value::Kind::String: return k.str();
      case Value::Kind::Float: return float_json(k.as_float());
      case Value::Kind::Bool: return k.as_bool() ? "true" : "false";
      case Value::Kind::Int: return std::to_string(k.as_int());
      case Value::Kind::None: return "null";
      default: type_error("keys must be str, int, float, bool or None, not " + type_name(k));
    }
  }

  void dump_dict(std::string& out, const DictData& d, int level) {
    if (d.items.empty()) {
      out += "{}";
      return;
    }
    std::vector<const std::pair<Value, Value>*> entries;
    for (const auto& kv : d.items) entries.push_back(&kv);
    if (opt_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto* a, const auto* b) { return less_than(a->first, b->first); });
    }
    out.push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out += item_sep_;
      if (opt_.indent) newline(out, level + 1);
      dump_string(out, key_text(entries[i]->first), opt_.ensure_ascii);
      out += opt_.key_separator;
      dump(out, entries[i]->second, level + 1);
    }
    if (opt_.indent) newline(out, level);
    out.push_back('}');
  }

  const JsonDumpOptions& opt_;
  std::string item_sep_;
};

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  Dumper(options).dump(out, v, 0);
  return out;
}

}  // namespace kiln::jinja
