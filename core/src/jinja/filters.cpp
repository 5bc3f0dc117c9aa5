// jinja2's built-in filters (jinja2/filters.py), with tojson replaced the way transformers
// replaces it: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>

#include "jinja/args.h"
#include "jinja/builtins.h"
#include "jinja/interpreter.h"
#include "jinja/json.h"
#include "jinja/pyformat.h"
#include "jinja/pystr.h"
#include "jinja/unicode.h"

namespace kiln::jinja {

namespace {

// soft_str: str(value), keeping Markup as Markup.
Value soft_str(const Value& v) { return v.is_string() ? v : Value::string(to_str(v)); }

std::string text_of(const Value& v) { return to_str(v); }

// make_attrgetter: "a.b.0" looks up a, then b, then item 0, the environment's way.
std::vector<Value> attribute_parts(const Value& attribute) {
  std::vector<Value> parts;
  if (attribute.is_none() || attribute.is_undefined()) return parts;
  if (!attribute.is_string()) return {attribute};
  for (const std::string& part : pystr::split(attribute.str(), std::string("."), -1)) {
    bool digits = !part.empty() && part.size() < 18 &&
                  std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    parts.push_back(digits ? Value::integer(std::stoll(part)) : Value::string(part));
  }
  return parts;
}

Value lower_if_string(const Value& v) { return v.is_string() ? Value::string(pystr::lower(v.str())) : v; }

std::function<Value(const Value&)> attrgetter(const Value& attribute, bool ignore_case,
                                              const Value* fallback = nullptr) {
  std::vector<Value> parts = attribute_parts(attribute);
  return [parts, ignore_case, fallback = fallback ? *fallback : Value::none(), has_fallback = fallback != nullptr](
             const Value& item) {
    Value v = item;
    for (const Value& part : parts) {
      v = get_item(v, part);
      if (has_fallback && !fallback.is_none() && v.is_undefined()) v = fallback;
    }
    return ignore_case ? lower_if_string(v) : v;
  };
}

// make_multi_attrgetter: "a,b" sorts by a then b.
std::function<Value(const Value&)> multi_attrgetter(const Value& attribute, bool ignore_case) {
  if (!attribute.is_string() || attribute.str().find(',') == std::string::npos) {
    auto one = attrgetter(attribute, ignore_case);
    return [one](const Value& item) { return Value::list({one(item)}); };
  }
  std::vector<std::function<Value(const Value&)>> getters;
  for (const std::string& part : pystr::split(attribute.str(), std::string(","), -1))
    getters.push_back(attrgetter(Value::string(part), ignore_case));
  return [getters](const Value& item) {
    std::vector<Value> keys;
    for (const auto& g : getters) keys.push_back(g(item));
    return Value::list(std::move(keys));
  };
}

void stable_sort_by(std::vector<Value>& items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) keyed.emplace_back(key(item), item);
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& a, const auto& b) {
    return reverse ? less_than(b.first, a.first) : less_than(a.first, b.first);
  });
  for (size_t i = 0; i < items.size(); ++i) items[i] = keyed[i].second;
}

// ---- string filters

Value f_upper(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("upper"), a, {});
  return Value::string(pystr::upper(text_of(v)), v.is_markup());
}

Value f_lower(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("lower"), a, {});
  return Value::string(pystr::lower(text_of(v)), v.is_markup());
}

Value f_capitalize(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("capitalize"), a, {});
  return Value::string(pystr::capitalize(text_of(v)), v.is_markup());
}

// do_title: words begin after -, whitespace or an opening bracket.
Value f_title(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("title"), a, {});
  std::u32string s = utf8_decode(text_of(v));
  auto is_sep = [](char32_t c) { return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    bool sep = is_sep(s[i]);
    while (j < s.size() && is_sep(s[j]) == sep) ++j;
    if (sep) {
      out.append(s, i, j - i);
    } else {
      py_append_upper(out, s[i]);
      for (size_t k = i + 1; k < j; ++k) py_append_lower(out, s[k]);
    }
    i = j;
  }
  return Value::string(utf8_encode(out));
}

