// The values templates compute with, modelled on the Python objects jinja2 hands around:
// undefined, None, bool, int, float, str (optionally markupsafe.Markup), list, tuple, dict
// (insertion-ordered), dict views, one-shot iterators (what map/select/reverse return) and
// objects (namespace, loop, macros, bound methods, ...). Containers are immutable and shared,
// as templates cannot change them (the sandbox refuses list.append & co).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/errors.h"

namespace kiln::jinja {

class Value;
class Interpreter;

enum class SeqKind : uint8_t { List, Tuple, DictKeys, DictValues, DictItems };

// Lists and dicts nest at most this deep (Python's recursion limit would stop deeper ones).
constexpr uint32_t kMaxNesting = 400;

struct ListData {
  std::vector<Value> items;
  SeqKind kind = SeqKind::List;
  uint32_t depth = 1;
};

struct DictData {
  std::vector<std::pair<Value, Value>> items;
  uint32_t depth = 1;  // set by Value::dict
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  // Python assignment: replaces the value of an equal key in place, else appends.
  void set(Value key, Value value);
};

struct UndefinedData {
  std::string message;  // what using it reports
  ErrorKind kind = ErrorKind::Undefined;
};

// A one-shot iterator: iterating it consumes it, as a Python generator.
struct IteratorData {
  std::vector<Value> items;
  size_t pos = 0;
  std::string type_name = "generator";
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

class Object {
 public:
  virtual ~Object() = default;
  virtual std::string type_name() const = 0;
  virtual std::string repr() const;
  // An attribute, or an undefined value when there is none.
  virtual Value attr(const std::string& name) const;
  virtual bool callable() const { return false; }
  virtual Value call(Interpreter& interp, CallArgs& args);
};

class Value {
 public:
  enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Dict, Iterator, Object };

  Value() = default;  // undefined
  static Value undefined(std::string message, ErrorKind kind = ErrorKind::Undefined);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double d);
  static Value string(std::string s, bool markup = false);
  static Value list(std::vector<Value> items, SeqKind kind = SeqKind::List);
  static Value tuple(std::vector<Value> items) { return list(std::move(items), SeqKind::Tuple); }
  static Value dict(DictData data);
  static Value iterator(std::vector<Value> items, std::string type_name = "generator");
  static Value object(std::shared_ptr<Object> obj);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }  // Python int
  bool is_number() const { return is_integral() || kind_ == Kind::Float; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_markup() const { return kind_ == Kind::String && markup_; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_iterator() const { return kind_ == Kind::Iterator; }
  bool is_object() const { return kind_ == Kind::Object; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::Bool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return kind_ == Kind::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& str() const;
  const ListData& list_data() const;
  const std::vector<Value>& items() const { return list_data().items; }
  const DictData& dict_data() const;
  IteratorData& iterator_data() const;
  Object& object_ref() const;
  std::shared_ptr<Object> object_ptr() const;
  const UndefinedData* undefined_data() const;
  // How deeply lists and dicts nest inside this value (0 for scalars and objects).
  uint32_t nesting() const;
  // True when both refer to the same container/object (Python `is`).
  bool same_identity(const Value& other) const { return ptr_ && ptr_ == other.ptr_; }

 private:
  Kind kind_ = Kind::Undefined;
  bool markup_ = false;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::shared_ptr<void> ptr_;
};

// Python-level helpers on values (py_ops.cpp, py_repr.cpp).
std::string type_name(const Value& v);  // Python's type(v).__name__
bool truthy(const Value& v);
std::string to_str(const Value& v);  // str(v); '' for undefined
std::string repr(const Value& v);
std::string float_repr(double d);
std::string string_repr(std::string_view s);
[[noreturn]] void fail_undefined(const Value& v);
// Raises UndefinedError when `v` is undefined (for operations undefined refuses).
inline const Value& defined_or_fail(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  return v;
}

bool equals(const Value& a, const Value& b);
// Python's a < b, a <= b, a > b, a >= b (`op` is the operator); TypeError when unorderable.
bool ordered_compare(const Value& a, const Value& b, const std::string& op);
bool less_than(const Value& a, const Value& b);
int64_t length(const Value& v);
// Iterates like Python's iter(): dict -> keys, str -> characters; consumes iterators.
std::vector<Value> iterate(const Value& v);
bool contains(const Value& container, const Value& item);
// Raises TypeError for a value Python could not hash (list, dict, ...).
void require_hashable(const Value& v);

// Jinja's environment.getattr / getitem (sandboxed): attribute first or item first, falling
// back to the other, an undefined value when neither exists.
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

Value binary_add(const Value& a, const Value& b);
Value binary_sub(const Value& a, const Value& b);
Value binary_mul(const Value& a, const Value& b);
Value binary_div(const Value& a, const Value& b);
Value binary_floordiv(const Value& a, const Value& b);
Value binary_mod(const Value& a, const Value& b);
Value binary_pow(const Value& a, const Value& b);
Value unary_neg(const Value& a);
Value unary_pos(const Value& a);

// markupsafe.escape: HTML-escapes a plain string, leaves Markup alone; returns Markup.
Value html_escape(const Value& v);

}  // namespace kiln::jinja
