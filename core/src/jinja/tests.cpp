// jinja2's built-in tests (jinja2/tests.py): `value is defined`, `is string`, ...
#include <set>

#include "jinja/args.h"
#include "jinja/builtins.h"
#include "jinja/unicode.h"
#include "jinja/pystr.h"

namespace kiln::jinja {

namespace {

void no_args(const char* name, const CallArgs& a) { BoundArgs(std::string(name), a, {}); }

Value one_arg(const char* name, const CallArgs& a) {
  BoundArgs args(name, a, {"other"}, 1);
  return args.get(0);
}

bool t_defined(Interpreter&, const Value& v, const CallArgs& a) { no_args("defined", a); return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, const CallArgs& a) { no_args("undefined", a); return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, const CallArgs& a) { no_args("none", a); return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, const CallArgs& a) { no_args("boolean", a); return v.is_bool(); }
bool t_false(Interpreter&, const Value& v, const CallArgs& a) { no_args("false", a); return v.is_bool() && !v.as_bool(); }
bool t_true(Interpreter&, const Value& v, const CallArgs& a) { no_args("true", a); return v.is_bool() && v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, const CallArgs& a) { no_args("integer", a); return v.is_int(); }
bool t_float(Interpreter&, const Value& v, const CallArgs& a) { no_args("float", a); return v.is_float(); }
bool t_number(Interpreter&, const Value& v, const CallArgs& a) { no_args("number", a); return v.is_number(); }
bool t_string(Interpreter&, const Value& v, const CallArgs& a) { no_args("string", a); return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, const CallArgs& a) { no_args("mapping", a); return v.is_dict(); }
bool t_escaped(Interpreter&, const Value& v, const CallArgs& a) { no_args("escaped", a); return v.is_markup(); }

bool t_iterable(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("iterable", a);
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict() || v.is_iterator();
}

// Has len() and __getitem__: str, list, tuple, dict, and (quirk kept) undefined.
bool t_sequence(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("sequence", a);
  if (v.is_list()) return v.list_data().kind == SeqKind::List || v.list_data().kind == SeqKind::Tuple;
  return v.is_undefined() || v.is_string() || v.is_dict();
}

bool t_callable(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("callable", a);
  return v.is_object() && v.object_ref().callable();
}

bool t_lower(Interpreter&, const Value& v, const CallArgs& a) { no_args("lower", a); return pystr::islower(to_str(v)); }
bool t_upper(Interpreter&, const Value& v, const CallArgs& a) { no_args("upper", a); return pystr::isupper(to_str(v)); }

bool t_odd(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("odd", a);
  return equals(binary_mod(v, Value::integer(2)), Value::integer(1));
}

bool t_even(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("even", a);
  return equals(binary_mod(v, Value::integer(2)), Value::integer(0));
}

bool t_divisibleby(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("divisibleby", a, {"num"}, 1);
  return equals(binary_mod(v, args.get(0)), Value::integer(0));
}

// Python `is`: singletons, small cached ints and shared containers.
bool t_sameas(Interpreter&, const Value& v, const CallArgs& a) {
  Value other = one_arg("sameas", a);
  if (v.kind() != other.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::None: return true;
    case Value::Kind::Undefined: return false;
    case Value::Kind::Bool: return v.as_bool() == other.as_bool();
    case Value::Kind::Int: return v.as_int() == other.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
    default: return v.same_identity(other);
  }
}

bool t_in(Interpreter&, const Value& v, const CallArgs& a) {
  BoundArgs args("in", a, {"seq"}, 1);
  return contains(args.get(0), v);
}

bool t_eq(Interpreter&, const Value& v, const CallArgs& a) { return equals(v, one_arg("eq", a)); }
bool t_ne(Interpreter&, const Value& v, const CallArgs& a) { return !equals(v, one_arg("ne", a)); }
bool t_lt(Interpreter&, const Value& v, const CallArgs& a) { return ordered_compare(v, one_arg("lt", a), "<"); }
bool t_le(Interpreter&, const Value& v, const CallArgs& a) { return ordered_compare(v, one_arg("le", a), "<="); }
bool t_gt(Interpreter&, const Value& v, const CallArgs& a) { return ordered_compare(v, one_arg("gt", a), ">"); }
bool t_ge(Interpreter&, const Value& v, const CallArgs& a) { return ordered_compare(v, one_arg("ge", a), ">="); }

bool t_filter(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("filter", a);
  return v.is_string() && find_filter(v.str()) != nullptr;
}

bool t_test(Interpreter&, const Value& v, const CallArgs& a) {
  no_args("test", a);
  return v.is_string() && find_test(v.str()) != nullptr;
}

const TestDef kTests[] = {
    {"odd", t_odd},           {"even", t_even},         {"divisibleby", t_divisibleby},
    {"defined", t_defined},   {"undefined", t_undefined}, {"filter", t_filter},
    {"test", t_test},         {"none", t_none},         {"boolean", t_boolean},
    {"false", t_false},       {"true", t_true},         {"integer", t_integer},
    {"float", t_float},       {"lower", t_lower},       {"upper", t_upper},
    {"string", t_string},     {"mapping", t_mapping},   {"number", t_number},
    {"sequence", t_sequence}, {"iterable", t_iterable}, {"callable", t_callable},
    {"sameas", t_sameas},     {"escaped", t_escaped},   {"in", t_in},
    {"==", t_eq},             {"eq", t_eq},             {"equalto", t_eq},
    {"!=", t_ne},             {"ne", t_ne},             {">", t_gt},
    {"gt", t_gt},             {"greaterthan", t_gt},    {"ge", t_ge},
    {">=", t_ge},             {"<", t_lt},              {"lt", t_lt},
    {"lessthan", t_lt},       {"<=", t_le},             {"le", t_le},
};

}  // namespace

const TestDef* find_test(const std::string& name) {
  for (const TestDef& t : kTests)
    if (name == t.name) return &t;
  return nullptr;
}

bool is_unimplemented_test(const std::string&) { return false; }

}  // namespace kiln::jinja
