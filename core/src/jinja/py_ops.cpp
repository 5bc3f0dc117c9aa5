// Python semantics of the operators templates use: truthiness, ==, <, `in`, len, iteration,
// arithmetic, and jinja's sandboxed attribute/item lookup.
#include <algorithm>
#include <cmath>
#include <limits>

#include "jinja/methods.h"
#include "jinja/pyformat.h"
#include "jinja/unicode.h"
#include "jinja/value.h"

namespace kiln::jinja {

namespace {

constexpr size_t kMaxBuiltSize = kMaxStringBytes;

bool is_sequence_kind(const Value& v) {
  return v.is_list() && (v.list_data().kind == SeqKind::List || v.list_data().kind == SeqKind::Tuple);
}

// jinja's object_type_repr: "None", or "<type> object".
std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  std::string t = type_name(v);
  if (t == "Namespace") t = "jinja2.utils.Namespace";
  return t + " object";
}

Value missing_attribute(const Value& obj, const std::string& name) {
  return Value::undefined(string_repr(object_type_repr(obj)) + " has no attribute " +
                          string_repr(name));
}

Value missing_element(const Value& obj, const Value& key) {
  if (key.is_string()) return missing_attribute(obj, key.str());
  return Value::undefined(object_type_repr(obj) + " has no element " + repr(key));
}

[[noreturn]] void unsupported_operands(const char* op, const Value& a, const Value& b) {
  type_error(std::string("unsupported operand type(s) for ") + op + ": '" + type_name(a) +
             "' and '" + type_name(b) + "'");
}

void fail_if_undefined(const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
}

int64_t checked(bool overflow, int64_t value) {
  if (overflow) fail(ErrorKind::Overflow, "integer overflow (this engine's integers are 64-bit)");
  return value;
}

// Python's floor division and modulo on integers (rounding toward negative infinity).
int64_t floor_div(int64_t a, int64_t b) {
  if (a == std::numeric_limits<int64_t>::min() && b == -1) checked(true, 0);
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

Value repeat(const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    const std::string& s = seq.str();
    if (!s.empty() && static_cast<size_t>(times) > kMaxBuiltSize / s.size())
      fail(ErrorKind::Overflow, "string repetition result is too large");
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(times));
    for (int64_t i = 0; i < times; ++i) out += s;
    return Value::string(std::move(out), seq.is_markup());
  }
  const auto& items = seq.items();
  if (!items.empty() && static_cast<size_t>(times) > kMaxBuiltSize / 64 / items.size())
    fail(ErrorKind::Overflow, "list repetition result is too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.list_data().kind);
}

// Python's PySlice_AdjustIndices: indices for positions start, start+step, ... < stop.
std::vector<int64_t> slice_indices(int64_t length, const Value& start_v, const Value& stop_v,
                                   const Value& step_v) {
  auto as_index = [](const Value& v) -> const Value& {
    if (!v.is_none() && !v.is_undefined() && !v.is_integral())
      type_error("slice indices must be integers or None or have an __index__ method");
    return v;
  };
  as_index(start_v);
  as_index(stop_v);
  as_index(step_v);
  int64_t step = step_v.is_integral() ? step_v.as_int() : 1;
  if (step == 0) fail(ErrorKind::Value, "slice step cannot be zero");
  int64_t start, stop;
  if (step > 0) {
    start = start_v.is_integral() ? start_v.as_int() : 0;
    stop = stop_v.is_integral() ? stop_v.as_int() : length;
    if (start < 0) start = std::max<int64_t>(0, start + length);
    if (stop < 0) stop = std::max<int64_t>(0, stop + length);
    start = std::min(start, length);
    stop = std::min(stop, length);
  } else {
    start = start_v.is_integral() ? start_v.as_int() : length - 1;
    stop = stop_v.is_integral() ? stop_v.as_int() : -1 - length;
    if (start < 0) start = std::max<int64_t>(-1, start + length);
    if (stop < 0) stop = std::max<int64_t>(-1, stop + length);
    start = std::min(start, length - 1);
    stop = std::min(stop, length - 1);
  }
  std::vector<int64_t> out;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) out.push_back(i);
  } else {
    for (int64_t i = start; i > stop; i += step) out.push_back(i);
  }
  return out;
}

}  // namespace

