#include "jinja/methods.h"

#include <algorithm>
#include <set>

#include "jinja/args.h"
#include "jinja/pyformat.h"
#include "jinja/pystr.h"
#include "jinja/unicode.h"

namespace kiln::jinja {

namespace {

const std::set<std::string> kStrMethods = {
    "capitalize", "casefold", "center", "count", "endswith", "find", "format", "format_map",
    "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "isidentifier", "islower",
    "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join", "ljust", "lower",
    "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
    "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase",
    "title", "upper", "zfill",
    // Real str methods this engine does not implement: calling one fails clearly.
    "encode", "expandtabs", "maketrans", "translate"};
const std::set<std::string> kDictMethods = {"copy", "get", "items", "keys", "values"};
const std::set<std::string> kDictMutators = {"clear", "pop", "popitem", "setdefault", "update"};
const std::set<std::string> kListMethods = {"copy", "count", "index"};
const std::set<std::string> kListMutators = {"append", "clear", "extend", "insert",
                                             "pop",    "remove", "reverse", "sort"};

class BoundMethod : public Object {
 public:
  BoundMethod(Value self, std::string name) : self_(std::move(self)), name_(std::move(name)) {}
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override {
    return "<built-in method " + name_ + " of " + jinja::type_name(self_) + " object>";
  }
  bool callable() const override { return true; }
  Value call(Interpreter&, CallArgs& args) override { return call_method(self_, name_, args); }

 private:
  Value self_;
  std::string name_;
};

const std::string& require_str(const Value& v, const std::string& what) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) type_error(what + " must be str, not " + type_name(v));
  return v.str();
}

std::optional<int64_t> opt_index(const BoundArgs& a, size_t i) {
  if (!a.has(i) || a.get(i).is_none()) return std::nullopt;
  return a.int_or(i, 0);
}

char32_t fill_char(const BoundArgs& a, size_t i) {
  if (!a.has(i)) return ' ';
  const std::string& s = require_str(a.get(i), "fill character");
  std::u32string cps = utf8_decode(s);
  if (cps.size() != 1) type_error("The fill character must be exactly one character long");
  return cps[0];
}

bool affix_match(const std::string& self, const Value& affix, bool prefix,
                 std::optional<int64_t> start, std::optional<int64_t> end, const char* fn) {
  std::u32string cps = utf8_decode(self);
  int64_t n = static_cast<int64_t>(cps.size());
  int64_t lo = start.value_or(0), hi = end.value_or(n);
  if (lo < 0) lo = std::max<int64_t>(0, lo + n);
  if (hi < 0) hi = std::max<int64_t>(0, hi + n);
  hi = std::min(hi, n);
  auto one = [&](const std::string& a) {
    std::u32string x = utf8_decode(a);
    int64_t len = static_cast<int64_t>(x.size());
    if (lo > n || hi - lo < len) return false;
    size_t at = static_cast<size_t>(prefix ? lo : hi - len);
    return cps.compare(at, x.size(), x) == 0;
  };
  if (affix.is_string()) return one(affix.str());
  if (affix.is_list() && affix.list_data().kind == SeqKind::Tuple) {
    for (const Value& v : affix.items()) {
      if (!v.is_string())
        type_error(std::string("tuple for ") + fn + " must only contain str, not " + type_name(v));
      if (one(v.str())) return true;
    }
    return false;
  }
  type_error(std::string(fn) + " first arg must be str or a tuple of str, not " + type_name(affix));
}

Value strings_list(const std::vector<std::string>& parts, bool markup) {
  std::vector<Value> out;
  for (const auto& p : parts) out.push_back(Value::string(p, markup));
  return Value::list(std::move(out));
}

