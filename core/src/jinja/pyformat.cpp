#include "jinja/pyformat.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "jinja/unicode.h"

namespace kiln::jinja {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string c_format(const char* pattern, int precision, double value) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, pattern, precision, value);
  if (n < 0) return "";
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(big.data(), big.size(), pattern, precision, value);
  big.resize(static_cast<size_t>(n));
  return big;
}

// Digits of |value| in `base`.
std::string int_digits(int64_t value, int base, bool upper) {
  uint64_t mag = value < 0 ? (~static_cast<uint64_t>(value) + 1) : static_cast<uint64_t>(value);
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[mag % static_cast<uint64_t>(base)]);
    mag /= static_cast<uint64_t>(base);
  } while (mag);
  return out;
}

std::string group_digits(const std::string& digits, char sep, size_t every) {
  std::string out;
  size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i && (n - i) % every == 0) out.push_back(sep);
    out.push_back(digits[i]);
  }
  return out;
}

// Formats a float body (no sign) with a printf-like type and precision.
std::string float_body(double mag, char type, int precision, bool alternate) {
  if (std::isinf(mag)) return (type >= 'A' && type <= 'Z') ? "INF" : "inf";
  if (std::isnan(mag)) return (type >= 'A' && type <= 'Z') ? "NAN" : "nan";
  std::string pattern = std::string("%") + (alternate ? "#" : "") + ".*" + type;
  return c_format(pattern.c_str(), precision, mag);
}

int64_t to_int_for_format(const Value& v, char type) {
  if (v.is_integral()) return v.as_int();
  if (v.is_float()) {
    double d = v.as_float();
    if (std::isnan(d) || std::isinf(d)) fail(ErrorKind::Value, "cannot convert float to integer");
    return static_cast<int64_t>(d);
  }
  type_error(std::string("%") + type + " format: a real number is required, not " + type_name(v));
}

double to_float_for_format(const Value& v, char type) {
  if (v.is_number()) return v.as_float();
  type_error(std::string("%") + type + " format: a real number is required, not " + type_name(v));
}

std::string ascii_repr(const Value& v) {
  std::string r = repr(v);
  std::string out;
  for (char32_t c : utf8_decode(r)) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    char buf[16];
    if (c < 0x100)
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
    else if (c < 0x10000)
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
    else
      std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
    out += buf;
  }
  return out;
}

std::string pad_to(const std::string& body, int64_t width, bool left_align, char fill = ' ') {
  int64_t len = static_cast<int64_t>(utf8_length(body));
  if (width <= len) return body;
  check_result_size(static_cast<double>(width), "format");
  std::string padding(static_cast<size_t>(width - len), fill);
  return left_align ? body + padding : padding + body;
}

}  // namespace

