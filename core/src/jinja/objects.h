// The runtime objects templates see: namespace(), the `loop` variable, macros and `caller`.
#pragma once

#include <memory>
#include <string>

#include "jinja/interpreter.h"
#include "jinja/value.h"

namespace kiln::jinja {

// namespace(): the one mutable object, assigned with {% set ns.attr = value %}.
class NamespaceObject : public Object {
 public:
  explicit NamespaceObject(DictData attrs) : attrs_(std::move(attrs)) {}
  std::string type_name() const override { return "Namespace"; }
  std::string repr() const override;
  Value attr(const std::string& name) const override;
  void set(const std::string& name, Value value) { attrs_.set(Value::string(name), std::move(value)); }
  DictData take_attrs() { return std::move(attrs_); }

 private:
  DictData attrs_;
};

class LoopObject : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  LoopObject(std::vector<Value> items, int depth, const Stmt* recursive_loop, FramePtr frame)
      : items_(std::move(items)), depth_(depth), loop_(recursive_loop), frame_(std::move(frame)) {}
  std::string type_name() const override { return "LoopContext"; }
  std::string repr() const override;
  Value attr(const std::string& name) const override;
  bool callable() const override { return loop_ != nullptr; }
  Value call(Interpreter& interp, CallArgs& args) override;

  const std::vector<Value>& items() const { return items_; }
  void set_index(size_t index0) { index0_ = index0; }
  // loop.changed(*values) and loop.cycle(*values).
  Value changed(const CallArgs& args);
  Value cycle(const CallArgs& args) const;

 private:
  std::vector<Value> items_;
  size_t index0_ = 0;
  int depth_;
  const Stmt* loop_;  // set for `recursive` loops: loop(...) renders it again
  FramePtr frame_;
  bool has_last_changed_ = false;
  Value last_changed_;
};

class MacroObject : public Object {
 public:
  MacroObject(Interpreter::MacroDef def, FramePtr closure) : def_(std::move(def)), closure_(std::move(closure)) {}
  std::string type_name() const override { return "Macro"; }
  std::string repr() const override { return "<Macro " + string_repr(def_.name) + ">"; }
  Value attr(const std::string& name) const override;
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override { return interp.call_macro(def_, closure_, args); }

 private:
  Interpreter::MacroDef def_;
  FramePtr closure_;
};

// A builtin function: a name and a plain function pointer.
class FunctionObject : public Object {
 public:
  using Fn = Value (*)(Interpreter& interp, CallArgs& args);
  FunctionObject(std::string name, Fn fn) : name_(std::move(name)), fn_(fn) {}
  std::string type_name() const override { return "function"; }
  std::string repr() const override { return "<function " + name_ + ">"; }
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override { return fn_(interp, args); }

 private:
  std::string name_;
  Fn fn_;
};

}  // namespace kiln::jinja