[[noreturn]] void fail_undefined(const Value& v) {
  const UndefinedData* data = v.undefined_data();
  if (!data) fail(ErrorKind::Undefined, "a value is undefined");
  fail(data->kind, data->message);
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.as_bool();
    case Value::Kind::Int: return v.as_int() != 0;
    case Value::Kind::Float: return v.as_float() != 0.0;
    case Value::Kind::String: return !v.str().empty();
    case Value::Kind::List: return !v.items().empty();
    case Value::Kind::Dict: return !v.dict_data().items.empty();
    case Value::Kind::Iterator:
    case Value::Kind::Object: return true;
  }
  return true;
}

bool equals(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) return a.is_undefined() && b.is_undefined();
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_float() == b.as_float();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::None: return true;
    case Value::Kind::String: return a.str() == b.str();
    case Value::Kind::List: {
      const ListData& x = a.list_data();
      const ListData& y = b.list_data();
      if (x.kind != y.kind || x.items.size() != y.items.size()) return false;
      for (size_t i = 0; i < x.items.size(); ++i)
        if (!equals(x.items[i], y.items[i])) return false;
      return true;
    }
    case Value::Kind::Dict: {
      const DictData& x = a.dict_data();
      const DictData& y = b.dict_data();
      if (x.items.size() != y.items.size()) return false;
      for (const auto& [k, v] : x.items) {
        const Value* other = y.find(k);
        if (!other || !equals(v, *other)) return false;
      }
      return true;
    }
    default: return a.same_identity(b);
  }
}

bool ordered_compare(const Value& a, const Value& b, const std::string& op) {
  fail_if_undefined(a, b);
  auto apply = [&](auto x, auto y) {
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    return x >= y;
  };
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return apply(a.as_int(), b.as_int());
    return apply(a.as_float(), b.as_float());
  }
  if (a.is_string() && b.is_string()) return apply(a.str().compare(b.str()), 0);
  if (is_sequence_kind(a) && is_sequence_kind(b) && a.list_data().kind == b.list_data().kind) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return ordered_compare(x[i], y[i], op);
    }
    return apply(x.size(), y.size());
  }
  type_error("'" + op + "' not supported between instances of '" + type_name(a) + "' and '" +
             type_name(b) + "'");
}

bool less_than(const Value& a, const Value& b) { return ordered_compare(a, b, "<"); }

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return 0;
    case Value::Kind::String: return static_cast<int64_t>(utf8_length(v.str()));
    case Value::Kind::List: return static_cast<int64_t>(v.items().size());
    case Value::Kind::Dict: return static_cast<int64_t>(v.dict_data().items.size());
    default: type_error("object of type '" + type_name(v) + "' has no len()");
  }
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Undefined: return {};
    case Value::Kind::List: return v.items();
    case Value::Kind::Dict: {
      std::vector<Value> keys;
      for (const auto& kv : v.dict_data().items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::String: {
      std::vector<Value> chars;
      for (char32_t c : utf8_decode(v.str())) {
        std::string s;
        utf8_append(s, c);
        chars.push_back(Value::string(std::move(s), v.is_markup()));
      }
      return chars;
    }
    case Value::Kind::Iterator: {
      IteratorData& it = v.iterator_data();
      std::vector<Value> rest(it.items.begin() + static_cast<std::ptrdiff_t>(it.pos), it.items.end());
      it.pos = it.items.size();
      return rest;
    }
    default: type_error("'" + type_name(v) + "' object is not iterable");
  }
}