Value f_trim(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("trim", a, {"chars"});
  return Value::string(pystr::strip(text_of(v), args.str_or_none(0), pystr::Side::Both), v.is_markup());
}

Value f_replace(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("replace", a, {"old", "new", "count"}, 2);
  int64_t count = args.has(2) && !args.get(2).is_none() ? args.int_or(2, -1) : -1;
  return Value::string(pystr::replace(text_of(v), text_of(args.get(0)), text_of(args.get(1)), count));
}

Value f_center(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("center", a, {"width"});
  return Value::string(pystr::pad(text_of(v), args.int_or(0, 80), ' ', pystr::Side::Both), v.is_markup());
}

Value f_indent(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("indent", a, {"width", "first", "blank"});
  std::string indention;
  if (args.has(0) && args.get(0).is_string()) {
    indention = args.get(0).str();
  } else {
    int64_t width = args.int_or(0, 4);
    check_result_size(static_cast<double>(width), "indent");
    indention = std::string(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
  }
  bool first = args.bool_or(1, false), blank = args.bool_or(2, false);
  std::string s = text_of(v) + "\n";
  std::vector<std::string> lines = pystr::splitlines(s, false);
  check_result_size(static_cast<double>(s.size()) + static_cast<double>(lines.size() + 1) * static_cast<double>(indention.size()),
                    "indent");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) rv.append("\n").append(indention);
      rv += lines[i];
    }
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv.append(indention).append(lines[i]);
    }
  }
  if (first) rv = indention + rv;
  return Value::string(std::move(rv), v.is_markup());
}

Value f_truncate(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("truncate", a, {"length", "killwords", "end", "leeway"});
  std::u32string s = utf8_decode(text_of(v));
  int64_t length = args.int_or(0, 255);
  bool killwords = args.bool_or(1, false);
  std::u32string end = utf8_decode(args.has(2) ? text_of(args.get(2)) : std::string("..."));
  int64_t leeway = args.has(3) && !args.get(3).is_none() ? args.int_or(3, 5) : 5;
  if (length < static_cast<int64_t>(end.size()))
    fail(ErrorKind::Assertion, "expected length >= " + std::to_string(end.size()) + ", got " + std::to_string(length));
  if (leeway < 0) fail(ErrorKind::Assertion, "expected leeway >= 0, got " + std::to_string(leeway));
  if (static_cast<int64_t>(s.size()) <= length + leeway) return Value::string(utf8_encode(s));
  std::u32string head = s.substr(0, static_cast<size_t>(length - static_cast<int64_t>(end.size())));
  if (!killwords) {
    size_t space = head.rfind(U' ');
    if (space != std::u32string::npos) head = head.substr(0, space);
  }
  return Value::string(utf8_encode(head + end));
}

Value f_wordcount(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("wordcount"), a, {});
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : utf8_decode(text_of(v))) {
    bool w = c == '_' || py_isalpha(c) || py_isdigit(c);
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

Value f_format(Interpreter&, const Value& v, const CallArgs& a) {
  if (!a.args.empty() && !a.kwargs.empty())
    fail(ErrorKind::Runtime, "can't handle positional and keyword arguments at the same time");
  Value args;
  if (!a.kwargs.empty()) {
    DictData d;
    for (const auto& [k, val] : a.kwargs) d.set(Value::string(k), val);
    args = Value::dict(std::move(d));
  } else {
    args = Value::tuple(a.args);
  }
  Value s = soft_str(v);
  return Value::string(percent_format(s.str(), args, s.is_markup()), s.is_markup());
}

Value f_string(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("string"), a, {});
  return soft_str(v);
}

