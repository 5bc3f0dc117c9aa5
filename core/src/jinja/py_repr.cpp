// str() and repr() exactly as Python prints them: what `{{ value }}` and `|string` show.
#include <charconv>
#include <cmath>
#include <cstdio>

#include "jinja/unicode.h"
#include "jinja/value.h"

namespace kiln::jinja {

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::None: return "NoneType";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Float: return "float";
    case Value::Kind::String: return v.is_markup() ? "Markup" : "str";
    case Value::Kind::List:
      switch (v.list_data().kind) {
        case SeqKind::List: return "list";
        case SeqKind::Tuple: return "tuple";
        case SeqKind::DictKeys: return "dict_keys";
        case SeqKind::DictValues: return "dict_values";
        case SeqKind::DictItems: return "dict_items";
      }
      return "list";
    case Value::Kind::Dict: return "dict";
    case Value::Kind::Iterator: return v.iterator_data().type_name;
    case Value::Kind::Object: return v.object_ref().type_name();
  }
  return "object";
}

// Python's repr(float): the shortest digits that round-trip, fixed notation for decimal
// exponents in [-4, 16), scientific ("1e+16", "1.5e-05") otherwise.
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = !sci.empty() && sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent >= 0) {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits + std::string(int_len - digits.size(), '0') + ".0";
      } else {
        out += digits.substr(0, int_len) + "." + digits.substr(int_len);
      }
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

std::string string_repr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : utf8_decode(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (py_isprintable(c)) {
      utf8_append(out, c);
    } else {
      char buf[16];
      if (c < 0x100)
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000)
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      else
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

namespace {

// open + the items' reprs separated by ", " + close.
std::string join_repr(const char* open, const std::vector<Value>& items, const char* close) {
  std::string out = open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    out += repr(items[i]);
  }
  out += close;
  return out;
}

}  // namespace

std::string repr(const Value& v) {
  static thread_local int depth = 0;
  if (depth > static_cast<int>(kMaxNesting))
    fail(ErrorKind::Overflow, "maximum recursion depth exceeded while getting the repr of an object");
  struct Enter {
    Enter() { ++depth; }
    ~Enter() { --depth; }
  } enter;
  switch (v.kind()) {
    case Value::Kind::Undefined: return "Undefined";
    case Value::Kind::String:
      if (!v.is_markup()) return string_repr(v.str());
      return std::string("Markup(").append(string_repr(v.str())).append(")");
    case Value::Kind::List: {
      const ListData& data = v.list_data();
      switch (data.kind) {
        case SeqKind::List: return join_repr("[", data.items, "]");
        case SeqKind::Tuple: return join_repr("(", data.items, data.items.size() == 1 ? ",)" : ")");
        case SeqKind::DictKeys: return join_repr("dict_keys([", data.items, "])");
        case SeqKind::DictValues: return join_repr("dict_values([", data.items, "])");
        case SeqKind::DictItems: return join_repr("dict_items([", data.items, "])");
      }
      return "";
    }
    case Value::Kind::Dict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, val] : v.dict_data().items) {
        if (!first) out += ", ";
        first = false;
        out += repr(k) + ": " + repr(val);
      }
      return out + "}";
    }
    case Value::Kind::Iterator: return "<" + v.iterator_data().type_name + " object>";
    case Value::Kind::Object: return v.object_ref().repr();
    default: return to_str(v);
  }
}

std::string to_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return "";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.as_bool() ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Float: return float_repr(v.as_float());
    case Value::Kind::String: return v.str();
    default: return repr(v);
  }
}

}  // namespace kiln::jinja
