// Renders a parsed template. Scoping follows jinja2: {% for %} bodies, macros, call blocks,
// {% with %} and block captures get their own frame (fresh for every loop iteration); {% if %}
// does not; macros see the frame they were defined in.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jinja/ast.h"
#include "jinja/value.h"

namespace kiln::jinja {

struct Frame {
  std::shared_ptr<Frame> parent;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* find(std::string_view name) const;
  void set(const std::string& name, Value value);
};
using FramePtr = std::shared_ptr<Frame>;

struct RenderLimits {
  size_t max_output_bytes = size_t{256} << 20;
  int max_call_depth = 200;              // nested macro calls (Python's recursion limit)
  int max_eval_depth = 1000;             // nested expression evaluations, across macro calls
  uint64_t max_steps = 20'000'000;       // loop iterations + calls, against runaway templates
};

class Interpreter {
 public:
  // `context` holds the render variables, `now` the instant strftime_now() formats.
  Interpreter(const DictData& context, const std::tm& now, RenderLimits limits = {});
  // Empties every frame a macro or loop captured and every namespace, so the reference
  // cycles they form (a frame holding a macro that holds the frame) are freed.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  std::string render(const StmtList& body);

  // Used by filters and callables.
  Value call(const Value& callee, CallArgs& args);
  Value call_filter(const std::string& name, const Value& value, const CallArgs& args);
  bool call_test(const std::string& name, const Value& value, const CallArgs& args);
  const std::tm& now() const { return now_; }
  void track_namespace(const std::shared_ptr<Object>& ns) { namespaces_.push_back(ns); }

  // Macros and recursive loops re-enter the interpreter.
  struct MacroDef {
    std::string name;
    const std::vector<std::string>* params;
    const std::vector<ExprPtr>* defaults;
    const StmtList* body;
    bool uses_caller, uses_varargs, uses_kwargs;
  };
  Value call_macro(const MacroDef& def, const FramePtr& closure, CallArgs& args);
  std::string run_loop(const Stmt& loop, const FramePtr& frame, const Value& iterable, int depth);

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec(const StmtList& body, const FramePtr& frame, std::string& out);
  Flow exec_stmt(const Stmt& stmt, const FramePtr& frame, std::string& out);
  Flow exec_if(const Stmt& stmt, const FramePtr& frame, std::string& out);
  void exec_call_block(const Stmt& stmt, const FramePtr& frame, std::string& out);
  std::string capture(const StmtList& body, const FramePtr& frame);

  Value eval(const Expr& e, const FramePtr& frame);
  Value eval_inner(const Expr& e, const FramePtr& frame);
  Value eval_call(const Expr& e, const FramePtr& frame, const Value* extra_caller);
  void eval_args(const Expr& e, const FramePtr& frame, CallArgs& out);
  Value eval_filter(const Expr& e, const FramePtr& frame, const Value* operand);
  bool eval_compare(const Expr& e, const FramePtr& frame);
  Value lookup(const std::string& name, const FramePtr& frame) const;
  [[noreturn]] static void missing_filter_or_test(const Expr& e);
  void assign(const Expr& target, const Value& value, const FramePtr& frame);

  void step();
  void append(std::string& out, std::string_view text);

  const FramePtr& capture_frame(const FramePtr& frame);

  FramePtr globals_;
  std::vector<std::weak_ptr<Frame>> captured_frames_;
  std::vector<std::weak_ptr<Object>> namespaces_;
  std::tm now_;
  RenderLimits limits_;
  int call_depth_ = 0;
  int eval_depth_ = 0;
  uint64_t steps_ = 0;
};

}  // namespace kiln::jinja