Value f_safe(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("safe"), a, {});
  return v.is_markup() ? v : Value::string(to_str(v), true);
}

Value f_escape(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("escape"), a, {});
  return html_escape(v);
}

Value f_forceescape(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("forceescape"), a, {});
  return html_escape(Value::string(to_str(v)));
}

// ---- numbers

// Python's float() of a string: surrounding whitespace, underscores between digits, inf/nan.
bool parse_python_float(const std::string& text, double& out) {
  std::string s = pystr::strip(text, std::nullopt, pystr::Side::Both);
  std::string cleaned;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return false;
      continue;
    }
    cleaned.push_back(s[i]);
  }
  if (cleaned.empty()) return false;
  std::string lower = pystr::lower(cleaned);
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    out = body == "nan" ? std::nan("") : HUGE_VAL;
    if (lower[0] == '-') out = -out;
    return true;
  }
  if (body.find_first_not_of("0123456789.e+-") != std::string::npos) return false;
  if (body.find_first_of("0123456789") == std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(cleaned.c_str(), &end);
  return end && *end == '\0';
}

bool parse_python_int(const std::string& text, int base, int64_t& out) {
  std::string s = pystr::strip(text, std::nullopt, pystr::Side::Both);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s = s.substr(1);
  }
  if (s.size() > 2 && s[0] == '0') {
    char p = static_cast<char>(s[1] | 0x20);
    int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefixed && (base == prefixed || base == 0)) {
      base = prefixed;
      s = s.substr(2);
    }
  }
  if (base == 0) base = 10;
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size() && s[i - 1] != '_') continue;
    digits.push_back(s[i]);
  }
  if (digits.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, base);
  if (!end || *end != '\0' || errno == ERANGE || digits[0] == '-' || digits[0] == '+') return false;
  out = negative ? -v : v;
  return true;
}

Value f_int(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("int", a, {"default", "base"});
  Value fallback = args.get_or(0, Value::integer(0));
  int base = static_cast<int>(args.int_or(1, 10));
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integral()) return Value::integer(v.as_int());
  if (v.is_float()) {
    double d = v.as_float();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value::integer(static_cast<int64_t>(d));
  }
  if (v.is_string()) {
    int64_t out;
    if (parse_python_int(v.str(), base, out)) return Value::integer(out);
    double d;
    if (parse_python_float(v.str(), d) && std::isfinite(d) && std::fabs(d) < 9.2e18)
      return Value::integer(static_cast<int64_t>(d));
  }
  return fallback;
}

Value f_float(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("float", a, {"default"});
  Value fallback = args.get_or(0, Value::floating(0.0));
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_number()) return Value::floating(v.as_float());
  double d;
  if (v.is_string() && parse_python_float(v.str(), d)) return Value::floating(d);
  return fallback;
}

Value f_abs(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("abs"), a, {});
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integral()) return v.as_int() < 0 ? unary_neg(v) : Value::integer(v.as_int());
  if (v.is_float()) return Value::floating(std::fabs(v.as_float()));
  type_error("bad operand type for abs(): '" + type_name(v) + "'");
}

// Python's round(x, n): correctly rounded, ties to even.
double python_round(double x, int64_t ndigits) {
  if (!std::isfinite(x)) return x;
  if (ndigits >= 0) {
    char buf[512];
    int digits = static_cast<int>(std::min<int64_t>(ndigits, 300));
    std::snprintf(buf, sizeof buf, "%.*f", digits, x);
    return std::strtod(buf, nullptr);
  }
  double scale = std::pow(10.0, static_cast<double>(-ndigits));
  return std::nearbyint(x / scale) * scale;
}

