// Global functions: jinja2's (range, dict, namespace, cycler, joiner) and the two that
// transformers adds to every chat template (raise_exception, strftime_now).
#include <cmath>
#include <ctime>

#include "jinja/args.h"
#include "jinja/builtins.h"
#include "jinja/objects.h"

namespace kiln::jinja {

namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

int64_t int_arg(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_integral()) type_error("'" + type_name(v) + "' object cannot be interpreted as an integer");
  return v.as_int();
}

Value g_range(Interpreter&, CallArgs& a) {
  if (!a.kwargs.empty()) type_error("range() takes no keyword arguments");
  if (a.args.empty() || a.args.size() > 3)
    type_error("range expected at most 3 arguments, got " + std::to_string(a.args.size()));
  int64_t start = 0, stop, step = 1;
  if (a.args.size() == 1) {
    stop = int_arg(a.args[0]);
  } else {
    start = int_arg(a.args[0]);
    stop = int_arg(a.args[1]);
    if (a.args.size() == 3) step = int_arg(a.args[2]);
  }
  if (step == 0) fail(ErrorKind::Value, "range() arg 3 must not be zero");
  double count = step > 0 ? std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step))
                          : std::ceil((static_cast<double>(start) - static_cast<double>(stop)) / static_cast<double>(-step));
  if (count > kMaxRange)
    fail(ErrorKind::Overflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) items.push_back(Value::integer(i));
  return Value::list(std::move(items));
}

// Python's dict(*args, **kwargs).
DictData make_dict(const CallArgs& a, const char* fn) {
  if (a.args.size() > 1) type_error(std::string(fn) + " expected at most 1 argument, got " + std::to_string(a.args.size()));
  DictData d;
  if (!a.args.empty()) {
    const Value& src = a.args[0];
    if (src.is_dict()) {
      d = src.dict_data();
    } else {
      size_t i = 0;
      for (const Value& item : iterate(src)) {
        std::vector<Value> pair = item.is_list() || item.is_string() ? iterate(item) : std::vector<Value>{};
        if (pair.size() != 2) {
          fail(ErrorKind::Value, "dictionary update sequence element #" + std::to_string(i) + " has length " +
                                     std::to_string(pair.size()) + "; 2 is required");
        }
        require_hashable(pair[0]);
        d.set(pair[0], pair[1]);
        ++i;
      }
    }
  }
  for (const auto& [k, v] : a.kwargs) d.set(Value::string(k), v);
  return d;
}

Value g_dict(Interpreter&, CallArgs& a) { return Value::dict(make_dict(a, "dict")); }

Value g_namespace(Interpreter& interp, CallArgs& a) {
  auto ns = std::make_shared<NamespaceObject>(make_dict(a, "namespace"));
  interp.track_namespace(ns);
  return Value::object(std::move(ns));
}

class Cycler : public Object, public std::enable_shared_from_this<Cycler> {
 public:
  explicit Cycler(std::vector<Value> items) : items_(std::move(items)) {}
  std::string type_name() const override { return "Cycler"; }
  Value attr(const std::string& name) const override {
    if (name == "current") return items_[pos_];
    if (name == "next" || name == "reset") {
      auto self = std::const_pointer_cast<Cycler>(shared_from_this());
      return Value::object(std::make_shared<Method>(std::move(self), name));
    }
    return Object::attr(name);
  }
 private:
  class Method : public Object {
   public:
    Method(std::shared_ptr<Cycler> c, std::string n) : c_(std::move(c)), n_(std::move(n)) {}
    std::string type_name() const override { return "method"; }
    bool callable() const override { return true; }
    Value call(Interpreter&, CallArgs&) override {
      if (n_ == "reset") {
        c_->pos_ = 0;
        return Value::none();
      }
      Value v = c_->items_[c_->pos_];
      c_->pos_ = (c_->pos_ + 1) % c_->items_.size();
      return v;
    }

   private:
    std::shared_ptr<Cycler> c_;
    std::string n_;
  };

  std::vector<Value> items_;
  size_t pos_ = 0;
};

Value g_cycler(Interpreter&, CallArgs& a) {
  if (a.args.empty()) fail(ErrorKind::Runtime, "at least one item has to be provided");
  return Value::object(std::make_shared<Cycler>(a.args));
}

class Joiner : public Object {
 public:
  explicit Joiner(std::string sep) : sep_(std::move(sep)) {}
  std::string type_name() const override { return "Joiner"; }
  bool callable() const override { return true; }
  Value call(Interpreter&, CallArgs&) override {
    if (!used_) {
      used_ = true;
      return Value::string("");
    }
    return Value::string(sep_);
  }

 private:
  std::string sep_;
  bool used_ = false;
};

Value g_joiner(Interpreter&, CallArgs& a) {
  BoundArgs args("joiner", a, {"sep"});
  return Value::object(std::make_shared<Joiner>(args.has(0) ? to_str(args.get(0)) : ", "));
}

Value g_lipsum(Interpreter&, CallArgs&) {
  fail(ErrorKind::Unsupported, "lipsum() is not supported by this template engine");
}

Value g_raise_exception(Interpreter&, CallArgs& a) {
  BoundArgs args("raise_exception", a, {"message"}, 1);
  fail(ErrorKind::Raised, to_str(args.get(0)));
}

Value g_strftime_now(Interpreter& interp, CallArgs& a) {
  BoundArgs args("strftime_now", a, {"format"}, 1);
  const Value& fmt = args.get(0);
  if (!fmt.is_string()) type_error("strftime() argument 1 must be str, not " + type_name(fmt));
  if (fmt.str().find('\0') != std::string::npos) fail(ErrorKind::Value, "embedded null character");
  if (fmt.str().empty()) return Value::string("");
  std::string buf(256, '\0');
  while (buf.size() <= (size_t{1} << 20)) {
    size_t n = std::strftime(buf.data(), buf.size(), fmt.str().c_str(), &interp.now());
    if (n > 0) return Value::string(buf.substr(0, n));
    buf.resize(buf.size() * 4);
  }
  return Value::string("");
}

}  // namespace

void add_global_functions(DictData& globals) {
  auto add = [&](const char* name, FunctionObject::Fn fn) {
    globals.set(Value::string(name), Value::object(std::make_shared<FunctionObject>(name, fn)));
  };
  add("range", g_range);
  add("dict", g_dict);
  add("namespace", g_namespace);
  add("cycler", g_cycler);
  add("joiner", g_joiner);
  add("lipsum", g_lipsum);
  add("raise_exception", g_raise_exception);
  add("strftime_now", g_strftime_now);
}

}  // namespace kiln::jinja