std::string percent_format(const std::string& fmt, const Value& args, bool markup) {
  std::vector<Value> positional;
  const Value* mapping = nullptr;
  if (args.is_list() && args.list_data().kind == SeqKind::Tuple) {
    positional = args.items();
  } else {
    positional.push_back(args);
    if (args.is_dict()) mapping = &args;
  }
  size_t next = 0;
  bool used_mapping = false;
  auto take = [&]() -> const Value& {
    if (next >= positional.size()) type_error("not enough arguments for format string");
    return positional[next++];
  };
  auto escaped = [&](std::string s) { return markup ? html_escape(Value::string(s)).str() : s; };

  std::string out;
  size_t i = 0, n = fmt.size();
  while (i < n) {
    char c = fmt[i++];
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    if (i >= n) fail(ErrorKind::Value, "incomplete format");
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      size_t close = fmt.find(')', i);
      if (close == std::string::npos) fail(ErrorKind::Value, "incomplete format key");
      if (!mapping) type_error("format requires a mapping");
      std::string key = fmt.substr(i + 1, close - i - 1);
      const Value* v = mapping->dict_data().find(std::string_view(key));
      if (!v) fail(ErrorKind::Runtime, "KeyError: " + string_repr(key));
      arg = v;
      used_mapping = true;
      i = close + 1;
    }
    bool left = false, plus = false, space = false, alternate = false, zero = false;
    for (; i < n; ++i) {
      if (fmt[i] == '-') left = true;
      else if (fmt[i] == '+') plus = true;
      else if (fmt[i] == ' ') space = true;
      else if (fmt[i] == '#') alternate = true;
      else if (fmt[i] == '0') zero = true;
      else break;
    }
    int64_t width = 0;
    if (i < n && fmt[i] == '*') {
      const Value& w = take();
      if (!w.is_integral()) type_error("* wants int");
      width = w.as_int();
      if (width < 0) {
        left = true;
        width = -width;
      }
      ++i;
    } else {
      while (i < n && is_digit(fmt[i])) width = std::min<int64_t>(width * 10 + (fmt[i++] - '0'), 1 << 28);
    }
    int precision = -1;
    if (i < n && fmt[i] == '.') {
      ++i;
      precision = 0;
      if (i < n && fmt[i] == '*') {
        const Value& p = take();
        if (!p.is_integral()) type_error("* wants int");
        precision = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(p.as_int(), 1000)));
        ++i;
      } else {
        while (i < n && is_digit(fmt[i])) precision = std::min(precision * 10 + (fmt[i++] - '0'), 1000);
      }
    }
    while (i < n && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= n) fail(ErrorKind::Value, "incomplete format");
    char type = fmt[i++];
    if (type == '%') {
      out.push_back('%');
      continue;
    }
    const Value& value = arg ? *arg : take();
    std::string body, sign;
    bool numeric = true;
    switch (type) {
      case 's': body = escaped(to_str(value)); numeric = false; break;
      case 'r': body = escaped(repr(value)); numeric = false; break;
      case 'a': body = escaped(ascii_repr(value)); numeric = false; break;
      case 'c': {
        numeric = false;
        if (value.is_string() && utf8_length(value.str()) == 1) {
          body = value.str();
        } else if (value.is_integral() && value.as_int() >= 0 && value.as_int() <= 0x10FFFF) {
          utf8_append(body, static_cast<char32_t>(value.as_int()));
        } else {
          type_error("%c requires int or char");
        }
        break;
      }
      case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': {
        int64_t v = to_int_for_format(value, type);
        int base = (type == 'x' || type == 'X') ? 16 : type == 'o' ? 8 : 10;
        body = int_digits(v, base, type == 'X');
        if (precision > 0 && static_cast<int>(body.size()) < precision)
          body.insert(0, static_cast<size_t>(precision) - body.size(), '0');
        if (alternate && base == 16) body.insert(0, type == 'X' ? "0X" : "0x");
        if (alternate && base == 8) body.insert(0, "0o");
        sign = v < 0 ? "-" : plus ? "+" : space ? " " : "";
        break;
      }
      case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': {
        double v = to_float_for_format(value, type);
        body = float_body(std::fabs(v), type, precision < 0 ? 6 : precision, alternate);
        sign = std::signbit(v) && !std::isnan(v) ? "-" : plus ? "+" : space ? " " : "";
        break;
      }
      default:
        fail(ErrorKind::Value, std::string("unsupported format character '") + type + "'");
    }
    if (!numeric && precision >= 0) {
      std::u32string cps = utf8_decode(body);
      if (static_cast<int>(cps.size()) > precision) body = utf8_encode(cps.substr(0, static_cast<size_t>(precision)));
    }
    std::string field = sign + body;
    if (numeric && zero && !left && width > static_cast<int64_t>(field.size())) {
      check_result_size(static_cast<double>(width), "format");
      field = sign + std::string(static_cast<size_t>(width) - field.size(), '0') + body;
    }
    out += pad_to(field, width, left);
  }
  if (next < positional.size() && !used_mapping && !(mapping && next == 0))
    type_error("not all arguments converted during string formatting");
  return out;
}