Value call_str_method(const Value& self_v, const std::string& name, const CallArgs& call) {
  const std::string& self = self_v.str();
  bool markup = self_v.is_markup();
  auto str = [&](std::string s) { return Value::string(std::move(s), markup); };
  // Markup's methods escape their string arguments.
  auto arg_text = [&](const Value& v, const std::string& what) {
    const std::string& s = require_str(v, what);
    return markup && !v.is_markup() ? html_escape(v).str() : s;
  };

  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    BoundArgs a(name, call, {"chars"});
    auto side = name == "strip" ? pystr::Side::Both : name == "lstrip" ? pystr::Side::Left : pystr::Side::Right;
    return str(pystr::strip(self, a.str_or_none(0), side));
  }
  if (name == "split" || name == "rsplit") {
    BoundArgs a(name, call, {"sep", "maxsplit"});
    auto sep = a.str_or_none(0);
    int64_t maxsplit = a.int_or(1, -1);
    return strings_list(name == "split" ? pystr::split(self, sep, maxsplit) : pystr::rsplit(self, sep, maxsplit), markup);
  }
  if (name == "splitlines") {
    BoundArgs a(name, call, {"keepends"});
    return strings_list(pystr::splitlines(self, a.bool_or(0, false)), markup);
  }
  if (name == "startswith" || name == "endswith") {
    BoundArgs a(name, call, {"prefix", "start", "end"}, 1);
    return Value::boolean(affix_match(self, a.get(0), name == "startswith", opt_index(a, 1),
                                      opt_index(a, 2), name.c_str()));
  }
  if (name == "replace") {
    BoundArgs a(name, call, {"old", "new", "count"}, 2);
    return str(pystr::replace(self, arg_text(a.get(0), "replace() argument 1"),
                              arg_text(a.get(1), "replace() argument 2"), a.int_or(2, -1)));
  }
  if (name == "upper" || name == "lower" || name == "casefold" || name == "title" ||
      name == "capitalize" || name == "swapcase") {
    BoundArgs a(name, call, {});
    if (name == "upper") return str(pystr::upper(self));
    if (name == "lower" || name == "casefold") return str(pystr::lower(self));
    if (name == "title") return str(pystr::title(self));
    if (name == "capitalize") return str(pystr::capitalize(self));
    return str(pystr::swapcase(self));
  }
  if (name == "format") {
    std::string out = str_format(self, call);
    if (!markup) return Value::string(std::move(out));
    CallArgs escaped = call;
    for (auto& v : escaped.args) v = v.is_string() ? html_escape(v) : v;
    for (auto& kv : escaped.kwargs) kv.second = kv.second.is_string() ? html_escape(kv.second) : kv.second;
    return Value::string(str_format(self, escaped), true);
  }
  if (name == "format_map") {
    if (!call.kwargs.empty()) type_error("format_map() takes no keyword arguments");
    if (call.args.size() != 1)
      type_error("format_map() takes exactly one argument (" + std::to_string(call.args.size()) + " given)");
    if (!call.args[0].is_dict()) type_error("format_map() argument must be a mapping");
    CallArgs kw;
    for (const auto& [k, v] : call.args[0].dict_data().items) kw.kwargs.emplace_back(to_str(k), v);
    return str(str_format(self, kw));
  }
  if (name == "join") {
    BoundArgs a(name, call, {"iterable"}, 1);
    std::string out;
    size_t i = 0;
    for (const Value& item : iterate(a.get(0))) {
      if (!item.is_string())
        type_error("sequence item " + std::to_string(i) + ": expected str instance, " + type_name(item) + " found");
      if (i++) out += self;
      out += markup && !item.is_markup() ? html_escape(item).str() : item.str();
    }
    return str(std::move(out));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex") {
    BoundArgs a(name, call, {"sub", "start", "end"}, 1);
    bool reverse = name[0] == 'r';
    int64_t at = pystr::find(self, require_str(a.get(0), "must be str"), opt_index(a, 1), opt_index(a, 2), reverse);
    if (at < 0 && (name == "index" || name == "rindex")) fail(ErrorKind::Value, "substring not found");
    return Value::integer(at);
  }
  if (name == "count") {
    BoundArgs a(name, call, {"sub", "start", "end"}, 1);
    return Value::integer(pystr::count(self, require_str(a.get(0), "must be str"), opt_index(a, 1), opt_index(a, 2)));
  }
  if (name == "center" || name == "ljust" || name == "rjust") {
    BoundArgs a(name, call, {"width", "fillchar"}, 1);
    auto side = name == "center" ? pystr::Side::Both : name == "ljust" ? pystr::Side::Left : pystr::Side::Right;
    return str(pystr::pad(self, a.int_or(0, 0), fill_char(a, 1), side));
  }
  if (name == "zfill") {
    BoundArgs a(name, call, {"width"}, 1);
    return str(pystr::zfill(self, a.int_or(0, 0)));
  }
  if (name == "partition" || name == "rpartition") {
    BoundArgs a(name, call, {"sep"}, 1);
    const std::string& sep = require_str(a.get(0), "must be str");
    if (sep.empty()) fail(ErrorKind::Value, "empty separator");
    size_t at = name == "partition" ? self.find(sep) : self.rfind(sep);
    if (at == std::string::npos) {
      return name == "partition" ? Value::tuple({str(self), str(""), str("")})
                                 : Value::tuple({str(""), str(""), str(self)});
    }
    return Value::tuple({str(self.substr(0, at)), str(sep), str(self.substr(at + sep.size()))});
  }
  if (name == "removeprefix" || name == "removesuffix") {
    BoundArgs a(name, call, {"affix"}, 1);
    const std::string& affix = require_str(a.get(0), "must be str");
    if (name == "removeprefix")
      return str(self.compare(0, affix.size(), affix) == 0 ? self.substr(affix.size()) : self);
    bool ends = self.size() >= affix.size() && self.compare(self.size() - affix.size(), affix.size(), affix) == 0;
    return str(ends ? self.substr(0, self.size() - affix.size()) : self);
  }
  if (name.rfind("is", 0) == 0) {
    BoundArgs a(name, call, {});
    if (name == "isdigit" || name == "isnumeric") return Value::boolean(pystr::isdigit(self));
    if (name == "isdecimal")
      return Value::boolean(!self.empty() && std::all_of(self.begin(), self.end(), [](char c) { return c >= '0' && c <= '9'; }));
    if (name == "isalpha") return Value::boolean(pystr::isalpha(self));
    if (name == "isalnum") return Value::boolean(pystr::isalnum(self));
    if (name == "isspace") return Value::boolean(pystr::isspace(self));
    if (name == "isupper") return Value::boolean(pystr::isupper(self));
    if (name == "islower") return Value::boolean(pystr::islower(self));
    if (name == "istitle") return Value::boolean(pystr::istitle(self));
    if (name == "isascii") return Value::boolean(is_ascii(self));
    if (name == "isprintable") {
      std::u32string cps = utf8_decode(self);
      return Value::boolean(std::all_of(cps.begin(), cps.end(), py_isprintable));
    }
    if (name == "isidentifier") {
      std::u32string cps = utf8_decode(self);
      bool ok = !cps.empty() && !py_isdigit(cps[0]);
      for (char32_t c : cps) ok = ok && (c == '_' || py_isalpha(c) || py_isdigit(c));
      return Value::boolean(ok);
    }
  }
  fail(ErrorKind::Unsupported, "str." + name + "() is not supported by this template engine");
}

