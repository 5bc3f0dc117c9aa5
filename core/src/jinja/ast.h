// The parsed template: expression and statement nodes, shaped after jinja2.nodes.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace kiln::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct FilterDef;
struct TestDef;

enum class ExprKind {
  Literal,    // literal
  Name,       // name
  NSRef,      // name.attr as an assignment target
  List,       // items
  Tuple,      // items
  Dict,       // pairs
  GetAttr,    // a.name
  GetItem,    // a[b]
  Slice,      // a[b:c:d] (b, c, d may be null)
  Call,       // a(items, kwargs, *dyn_args, **dyn_kwargs)
  Filter,     // a|name(...); a is null in filter blocks
  Test,       // a is [not] name(...)
  Not,        // not a
  Neg,        // -a
  Pos,        // +a
  And,        // a and b
  Or,         // a or b
  Binary,     // a op b for + - * / // % **
  Concat,     // items joined with ~
  Compare,    // a op1 x1 op2 x2 ...
  CondExpr,   // b if a else c (c may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int column = 0;
  int depth = 1;  // of the expression tree below, bounded by the parser
  Value literal;
  std::string name;  // Name, NSRef, GetAttr, Filter, Test; operator for Binary
  std::string attr;  // NSRef attribute
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> items;
  std::vector<std::pair<ExprPtr, ExprPtr>> pairs;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args, dyn_kwargs;
  std::vector<std::pair<std::string, ExprPtr>> ops;  // Compare: "eq", "lt", "in", "notin", ...
  bool negated = false;                               // Test
  const FilterDef* filter = nullptr;
  const TestDef* test = nullptr;

  Expr(ExprKind k, int l, int c) : kind(k), line(l), column(c) {}
};

enum class StmtKind {
  Text,        // text
  Output,      // expr
  If,          // branches (cond, body), else_body
  For,         // target in expr [if cond] body else_body
  Set,         // target = expr
  SetBlock,    // target [| filter] body
  Macro,       // name(params=defaults) body
  CallBlock,   // call(params) expr body
  FilterBlock, // filter body
  With,        // with targets = values body
  Break,
  Continue,
  Scope,       // body rendered as is ({% generation %})
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  std::string name;
  ExprPtr expr, target, cond, filter;
  std::vector<std::pair<ExprPtr, StmtList>> branches;
  StmtList body, else_body;
  bool recursive = false;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // aligned to the last params
  std::vector<ExprPtr> targets, values;
  bool uses_caller = false, uses_varargs = false, uses_kwargs = false;

  Stmt(StmtKind k, int l) : kind(k), line(l) {}
};

}  // namespace kiln::jinja