std::string format_value(const Value& value, const std::string& spec) {
  if (spec.empty()) return to_str(value);
  // [[fill]align][sign][z][#][0][width][grouping][.precision][type]
  size_t i = 0;
  std::u32string cps = utf8_decode(spec);
  char32_t fill = ' ';
  char align = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '=' || c == '^'; };
  if (cps.size() >= 2 && is_align(cps[1])) {
    fill = cps[0];
    align = static_cast<char>(cps[1]);
    i = 2;
  } else if (!cps.empty() && is_align(cps[0])) {
    align = static_cast<char>(cps[0]);
    i = 1;
  }
  char sign = '-';
  if (i < cps.size() && (cps[i] == '+' || cps[i] == '-' || cps[i] == ' ')) sign = static_cast<char>(cps[i++]);
  if (i < cps.size() && cps[i] == 'z') ++i;
  bool alternate = false;
  if (i < cps.size() && cps[i] == '#') {
    alternate = true;
    ++i;
  }
  if (i < cps.size() && cps[i] == '0') {
    if (!align) {
      fill = '0';
      align = '=';
    }
    ++i;
  }
  int64_t width = 0;
  while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9') width = std::min<int64_t>(width * 10 + (cps[i++] - '0'), 1 << 28);
  char grouping = 0;
  if (i < cps.size() && (cps[i] == ',' || cps[i] == '_')) grouping = static_cast<char>(cps[i++]);
  int precision = -1;
  if (i < cps.size() && cps[i] == '.') {
    ++i;
    precision = 0;
    if (i >= cps.size() || cps[i] < '0' || cps[i] > '9') fail(ErrorKind::Value, "Format specifier missing precision");
    while (i < cps.size() && cps[i] >= '0' && cps[i] <= '9') precision = std::min(precision * 10 + static_cast<int>(cps[i++] - '0'), 1000);
  }
  char type = 0;
  if (i < cps.size()) type = static_cast<char>(cps[i++]);
  if (i != cps.size()) fail(ErrorKind::Value, "Invalid format specifier");

  std::string sign_str, prefix, body;
  bool numeric = true;
  if (value.is_string()) {
    if (type && type != 's')
      fail(ErrorKind::Value, std::string("Unknown format code '") + type + "' for object of type 'str'");
    if (sign != '-') fail(ErrorKind::Value, "Sign not allowed in string format specifier");
    numeric = false;
    body = value.str();
    if (precision >= 0) {
      std::u32string b = utf8_decode(body);
      if (static_cast<int>(b.size()) > precision) body = utf8_encode(b.substr(0, static_cast<size_t>(precision)));
    }
    if (!align) align = '<';
  } else if (value.is_integral() && type != 'e' && type != 'E' && type != 'f' && type != 'F' &&
             type != 'g' && type != 'G' && type != '%') {
    if (value.is_bool() && !type) return format_value(Value::string(to_str(value)), spec);
    int64_t v = value.as_int();
    int base = 10;
    switch (type) {
      case 0: case 'd': case 'n': break;
      case 'b': base = 2; break;
      case 'o': base = 8; break;
      case 'x': case 'X': base = 16; break;
      case 'c': {
        if (v < 0 || v > 0x10FFFF) fail(ErrorKind::Overflow, "%c arg not in range(0x110000)");
        utf8_append(body, static_cast<char32_t>(v));
        numeric = false;
        break;
      }
      default:
        fail(ErrorKind::Value, std::string("Unknown format code '") + type + "' for object of type 'int'");
    }
    if (numeric) {
      body = int_digits(v, base, type == 'X');
      if (grouping) body = group_digits(body, grouping, base == 10 ? 3 : 4);
      if (alternate && base != 10) prefix = base == 2 ? "0b" : base == 8 ? "0o" : type == 'X' ? "0X" : "0x";
      sign_str = v < 0 ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
    }
    if (!align) align = '>';
  } else if (value.is_number()) {
    double v = value.as_float();
    double mag = std::fabs(v);
    switch (type) {
      case 0:
        if (precision < 0) {
          body = float_repr(mag);
        } else {
          body = float_body(mag, 'g', precision == 0 ? 1 : precision, alternate);
          if (std::isfinite(mag) && body.find_first_of(".e") == std::string::npos) body += ".0";
        }
        break;
      case 'e': case 'E': case 'f': case 'F': case 'g': case 'G':
        body = float_body(mag, type, precision < 0 ? 6 : precision, alternate);
        break;
      case 'n': body = float_body(mag, 'g', precision < 0 ? 6 : precision, alternate); break;
      case '%':
        body = float_body(mag * 100, 'f', precision < 0 ? 6 : precision, alternate) + "%";
        break;
      default:
        fail(ErrorKind::Value, std::string("Unknown format code '") + type + "' for object of type 'float'");
    }
    if (grouping && std::isfinite(mag)) {
      size_t end = body.find_first_of(".eE%");
      if (end == std::string::npos) end = body.size();
      body = group_digits(body.substr(0, end), grouping, 3) + body.substr(end);
    }
    sign_str = std::signbit(v) && !std::isnan(v) ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
    if (!align) align = '>';
  } else {
    type_error("unsupported format string passed to " + type_name(value) + ".__format__");
  }

  std::string content = sign_str + prefix + body;
  int64_t len = static_cast<int64_t>(utf8_length(content));
  if (width <= len) return content;
  check_result_size(static_cast<double>(width) * 4, "format");
  std::string fill_s;
  utf8_append(fill_s, fill);
  auto repeat_fill = [&](int64_t count) {
    std::string s;
    for (int64_t k = 0; k < count; ++k) s += fill_s;
    return s;
  };
  int64_t margin = width - len;
  switch (align) {
    case '<': return content + repeat_fill(margin);
    case '^': return repeat_fill(margin / 2) + content + repeat_fill(margin - margin / 2);
    case '=': return sign_str + prefix + repeat_fill(margin) + body;
    default: return repeat_fill(margin) + content;
  }
}

