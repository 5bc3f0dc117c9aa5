#include "jinja/objects.h"

#include <algorithm>

namespace kiln::jinja {

std::string NamespaceObject::repr() const {
  // Python's dict repr prints a dict already being printed as {...}.
  static thread_local std::vector<const NamespaceObject*> active;
  if (std::find(active.begin(), active.end(), this) != active.end()) return "<Namespace {...}>";
  active.push_back(this);
  struct Pop {
    ~Pop() { active.pop_back(); }
  } pop;
  return std::string("<Namespace ").append(jinja::repr(Value::dict(attrs_))).append(">");
}

Value NamespaceObject::attr(const std::string& name) const {
  if (const Value* v = attrs_.find(std::string_view(name))) return *v;
  return Value::undefined("'jinja2.utils.Namespace object' has no attribute " + string_repr(name));
}

namespace {

class LoopMethod : public Object {
 public:
  LoopMethod(std::shared_ptr<LoopObject> loop, std::string name) : loop_(std::move(loop)), name_(std::move(name)) {}
  std::string type_name() const override { return "method"; }
  std::string repr() const override { return "<bound method LoopContext." + name_ + ">"; }
  bool callable() const override { return true; }
  Value call(Interpreter&, CallArgs& args) override {
    return name_ == "cycle" ? loop_->cycle(args) : loop_->changed(args);
  }

 private:
  std::shared_ptr<LoopObject> loop_;
  std::string name_;
};

}  // namespace

std::string LoopObject::repr() const {
  return "<LoopContext " + std::to_string(index0_ + 1) + "/" + std::to_string(items_.size()) + ">";
}

Value LoopObject::attr(const std::string& name) const {
  int64_t i = static_cast<int64_t>(index0_);
  int64_t n = static_cast<int64_t>(items_.size());
  if (name == "index0") return Value::integer(i);
  if (name == "index") return Value::integer(i + 1);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i == n - 1);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(depth_);
  if (name == "depth0") return Value::integer(depth_ - 1);
  if (name == "previtem")
    return i > 0 ? items_[index0_ - 1] : Value::undefined("there is no previous item");
  if (name == "nextitem")
    return i + 1 < n ? items_[index0_ + 1] : Value::undefined("there is no next item");
  if (name == "cycle" || name == "changed") {
    auto self = std::const_pointer_cast<LoopObject>(shared_from_this());
    return Value::object(std::make_shared<LoopMethod>(std::move(self), name));
  }
  return Value::undefined("'jinja2.runtime.LoopContext object' has no attribute " + string_repr(name));
}

Value LoopObject::call(Interpreter& interp, CallArgs& args) {
  if (!loop_) type_error("'LoopContext' object is not callable");
  if (args.args.size() != 1 || !args.kwargs.empty()) type_error("loop() takes exactly one argument");
  return Value::string(interp.run_loop(*loop_, frame_, args.args[0], depth_ + 1));
}

Value LoopObject::changed(const CallArgs& args) {
  Value current = Value::tuple(args.args);
  if (has_last_changed_ && equals(current, last_changed_)) return Value::boolean(false);
  has_last_changed_ = true;
  last_changed_ = current;
  return Value::boolean(true);
}

Value LoopObject::cycle(const CallArgs& args) const {
  if (args.args.empty()) type_error("no items for cycling given");
  return args.args[index0_ % args.args.size()];
}

Value MacroObject::attr(const std::string& name) const {
  if (name == "name") return Value::string(def_.name);
  if (name == "arguments") {
    std::vector<Value> names;
    for (const auto& p : *def_.params) names.push_back(Value::string(p));
    return Value::tuple(std::move(names));
  }
  if (name == "catch_kwargs") return Value::boolean(def_.uses_kwargs);
  if (name == "catch_varargs") return Value::boolean(def_.uses_varargs);
  if (name == "caller") return Value::boolean(def_.uses_caller);
  return Value::undefined("'jinja2.runtime.Macro object' has no attribute " + string_repr(name));
}

}  // namespace kiln::jinja