Value f_round(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("round", a, {"precision", "method"});
  int64_t precision = args.int_or(0, 0);
  std::string method = args.has(1) ? text_of(args.get(1)) : "common";
  if (method != "common" && method != "ceil" && method != "floor")
    fail(ErrorKind::Runtime, "method must be common, ceil or floor");
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) type_error("type " + type_name(v) + " doesn't define __round__ method");
  if (method == "common") {
    if (v.is_integral()) return Value::integer(v.as_int());
    return Value::floating(python_round(v.as_float(), precision));
  }
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_float() * scale;
  return Value::floating((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

// ---- sequences

Value f_length(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("length"), a, {});
  return Value::integer(length(v));
}

Value f_list(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("list"), a, {});
  return Value::list(iterate(v));
}

Value f_first(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("first"), a, {});
  if (v.is_iterator()) {
    IteratorData& it = v.iterator_data();
    if (it.pos < it.items.size()) return it.items[it.pos++];
  } else {
    std::vector<Value> items = iterate(v);
    if (!items.empty()) return items.front();
  }
  return Value::undefined("No first item, sequence was empty.");
}

Value f_last(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("last"), a, {});
  if (v.is_iterator()) type_error("'" + type_name(v) + "' object is not reversible");
  if (!v.is_undefined() && !v.is_string() && !v.is_list() && !v.is_dict())
    type_error("'" + type_name(v) + "' object is not reversible");
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_reverse(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("reverse"), a, {});
  if (v.is_string()) {
    std::u32string s = utf8_decode(v.str());
    std::reverse(s.begin(), s.end());
    return Value::string(utf8_encode(s), v.is_markup());
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  if (v.is_iterator()) return Value::list(std::move(items));
  std::string kind = v.is_dict() ? "dict_reversekeyiterator"
                     : v.is_list() && v.list_data().kind == SeqKind::List ? "list_reverseiterator"
                                                                          : "reversed";
  return Value::iterator(std::move(items), kind);
}

Value f_join(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("join", a, {"d", "attribute"});
  std::string sep = args.has(0) ? text_of(args.get(0)) : "";
  std::vector<Value> items = iterate(v);
  if (args.has(1) && !args.get(1).is_none()) {
    auto getter = attrgetter(args.get(1), false);
    for (Value& item : items) item = getter(item);
  }
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += to_str(items[i]);
  }
  return Value::string(std::move(out));
}

Value f_default(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("default", a, {"default_value", "boolean"});
  Value fallback = args.get_or(0, Value::string(""));
  if (v.is_undefined() || (args.bool_or(1, false) && !truthy(v))) return fallback;
  return v;
}

Value f_items(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs(std::string("items"), a, {});
  if (v.is_undefined()) return Value::iterator({});
  if (!v.is_dict()) type_error("Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict_data().items) pairs.push_back(Value::tuple({k, val}));
  return Value::iterator(std::move(pairs));
}

Value f_dictsort(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("dictsort", a, {"case_sensitive", "by", "reverse"});
  bool case_sensitive = args.bool_or(0, false);
  std::string by = args.has(1) ? text_of(args.get(1)) : "key";
  if (by != "key" && by != "value") fail(ErrorKind::Runtime, "You can only sort by either \"key\" or \"value\"");
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_dict()) fail(ErrorKind::Runtime, "'" + type_name(v) + "' object has no attribute 'items'");
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.dict_data().items) pairs.push_back(Value::tuple({k, val}));
  size_t pos = by == "key" ? 0 : 1;
  stable_sort_by(
      pairs, [&](const Value& p) { return case_sensitive ? p.items()[pos] : lower_if_string(p.items()[pos]); },
      args.bool_or(2, false));
  return Value::list(std::move(pairs));
}

Value f_sort(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("sort", a, {"reverse", "case_sensitive", "attribute"});
  std::vector<Value> items = iterate(v);
  Value attribute = args.get_or(2, Value::none());
  auto key = multi_attrgetter(attribute, !args.bool_or(1, false));
  bool single = !attribute.is_string() || attribute.str().find(',') == std::string::npos;
  stable_sort_by(
      items, [&](const Value& item) { return single ? key(item).items()[0] : key(item); }, args.bool_or(0, false));
  return Value::list(std::move(items));
}