std::string str_format(const std::string& fmt, const CallArgs& args) {
  std::string out;
  size_t i = 0, n = fmt.size();
  int auto_index = 0;
  bool used_auto = false, used_manual = false;
  while (i < n) {
    char c = fmt[i];
    if (c == '}') {
      if (i + 1 < n && fmt[i + 1] == '}') {
        out.push_back('}');
        i += 2;
        continue;
      }
      fail(ErrorKind::Value, "Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < n && fmt[i + 1] == '{') {
      out.push_back('{');
      i += 2;
      continue;
    }
    // Find the matching close brace (the spec may nest one level of fields).
    size_t j = i + 1;
    int depth = 1;
    while (j < n && depth > 0) {
      if (fmt[j] == '{') ++depth;
      else if (fmt[j] == '}') --depth;
      if (depth > 0) ++j;
    }
    if (j >= n) fail(ErrorKind::Value, "expected '}' before end of string");
    std::string field = fmt.substr(i + 1, j - i - 1);
    i = j + 1;

    std::string spec, conversion;
    size_t colon = std::string::npos, bang = std::string::npos;
    int bracket = 0;
    for (size_t k = 0; k < field.size(); ++k) {
      if (field[k] == '[') ++bracket;
      else if (field[k] == ']') --bracket;
      else if (bracket == 0 && field[k] == '!' && bang == std::string::npos) bang = k;
      else if (bracket == 0 && field[k] == ':') {
        colon = k;
        break;
      }
    }
    if (colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (bang != std::string::npos && bang < field.size()) {
      conversion = field.substr(bang + 1);
      field = field.substr(0, bang);
      if (conversion.size() != 1) fail(ErrorKind::Value, "expected ':' after conversion specifier");
    }
    if (spec.find('{') != std::string::npos) spec = str_format(spec, args);

    // arg_name ("." name | "[" index "]")*
    size_t k = 0;
    while (k < field.size() && field[k] != '.' && field[k] != '[') ++k;
    std::string first = field.substr(0, k);
    Value obj;
    if (first.empty() || std::all_of(first.begin(), first.end(), is_digit)) {
      size_t index;
      if (first.empty()) {
        if (used_manual)
          fail(ErrorKind::Value, "cannot switch from manual field specification to automatic field numbering");
        used_auto = true;
        index = static_cast<size_t>(auto_index++);
      } else {
        if (used_auto)
          fail(ErrorKind::Value, "cannot switch from automatic field numbering to manual field specification");
        used_manual = true;
        index = first.size() > 9 ? SIZE_MAX : std::stoul(first);
      }
      if (index >= args.args.size())
        fail(ErrorKind::Runtime, "IndexError: Replacement index " + std::to_string(index) +
                                     " out of range for positional args tuple");
      obj = args.args[index];
    } else {
      bool found = false;
      for (const auto& [name, v] : args.kwargs) {
        if (name == first) {
          obj = v;
          found = true;
        }
      }
      if (!found) fail(ErrorKind::Runtime, "KeyError: " + string_repr(first));
    }
    while (k < field.size()) {
      if (field[k] == '.') {
        size_t e = k + 1;
        while (e < field.size() && field[e] != '.' && field[e] != '[') ++e;
        obj = get_attr(obj, field.substr(k + 1, e - k - 1));
        k = e;
      } else {
        size_t e = field.find(']', k);
        if (e == std::string::npos) fail(ErrorKind::Value, "Missing ']' in format string");
        std::string key = field.substr(k + 1, e - k - 1);
        bool numeric = !key.empty() && key.size() < 18 && std::all_of(key.begin(), key.end(), is_digit);
        obj = get_item(obj, numeric ? Value::integer(std::stoll(key)) : Value::string(key));
        k = e + 1;
      }
    }
    if (conversion == "r") obj = Value::string(repr(obj));
    else if (conversion == "s") obj = Value::string(to_str(obj));
    else if (conversion == "a") obj = Value::string(ascii_repr(obj));
    else if (!conversion.empty())
      fail(ErrorKind::Value, "Unknown conversion specifier " + conversion);
    if (obj.is_undefined() && !spec.empty())
      type_error("unsupported format string passed to Undefined.__format__");
    out += format_value(obj, spec);
  }
  return out;
}

}  // namespace kiln::jinja