Value call_dict_method(const Value& self, const std::string& name, const CallArgs& call) {
  const DictData& d = self.dict_data();
  BoundArgs a(name, call, name == "get" ? std::vector<std::string>{"key", "default"} : std::vector<std::string>{},
              name == "get" ? 1 : 0);
  if (name == "get") {
    require_hashable(a.get(0));
    const Value* v = d.find(a.get(0));
    return v ? *v : a.get_or(1, Value::none());
  }
  if (name == "copy") return self;
  std::vector<Value> out;
  for (const auto& [k, v] : d.items) {
    if (name == "keys") out.push_back(k);
    else if (name == "values") out.push_back(v);
    else out.push_back(Value::tuple({k, v}));
  }
  SeqKind kind = name == "keys" ? SeqKind::DictKeys : name == "values" ? SeqKind::DictValues : SeqKind::DictItems;
  return Value::list(std::move(out), kind);
}

Value call_list_method(const Value& self, const std::string& name, const CallArgs& call) {
  const auto& items = self.items();
  if (name == "copy") {
    BoundArgs a(name, call, {});
    return Value::list(items, self.list_data().kind);
  }
  if (name == "count") {
    BoundArgs a(name, call, {"value"}, 1);
    return Value::integer(std::count_if(items.begin(), items.end(), [&](const Value& v) { return equals(v, a.get(0)); }));
  }
  BoundArgs a(name, call, {"value", "start", "stop"}, 1);
  int64_t n = static_cast<int64_t>(items.size());
  int64_t lo = a.int_or(1, 0), hi = a.int_or(2, n);
  if (lo < 0) lo = std::max<int64_t>(0, lo + n);
  if (hi < 0) hi = std::max<int64_t>(0, hi + n);
  for (int64_t i = lo; i < std::min(hi, n); ++i)
    if (equals(items[static_cast<size_t>(i)], a.get(0))) return Value::integer(i);
  fail(ErrorKind::Value, self.list_data().kind == SeqKind::Tuple ? "tuple.index(x): x not in tuple"
                                                                 : repr(a.get(0)) + " is not in list");
}

}  // namespace

MethodStatus find_method(const Value& self, const std::string& name) {
  if (self.is_string()) return kStrMethods.count(name) ? MethodStatus::Safe : MethodStatus::Missing;
  if (self.is_dict()) {
    if (kDictMethods.count(name)) return MethodStatus::Safe;
    return kDictMutators.count(name) ? MethodStatus::Unsafe : MethodStatus::Missing;
  }
  if (self.is_list()) {
    SeqKind kind = self.list_data().kind;
    if (kind == SeqKind::List) {
      if (kListMethods.count(name)) return MethodStatus::Safe;
      return kListMutators.count(name) ? MethodStatus::Unsafe : MethodStatus::Missing;
    }
    if (kind == SeqKind::Tuple && (name == "count" || name == "index")) return MethodStatus::Safe;
  }
  return MethodStatus::Missing;
}

Value bound_method(const Value& self, const std::string& name) {
  return Value::object(std::make_shared<BoundMethod>(self, name));
}

Value call_method(const Value& self, const std::string& name, const CallArgs& args) {
  if (self.is_string()) return call_str_method(self, name, args);
  if (self.is_dict()) return call_dict_method(self, name, args);
  return call_list_method(self, name, args);
}

}  // namespace kiln::jinja