Value f_unique(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("unique", a, {"case_sensitive", "attribute"});
  auto key = attrgetter(args.get_or(1, Value::none()), !args.bool_or(0, false));
  std::vector<Value> seen, out;
  for (const Value& item : iterate(v)) {
    Value k = key(item);
    require_hashable(k);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, k); })) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return Value::iterator(std::move(out));
}

Value min_or_max(const Value& v, const CallArgs& a, bool want_max) {
  BoundArgs args(want_max ? "max" : "min", a, {"case_sensitive", "attribute"});
  std::vector<Value> items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = attrgetter(args.get_or(1, Value::none()), !args.bool_or(0, false));
  size_t best = 0;
  Value best_key = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    if (want_max ? less_than(best_key, k) : less_than(k, best_key)) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Value f_min(Interpreter&, const Value& v, const CallArgs& a) { return min_or_max(v, a, false); }
Value f_max(Interpreter&, const Value& v, const CallArgs& a) { return min_or_max(v, a, true); }

Value f_sum(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("sum", a, {"attribute", "start"});
  Value total = args.get_or(1, Value::integer(0));
  std::vector<Value> items = iterate(v);
  if (args.has(0) && !args.get(0).is_none()) {
    auto getter = attrgetter(args.get(0), false);
    for (Value& item : items) item = getter(item);
  }
  for (const Value& item : items) total = binary_add(total, item);
  return total;
}

Value f_batch(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("batch", a, {"linecount", "fill_with"}, 1);
  int64_t n = args.int_or(0, 1);
  if (n <= 0) fail(ErrorKind::Value, "batch size must be positive");
  std::vector<Value> out, tmp;
  for (const Value& item : iterate(v)) {
    if (static_cast<int64_t>(tmp.size()) == n) {
      out.push_back(Value::list(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (args.has(1) && !args.get(1).is_none())
      while (static_cast<int64_t>(tmp.size()) < n) tmp.push_back(args.get(1));
    out.push_back(Value::list(std::move(tmp)));
  }
  return Value::iterator(std::move(out));
}

Value f_slice(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("slice", a, {"slices", "fill_with"}, 1);
  std::vector<Value> seq = iterate(v);
  int64_t slices = args.int_or(0, 1);
  if (slices <= 0) fail(ErrorKind::ZeroDivision, "integer division or modulo by zero");
  int64_t length = static_cast<int64_t>(seq.size());
  int64_t per = length / slices, extra = length % slices, offset = 0;
  std::vector<Value> out;
  for (int64_t i = 0; i < slices; ++i) {
    int64_t start = offset + i * per;
    if (i < extra) ++offset;
    int64_t end = offset + (i + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (args.has(1) && !args.get(1).is_none() && i >= extra) part.push_back(args.get(1));
    out.push_back(Value::list(std::move(part)));
  }
  return Value::iterator(std::move(out));
}

Value f_attr(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("attr", a, {"name"}, 1);
  std::string name = text_of(args.get(0));
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_dict()) {  // a key is not an attribute
    DictData empty;
    Value probe = get_attr(Value::dict(empty), name);
    if (probe.is_undefined())
      return Value::undefined("'dict object' has no attribute " + string_repr(name));
    return get_attr(v, name);
  }
  return get_attr(v, name);
}

Value f_map(Interpreter& interp, const Value& v, const CallArgs& a) {
  std::vector<Value> items = truthy(v) ? iterate(v) : std::vector<Value>{};
  if (a.args.empty()) {
    Value attribute, fallback = Value::none();
    bool has_attribute = false;
    for (const auto& [k, val] : a.kwargs) {
      if (k == "attribute") {
        attribute = val;
        has_attribute = true;
      } else if (k == "default") {
        fallback = val;
      } else {
        fail(ErrorKind::Runtime, "Unexpected keyword argument " + string_repr(k));
      }
    }
    if (!has_attribute) fail(ErrorKind::Runtime, "map requires a filter argument");
    auto getter = attrgetter(attribute, false, &fallback);
    for (Value& item : items) item = getter(item);
    return Value::iterator(std::move(items));
  }
  std::string name = text_of(a.args[0]);
  CallArgs rest;
  rest.args.assign(a.args.begin() + 1, a.args.end());
  rest.kwargs = a.kwargs;
  for (Value& item : items) item = interp.call_filter(name, item, rest);
  return Value::iterator(std::move(items));
}

Value select_or_reject(Interpreter& interp, const Value& v, const CallArgs& a, bool select, bool by_attr) {
  std::vector<Value> items = truthy(v) ? iterate(v) : std::vector<Value>{};
  std::function<Value(const Value&)> transform = [](const Value& x) { return x; };
  size_t off = 0;
  if (by_attr) {
    if (a.args.empty()) fail(ErrorKind::Runtime, "Missing parameter for attribute name");
    transform = attrgetter(a.args[0], false);
    off = 1;
  }
  std::optional<std::string> test;
  CallArgs test_args;
  if (a.args.size() > off) {
    test = text_of(a.args[off]);
    test_args.args.assign(a.args.begin() + static_cast<std::ptrdiff_t>(off + 1), a.args.end());
    test_args.kwargs = a.kwargs;
  }
  std::vector<Value> out;
  for (const Value& item : items) {
    Value x = transform(item);
    bool ok = test ? interp.call_test(*test, x, test_args) : truthy(x);
    if (ok == select) out.push_back(item);
  }
  return Value::iterator(std::move(out));
}

Value f_select(Interpreter& i, const Value& v, const CallArgs& a) { return select_or_reject(i, v, a, true, false); }
Value f_reject(Interpreter& i, const Value& v, const CallArgs& a) { return select_or_reject(i, v, a, false, false); }
Value f_selectattr(Interpreter& i, const Value& v, const CallArgs& a) { return select_or_reject(i, v, a, true, true); }
Value f_rejectattr(Interpreter& i, const Value& v, const CallArgs& a) { return select_or_reject(i, v, a, false, true); }

Value f_tojson(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonDumpOptions opt;
  opt.ensure_ascii = args.bool_or(0, false);
  if (args.has(1) && !args.get(1).is_none()) {
    const Value& indent = args.get(1);
    if (indent.is_string()) {
      opt.indent = indent.str();
    } else {
      int64_t n = args.int_or(1, 0);
      check_result_size(static_cast<double>(n), "tojson indent");
      opt.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    }
  }
  if (args.has(2) && !args.get(2).is_none()) {
    std::vector<Value> seps = iterate(args.get(2));
    if (seps.size() != 2) fail(ErrorKind::Value, "separators must be a (item_separator, key_separator) pair");
    for (const Value& s : seps)
      if (!s.is_string()) type_error("separators must be strings");
    opt.item_separator = seps[0].str();
    opt.key_separator = seps[1].str();
  }
  opt.sort_keys = args.bool_or(3, false);
  return Value::string(json_dumps(v, opt));
}

const FilterDef kFilters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"batch", f_batch},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_forceescape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"slice", f_slice},
    {"sort", f_sort},
    {"string", f_string},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"unique", f_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

const std::set<std::string> kUnimplementedFilters = {"filesizeformat", "groupby",  "pprint", "random",
                                                     "striptags",      "urlencode", "urlize", "wordwrap",
                                                     "xmlattr"};

}  // namespace

const FilterDef* find_filter(const std::string& name) {
  for (const FilterDef& f : kFilters)
    if (name == f.name) return &f;
  return nullptr;
}

bool is_unimplemented_filter(const std::string& name) { return kUnimplementedFilters.count(name) > 0; }

}  // namespace kiln::jinja