void require_hashable(const Value& v) {
  if (v.is_dict() || (v.is_list() && v.list_data().kind != SeqKind::Tuple))
    type_error("unhashable type: '" + type_name(v) + "'");
  if (v.is_list())
    for (const Value& item : v.items()) require_hashable(item);
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::Undefined: return false;
    case Value::Kind::String:
      if (!item.is_string())
        type_error("'in <string>' requires string as left operand, not " + type_name(item));
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::List:
      for (const Value& x : container.items())
        if (equals(x, item)) return true;
      return false;
    case Value::Kind::Dict:
      require_hashable(item);
      return container.dict_data().find(item) != nullptr;
    case Value::Kind::Iterator: {
      IteratorData& it = container.iterator_data();
      while (it.pos < it.items.size())
        if (equals(it.items[it.pos++], item)) return true;
      return false;
    }
    default: type_error("argument of type '" + type_name(container) + "' is not iterable");
  }
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_object()) return obj.object_ref().attr(name);
  switch (find_method(obj, name)) {
    case MethodStatus::Safe: return bound_method(obj, name);
    case MethodStatus::Unsafe:
      return Value::undefined("access to attribute " + string_repr(name) + " of " +
                                  string_repr(type_name(obj)) + " object is unsafe.",
                              ErrorKind::Security);
    case MethodStatus::Missing: break;
  }
  if (obj.is_dict()) {
    if (const Value* v = obj.dict_data().find(std::string_view(name))) return *v;
  }
  return missing_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (key.is_list() && key.list_data().kind == SeqKind::Tuple && !obj.is_dict())
    return missing_element(obj, key);
  if ((is_sequence_kind(obj) || obj.is_string()) && key.is_integral()) {
    int64_t n = length(obj);
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n) return missing_element(obj, key);
    if (obj.is_list()) return obj.items()[static_cast<size_t>(i)];
    if (is_ascii(obj.str()))
      return Value::string(std::string(1, obj.str()[static_cast<size_t>(i)]), obj.is_markup());
    std::string s;
    utf8_append(s, utf8_decode(obj.str())[static_cast<size_t>(i)]);
    return Value::string(std::move(s), obj.is_markup());
  }
  if (obj.is_dict()) {
    bool hashable = !(key.is_dict() || (key.is_list() && key.list_data().kind != SeqKind::Tuple));
    if (hashable) {
      if (const Value* v = obj.dict_data().find(key)) return *v;
    }
  }
  // Python raised TypeError/LookupError: jinja retries a string key as an attribute.
  if (key.is_string()) {
    if (obj.is_object()) return obj.object_ref().attr(key.str());
    return get_attr(obj, key.str());
  }
  return missing_element(obj, key);
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_string()) {
    if (is_ascii(obj.str())) {
      const std::string& s = obj.str();
      std::string out;
      for (int64_t i : slice_indices(static_cast<int64_t>(s.size()), start, stop, step))
        out.push_back(s[static_cast<size_t>(i)]);
      return Value::string(std::move(out), obj.is_markup());
    }
    std::u32string cps = utf8_decode(obj.str());
    std::u32string out;
    for (int64_t i : slice_indices(static_cast<int64_t>(cps.size()), start, stop, step))
      out.push_back(cps[static_cast<size_t>(i)]);
    return Value::string(utf8_encode(out), obj.is_markup());
  }
  if (is_sequence_kind(obj)) {
    const auto& items = obj.items();
    std::vector<Value> out;
    for (int64_t i : slice_indices(static_cast<int64_t>(items.size()), start, stop, step))
      out.push_back(items[static_cast<size_t>(i)]);
    return Value::list(std::move(out), obj.list_data().kind);
  }
  return Value::undefined(object_type_repr(obj) + " has no element slice(" + repr(start) + ", " +
                          repr(stop) + ", " + repr(step) + ")");
}

Value html_escape(const Value& v) {
  if (v.is_markup()) return v;
  std::string s = to_str(v);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Value::string(std::move(out), true);
}

Value binary_add(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_integral() && b.is_integral()) {
    int64_t r = 0;
    bool overflow = __builtin_add_overflow(a.as_int(), b.as_int(), &r);
    return Value::integer(checked(overflow, r));
  }
  if (a.is_number() && b.is_number()) return Value::floating(a.as_float() + b.as_float());
  if (a.is_string() && b.is_string()) {
    if (a.is_markup() || b.is_markup()) {
      return Value::string(html_escape(a).str() + html_escape(b).str(), true);
    }
    if (a.str().size() + b.str().size() > kMaxBuiltSize)
      fail(ErrorKind::Overflow, "string result is too large");
    return Value::string(a.str() + b.str());
  }
  if (a.is_string())
    type_error("can only concatenate str (not \"" + type_name(b) + "\") to str");
  if (is_sequence_kind(a)) {
    if (is_sequence_kind(b) && a.list_data().kind == b.list_data().kind) {
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(out), a.list_data().kind);
    }
    std::string t = type_name(a);
    type_error("can only concatenate " + t + " (not \"" + type_name(b) + "\") to " + t);
  }
  unsupported_operands("+", a, b);
}

