#include "jinja/interpreter.h"

#include "jinja/builtins.h"
#include "jinja/objects.h"

namespace kiln::jinja {

const Value* Frame::find(std::string_view name) const {
  for (const auto& [k, v] : vars)
    if (k == name) return &v;
  return nullptr;
}

void Frame::set(const std::string& name, Value value) {
  for (auto& [k, v] : vars) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

namespace {

FramePtr child_of(const FramePtr& parent) {
  auto f = std::make_shared<Frame>();
  f->parent = parent;
  return f;
}

}  // namespace

Interpreter::Interpreter(const DictData& context, const std::tm& now, RenderLimits limits)
    : now_(now), limits_(limits) {
  DictData globals;
  add_global_functions(globals);
  globals_ = std::make_shared<Frame>();
  for (const auto& [k, v] : globals.items) globals_->set(k.str(), v);
  auto context_frame = child_of(globals_);
  for (const auto& [k, v] : context.items) context_frame->set(to_str(k), v);
  globals_ = context_frame;
}

Interpreter::~Interpreter() {
  // Move everything out first, then let it go: destroying one frame or namespace then never
  // walks into another's contents, so long chains cannot recurse deeply.
  std::vector<std::vector<std::pair<std::string, Value>>> vars;
  for (auto& weak : captured_frames_) {
    if (FramePtr f = weak.lock()) vars.push_back(std::move(f->vars));
  }
  std::vector<DictData> attrs;
  for (auto& weak : namespaces_) {
    if (auto obj = weak.lock()) attrs.push_back(static_cast<NamespaceObject&>(*obj).take_attrs());
  }
}

const FramePtr& Interpreter::capture_frame(const FramePtr& frame) {
  captured_frames_.push_back(frame);
  return frame;
}

std::string Interpreter::render(const StmtList& body) {
  std::string out;
  exec(body, child_of(globals_), out);
  return out;
}

void Interpreter::step() {
  if (++steps_ > limits_.max_steps)
    fail(ErrorKind::Overflow, "the template exceeded the step limit (" + std::to_string(limits_.max_steps) +
                                  " loop iterations and calls)");
}

void Interpreter::append(std::string& out, std::string_view text) {
  if (out.size() + text.size() > limits_.max_output_bytes)
    fail(ErrorKind::Overflow, "the rendered output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  out += text;
}

// ---------------------------------------------------------------- statements

Interpreter::Flow Interpreter::exec(const StmtList& body, const FramePtr& frame, std::string& out) {
  for (const auto& stmt : body) {
    Flow flow;
    try {
      flow = exec_stmt(*stmt, frame, out);
    } catch (const TemplateError& e) {
      if (e.line() == 0) throw e.at(stmt->line);
      throw;
    }
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

std::string Interpreter::capture(const StmtList& body, const FramePtr& frame) {
  std::string out;
  exec(body, child_of(frame), out);
  return out;
}

Interpreter::Flow Interpreter::exec_if(const Stmt& stmt, const FramePtr& frame, std::string& out) {
  for (const auto& [cond, body] : stmt.branches) {
    if (truthy(eval(*cond, frame))) return exec(body, frame, out);
  }
  return exec(stmt.else_body, frame, out);
}

Interpreter::Flow Interpreter::exec_stmt(const Stmt& stmt, const FramePtr& frame, std::string& out) {
  switch (stmt.kind) {
    case StmtKind::Text: append(out, stmt.text); break;
    case StmtKind::Output: append(out, to_str(eval(*stmt.expr, frame))); break;
    case StmtKind::If: return exec_if(stmt, frame, out);
    case StmtKind::For: append(out, run_loop(stmt, frame, eval(*stmt.expr, frame), 1)); break;
    case StmtKind::Set: assign(*stmt.target, eval(*stmt.expr, frame), frame); break;
    case StmtKind::SetBlock: {
      Value captured = Value::string(capture(stmt.body, frame));
      assign(*stmt.target, stmt.filter ? eval_filter(*stmt.filter, frame, &captured) : captured, frame);
      break;
    }
    case StmtKind::Macro: {
      MacroDef def{stmt.name, &stmt.params, &stmt.defaults, &stmt.body,
                   stmt.uses_caller, stmt.uses_varargs, stmt.uses_kwargs};
      frame->set(stmt.name, Value::object(std::make_shared<MacroObject>(def, capture_frame(frame))));
      break;
    }
    case StmtKind::CallBlock: exec_call_block(stmt, frame, out); break;
    case StmtKind::FilterBlock: {
      Value captured = Value::string(capture(stmt.body, frame));
      append(out, to_str(eval_filter(*stmt.filter, frame, &captured)));
      break;
    }
    case StmtKind::With: {
      std::vector<Value> values;
      for (const auto& v : stmt.values) values.push_back(eval(*v, frame));
      FramePtr inner = child_of(frame);
      for (size_t i = 0; i < stmt.targets.size(); ++i) assign(*stmt.targets[i], values[i], inner);
      return exec(stmt.body, inner, out);
    }
    case StmtKind::Scope: return exec(stmt.body, child_of(frame), out);
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
  }
  return Flow::Normal;
}

void Interpreter::exec_call_block(const Stmt& stmt, const FramePtr& frame, std::string& out) {
  MacroDef def{"caller", &stmt.params, &stmt.defaults, &stmt.body,
               stmt.uses_caller, stmt.uses_varargs, stmt.uses_kwargs};
  Value caller = Value::object(std::make_shared<MacroObject>(def, capture_frame(frame)));
  append(out, to_str(eval_call(*stmt.expr, frame, &caller)));
}

std::string Interpreter::run_loop(const Stmt& loop, const FramePtr& frame, const Value& iterable, int depth) {
  std::vector<Value> items = iterate(iterable);
  if (loop.cond) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      FramePtr test_frame = child_of(frame);
      assign(*loop.target, item, test_frame);
      if (truthy(eval(*loop.cond, test_frame))) kept.push_back(item);
    }
    items = std::move(kept);
  }
  std::string out;
  if (items.empty()) {
    exec(loop.else_body, child_of(frame), out);
    return out;
  }
  auto context = loop.recursive ? std::make_shared<LoopObject>(items, depth, &loop, capture_frame(frame))
                                : std::make_shared<LoopObject>(items, depth, nullptr, nullptr);
  Value loop_value = Value::object(context);
  for (size_t i = 0; i < context->items().size(); ++i) {
    step();
    context->set_index(i);
    FramePtr iteration = child_of(frame);
    assign(*loop.target, context->items()[i], iteration);
    iteration->set("loop", loop_value);
    Flow flow = exec(loop.body, iteration, out);
    if (flow == Flow::Break) break;
  }
  return out;
}

Value Interpreter::call_macro(const MacroDef& def, const FramePtr& closure, CallArgs& args) {
  step();
  if (call_depth_ >= limits_.max_call_depth)
    fail(ErrorKind::Overflow, "maximum recursion depth exceeded in macro " + string_repr(def.name));
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(depth) { ++d; }
    ~DepthGuard() { --d; }
  } guard(call_depth_);

  const auto& params = *def.params;
  const auto& defaults = *def.defaults;
  if (args.args.size() > params.size() && !def.uses_varargs)
    type_error("macro " + string_repr(def.name) + " takes not more than " + std::to_string(params.size()) +
               " argument(s)");
  std::vector<std::pair<std::string, Value>> kwargs = args.kwargs;
  auto take_kwarg = [&](const std::string& name, Value& out) {
    for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
      if (it->first == name) {
        out = it->second;
        kwargs.erase(it);
        return true;
      }
    }
    return false;
  };

  FramePtr frame = child_of(closure);
  size_t first_default = params.size() - defaults.size();
  for (size_t i = 0; i < params.size(); ++i) {
    Value value;
    Value duplicate;
    if (i < args.args.size()) {
      if (take_kwarg(params[i], duplicate))
        type_error("macro " + string_repr(def.name) + " got multiple values for argument " + string_repr(params[i]));
      value = args.args[i];
    } else if (!take_kwarg(params[i], value)) {
      if (i >= first_default)
        value = eval(*defaults[i - first_default], frame);
      else
        value = Value::undefined("parameter " + string_repr(params[i]) + " was not provided");
    }
    frame->set(params[i], value);
  }
  if (def.uses_caller) {
    Value caller;
    if (!take_kwarg("caller", caller)) caller = Value::undefined("No caller defined");
    frame->set("caller", caller);
  }
  if (def.uses_varargs) {
    std::vector<Value> extra;
    for (size_t i = params.size(); i < args.args.size(); ++i) extra.push_back(args.args[i]);
    frame->set("varargs", Value::tuple(std::move(extra)));
  }
  if (def.uses_kwargs) {
    DictData d;
    for (auto& [k, v] : kwargs) d.set(Value::string(k), v);
    frame->set("kwargs", Value::dict(std::move(d)));
  } else if (!kwargs.empty()) {
    type_error("macro " + string_repr(def.name) + " takes no keyword argument " + string_repr(kwargs.front().first));
  }
  std::string out;
  exec(*def.body, frame, out);
  return Value::string(std::move(out));
}

void Interpreter::assign(const Expr& target, const Value& value, const FramePtr& frame) {
  switch (target.kind) {
    case ExprKind::Name: frame->set(target.name, value); return;
    case ExprKind::NSRef: {
      Value ns = lookup(target.name, frame);
      auto* obj = ns.is_object() ? dynamic_cast<NamespaceObject*>(&ns.object_ref()) : nullptr;
      if (!obj) fail(ErrorKind::Runtime, "cannot assign attribute on non-namespace object");
      obj->set(target.attr, value);
      return;
    }
    case ExprKind::Tuple: {
      std::vector<Value> items = iterate(value);
      size_t want = target.items.size();
      if (items.size() < want)
        fail(ErrorKind::Value, "not enough values to unpack (expected " + std::to_string(want) + ", got " +
                                   std::to_string(items.size()) + ")");
      if (items.size() > want)
        fail(ErrorKind::Value, "too many values to unpack (expected " + std::to_string(want) + ")");
      for (size_t i = 0; i < want; ++i) assign(*target.items[i], items[i], frame);
      return;
    }
    default: fail(ErrorKind::Syntax, "cannot assign to this expression");
  }
}

// ---------------------------------------------------------------- expressions

Value Interpreter::lookup(const std::string& name, const FramePtr& frame) const {
  for (const Frame* f = frame.get(); f; f = f->parent.get()) {
    if (const Value* v = f->find(name)) return *v;
  }
  return Value::undefined(string_repr(name) + " is undefined");
}

Value Interpreter::eval(const Expr& e, const FramePtr& frame) {
  if (eval_depth_ >= limits_.max_eval_depth)
    throw TemplateError(ErrorKind::Overflow, "maximum recursion depth exceeded", e.line, e.column);
  struct Enter {
    int& d;
    explicit Enter(int& depth) : d(depth) { ++d; }
    ~Enter() { --d; }
  } enter(eval_depth_);
  try {
    return eval_inner(e, frame);
  } catch (const TemplateError& err) {
    if (err.line() == 0) throw err.at(e.line, e.column);
    throw;
  }
}

void Interpreter::eval_args(const Expr& e, const FramePtr& frame, CallArgs& out) {
  for (const auto& arg : e.items) out.args.push_back(eval(*arg, frame));
  for (const auto& [k, v] : e.kwargs) out.kwargs.emplace_back(k, eval(*v, frame));
  if (e.dyn_args) {
    for (Value& v : iterate(eval(*e.dyn_args, frame))) out.args.push_back(std::move(v));
  }
  if (e.dyn_kwargs) {
    Value d = eval(*e.dyn_kwargs, frame);
    if (!d.is_dict()) type_error("argument after ** must be a mapping, not " + type_name(d));
    for (const auto& [k, v] : d.dict_data().items) {
      if (!k.is_string()) type_error("keywords must be strings");
      out.kwargs.emplace_back(k.str(), v);
    }
  }
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (!callee.is_object() || !callee.object_ref().callable())
    type_error("'" + type_name(callee) + "' object is not callable");
  step();
  return callee.object_ref().call(*this, args);
}

Value Interpreter::eval_call(const Expr& e, const FramePtr& frame, const Value* extra_caller) {
  Value callee = eval(*e.a, frame);
  CallArgs args;
  eval_args(e, frame, args);
  if (extra_caller) args.kwargs.emplace_back("caller", *extra_caller);
  return call(callee, args);
}

Value Interpreter::eval_filter(const Expr& e, const FramePtr& frame, const Value* operand) {
  Value value = e.a ? (e.a->kind == ExprKind::Filter ? eval_filter(*e.a, frame, operand) : eval(*e.a, frame))
                    : *operand;
  CallArgs args;
  eval_args(e, frame, args);
  if (!e.filter) missing_filter_or_test(e);
  return e.filter->fn(*this, value, args);
}

// An unknown filter/test inside {% if %}: jinja2 fails only when it runs.
void Interpreter::missing_filter_or_test(const Expr& e) {
  bool is_filter = e.kind == ExprKind::Filter;
  if (is_filter ? is_unimplemented_filter(e.name) : is_unimplemented_test(e.name))
    fail(ErrorKind::Unsupported, "the " + string_repr(e.name) + (is_filter ? " filter" : " test") +
                                     " is not supported by this template engine");
  fail(ErrorKind::Runtime, std::string("No ") + (is_filter ? "filter" : "test") + " named " + string_repr(e.name) +
                               " found.");
}

Value Interpreter::call_filter(const std::string& name, const Value& value, const CallArgs& args) {
  const FilterDef* f = find_filter(name);
  if (!f) fail(ErrorKind::Runtime, "No filter named " + string_repr(name) + ".");
  return f->fn(*this, value, args);
}

bool Interpreter::call_test(const std::string& name, const Value& value, const CallArgs& args) {
  const TestDef* t = find_test(name);
  if (!t) fail(ErrorKind::Runtime, "No test named " + string_repr(name) + ".");
  return t->fn(*this, value, args);
}

bool Interpreter::eval_compare(const Expr& e, const FramePtr& frame) {
  Value left = eval(*e.a, frame);
  for (const auto& [op, expr] : e.ops) {
    Value right = eval(*expr, frame);
    bool ok;
    if (op == "eq") ok = equals(left, right);
    else if (op == "ne") ok = !equals(left, right);
    else if (op == "lt") ok = ordered_compare(left, right, "<");
    else if (op == "lteq") ok = ordered_compare(left, right, "<=");
    else if (op == "gt") ok = ordered_compare(left, right, ">");
    else if (op == "gteq") ok = ordered_compare(left, right, ">=");
    else if (op == "in") ok = contains(right, left);
    else ok = !contains(right, left);
    if (!ok) return false;
    left = std::move(right);
  }
  return true;
}

Value Interpreter::eval_inner(const Expr& e, const FramePtr& frame) {
  switch (e.kind) {
    case ExprKind::Literal: return e.literal;
    case ExprKind::Name: return lookup(e.name, frame);
    case ExprKind::NSRef: return get_attr(lookup(e.name, frame), e.attr);
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      items.reserve(e.items.size());
      for (const auto& item : e.items) items.push_back(eval(*item, frame));
      return Value::list(std::move(items), e.kind == ExprKind::Tuple ? SeqKind::Tuple : SeqKind::List);
    }
    case ExprKind::Dict: {
      DictData d;
      for (const auto& [k, v] : e.pairs) {
        Value key = eval(*k, frame);
        require_hashable(key);
        d.set(std::move(key), eval(*v, frame));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::GetAttr: return get_attr(eval(*e.a, frame), e.name);
    case ExprKind::GetItem: {
      Value obj = eval(*e.a, frame);
      if (e.b->kind == ExprKind::Slice) {
        const Expr& s = *e.b;
        Value none = Value::none();
        return get_slice(obj, s.b ? eval(*s.b, frame) : none, s.c ? eval(*s.c, frame) : none,
                         s.d ? eval(*s.d, frame) : none);
      }
      return get_item(obj, eval(*e.b, frame));
    }
    case ExprKind::Slice: fail(ErrorKind::Unsupported, "a slice is only supported as a subscript");
    case ExprKind::Call: return eval_call(e, frame, nullptr);
    case ExprKind::Filter: return eval_filter(e, frame, nullptr);
    case ExprKind::Test: {
      Value value = eval(*e.a, frame);
      CallArgs args;
      eval_args(e, frame, args);
      if (!e.test) missing_filter_or_test(e);
      bool result = e.test->fn(*this, value, args);
      return Value::boolean(e.negated ? !result : result);
    }
    case ExprKind::Not: return Value::boolean(!truthy(eval(*e.a, frame)));
    case ExprKind::Neg: return unary_neg(eval(*e.a, frame));
    case ExprKind::Pos: return unary_pos(eval(*e.a, frame));
    case ExprKind::And: {
      Value left = eval(*e.a, frame);
      return truthy(left) ? eval(*e.b, frame) : left;
    }
    case ExprKind::Or: {
      Value left = eval(*e.a, frame);
      return truthy(left) ? left : eval(*e.b, frame);
    }
    case ExprKind::Binary: {
      Value l = eval(*e.a, frame);
      Value r = eval(*e.b, frame);
      const std::string& op = e.name;
      if (op == "+") return binary_add(l, r);
      if (op == "-") return binary_sub(l, r);
      if (op == "*") return binary_mul(l, r);
      if (op == "/") return binary_div(l, r);
      if (op == "//") return binary_floordiv(l, r);
      if (op == "%") return binary_mod(l, r);
      return binary_pow(l, r);
    }
    case ExprKind::Concat: {
      std::string out;
      for (const auto& item : e.items) out += to_str(eval(*item, frame));
      return Value::string(std::move(out));
    }
    case ExprKind::Compare: return Value::boolean(eval_compare(e, frame));
    case ExprKind::CondExpr: {
      if (truthy(eval(*e.a, frame))) return eval(*e.b, frame);
      if (e.c) return eval(*e.c, frame);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  fail(ErrorKind::Runtime, "unknown expression");
}

}  // namespace kiln::jinja