Value binary_sub(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_integral() && b.is_integral()) {
    int64_t r = 0;
    bool overflow = __builtin_sub_overflow(a.as_int(), b.as_int(), &r);
    return Value::integer(checked(overflow, r));
  }
  if (a.is_number() && b.is_number()) return Value::floating(a.as_float() - b.as_float());
  unsupported_operands("-", a, b);
}

Value binary_mul(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_integral() && b.is_integral()) {
    int64_t r = 0;
    bool overflow = __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
    return Value::integer(checked(overflow, r));
  }
  if (a.is_number() && b.is_number()) return Value::floating(a.as_float() * b.as_float());
  bool a_seq = a.is_string() || is_sequence_kind(a);
  bool b_seq = b.is_string() || is_sequence_kind(b);
  if (a_seq && b.is_integral()) return repeat(a, b.as_int());
  if (b_seq && a.is_integral()) return repeat(b, a.as_int());
  if (a_seq && !b_seq) type_error("can't multiply sequence by non-int of type '" + type_name(b) + "'");
  if (b_seq && !a_seq) type_error("can't multiply sequence by non-int of type '" + type_name(a) + "'");
  unsupported_operands("*", a, b);
}

Value binary_div(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_number() && b.is_number()) {
    if (b.as_float() == 0.0) fail(ErrorKind::ZeroDivision, "division by zero");
    return Value::floating(a.as_float() / b.as_float());
  }
  unsupported_operands("/", a, b);
}

Value binary_floordiv(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_integral() && b.is_integral()) {
    if (b.as_int() == 0) fail(ErrorKind::ZeroDivision, "integer division or modulo by zero");
    return Value::integer(floor_div(a.as_int(), b.as_int()));
  }
  if (a.is_number() && b.is_number()) {
    if (b.as_float() == 0.0) fail(ErrorKind::ZeroDivision, "float floor division by zero");
    return Value::floating(std::floor(a.as_float() / b.as_float()));
  }
  unsupported_operands("//", a, b);
}

Value binary_mod(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_string()) return Value::string(percent_format(a.str(), b, a.is_markup()), a.is_markup());
  if (a.is_integral() && b.is_integral()) {
    if (b.as_int() == 0) fail(ErrorKind::ZeroDivision, "integer modulo by zero");
    return Value::integer(floor_mod(a.as_int(), b.as_int()));
  }
  if (a.is_number() && b.is_number()) {
    double x = a.as_float(), y = b.as_float();
    if (y == 0.0) fail(ErrorKind::ZeroDivision, "float modulo");
    double r = std::fmod(x, y);
    if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
    if (r == 0.0) r = std::copysign(0.0, y);
    return Value::floating(r);
  }
  unsupported_operands("%", a, b);
}

Value binary_pow(const Value& a, const Value& b) {
  fail_if_undefined(a, b);
  if (a.is_integral() && b.is_integral() && b.as_int() >= 0) {
    int64_t base = a.as_int(), exp = b.as_int(), result = 1;
    while (exp > 0) {
      if (exp & 1) checked(__builtin_mul_overflow(result, base, &result), 0);
      exp >>= 1;
      if (exp > 0) checked(__builtin_mul_overflow(base, base, &base), 0);
    }
    return Value::integer(result);
  }
  if (a.is_number() && b.is_number()) {
    if (a.as_float() == 0.0 && b.as_float() < 0)
      fail(ErrorKind::ZeroDivision, "0.0 cannot be raised to a negative power");
    return Value::floating(std::pow(a.as_float(), b.as_float()));
  }
  unsupported_operands("** or pow()", a, b);
}

Value unary_neg(const Value& a) {
  if (a.is_undefined()) fail_undefined(a);
  if (a.is_integral()) {
    if (a.as_int() == std::numeric_limits<int64_t>::min()) checked(true, 0);
    return Value::integer(-a.as_int());
  }
  if (a.is_float()) return Value::floating(-a.as_float());
  type_error("bad operand type for unary -: '" + type_name(a) + "'");
}

Value unary_pos(const Value& a) {
  if (a.is_undefined()) fail_undefined(a);
  if (a.is_integral()) return Value::integer(a.as_int());
  if (a.is_float()) return a;
  type_error("bad operand type for unary +: '" + type_name(a) + "'");
}

}  // namespace kiln::jinja
