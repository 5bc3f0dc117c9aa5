#include "jinja/parser.h"

#include <algorithm>
#include <functional>
#include <set>

#include "jinja/builtins.h"
#include "jinja/errors.h"

namespace kiln::jinja {

namespace {

// Deeper nesting than this is refused (jinja2 would hit Python's recursion limit).
constexpr int kMaxDepth = 200;

const std::set<std::string> kUnsupportedTags = {"block",  "extends", "include", "import",
                                                "from",   "autoescape"};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  StmtList parse() {
    StmtList body = subparse({});
    if (cur().type != TokenType::Eof) fail_here("unexpected " + describe(cur()));
    validate_names(body, false);
    return body;
  }

 private:
  // ---- token stream ----
  const Token& cur() const { return toks_[pos_]; }
  const Token& look() const { return toks_[std::min(pos_ + 1, toks_.size() - 1)]; }
  void advance() {
    if (pos_ + 1 < toks_.size()) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == TokenType::Operator && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == TokenType::Name && cur().text == name; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    advance();
    return true;
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::Name:
      case TokenType::Operator: return "'" + t.text + "'";
      case TokenType::String: return "string";
      case TokenType::Integer: return "integer";
      case TokenType::Float: return "float";
      default: return "'" + std::string(token_type_name(t.type)) + "'";
    }
  }

  [[noreturn]] void fail_at(const Token& t, const std::string& message, ErrorKind kind = ErrorKind::Syntax) const {
    throw TemplateError(kind, message, t.line, t.column);
  }
  [[noreturn]] void fail_here(const std::string& message) const { fail_at(cur(), message); }

  void expect_op(const char* op) {
    if (!skip_op(op)) fail_here(std::string("expected token '") + op + "', got " + describe(cur()));
  }
  void expect_type(TokenType type) {
    if (cur().type != type)
      fail_here(std::string("expected token '") + token_type_name(type) + "', got " + describe(cur()));
    advance();
  }
  std::string expect_name() {
    if (cur().type != TokenType::Name) fail_here("expected token 'name', got " + describe(cur()));
    std::string name = cur().text;
    advance();
    return name;
  }
  void expect_keyword(const char* name) {
    if (!skip_name(name)) fail_here(std::string("expected token '") + name + "', got " + describe(cur()));
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p_(p) {
      if (++p_.depth_ > kMaxDepth) p_.fail_here("the template nests too deeply");
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  ExprPtr make(ExprKind kind, const Token& at) { return std::make_unique<Expr>(kind, at.line, at.column); }

  // Records how deep the finished node's tree is; operator chains (a + b + c ..., x|f|g ...)
  // build deep trees without deep parser recursion, and evaluating or freeing them recurses.
  ExprPtr seal(ExprPtr e) {
    int inner = 0;
    auto see = [&](const ExprPtr& c) {
      if (c) inner = std::max(inner, c->depth);
    };
    for (const ExprPtr* c : {&e->a, &e->b, &e->c, &e->d, &e->dyn_args, &e->dyn_kwargs}) see(*c);
    for (const auto& x : e->items) see(x);
    for (const auto& p : e->pairs) {
      see(p.first);
      see(p.second);
    }
    for (const auto& kw : e->kwargs) see(kw.second);
    for (const auto& op : e->ops) see(op.second);
    e->depth = inner + 1;
    if (e->depth > kMaxDepth) fail_at_node(*e, "the expression nests too deeply");
    return e;
  }

  [[noreturn]] void fail_at_node(const Expr& e, const std::string& message) const {
    throw TemplateError(ErrorKind::Syntax, message, e.line, e.column);
  }

  // ---- unknown filters and tests ----
  // jinja2 refuses an unknown filter or test when compiling, except inside an {% if %} (in the
  // same scope) or an inline if-expression, where only executing it fails.
  void check_expr(const Expr* e, bool soft) const {
    if (!e) return;
    if (e->kind == ExprKind::CondExpr) soft = true;
    bool missing = (e->kind == ExprKind::Filter && !e->filter) || (e->kind == ExprKind::Test && !e->test);
    if (missing && !soft) {
      bool is_filter = e->kind == ExprKind::Filter;
      std::string what = is_filter ? "filter" : "test";
      bool unimplemented = is_filter ? is_unimplemented_filter(e->name) : is_unimplemented_test(e->name);
      if (unimplemented)
        throw TemplateError(ErrorKind::Unsupported, "the '" + e->name + "' " + what + " is not supported by this template engine",
                            e->line, e->column);
      throw TemplateError(ErrorKind::Syntax, "No " + what + " named '" + e->name + "'.", e->line, e->column);
    }
    for (const Expr* child : {e->a.get(), e->b.get(), e->c.get(), e->d.get(), e->dyn_args.get(), e->dyn_kwargs.get()})
      check_expr(child, soft);
    for (const auto& x : e->items) check_expr(x.get(), soft);
    for (const auto& p : e->pairs) {
      check_expr(p.first.get(), soft);
      check_expr(p.second.get(), soft);
    }
    for (const auto& kw : e->kwargs) check_expr(kw.second.get(), soft);
    for (const auto& op : e->ops) check_expr(op.second.get(), soft);
  }

  void validate_names(const StmtList& body, bool soft) const {
    for (const auto& st : body) {
      switch (st->kind) {
        case StmtKind::If:
          for (const auto& [cond, branch] : st->branches) {
            check_expr(cond.get(), true);
            validate_names(branch, true);
          }
          validate_names(st->else_body, true);
          break;
        case StmtKind::For:
          check_expr(st->target.get(), soft);
          check_expr(st->expr.get(), soft);
          check_expr(st->cond.get(), false);
          validate_names(st->body, false);
          validate_names(st->else_body, false);
          break;
        case StmtKind::Macro:
        case StmtKind::CallBlock:
          for (const auto& d : st->defaults) check_expr(d.get(), false);
          check_expr(st->expr.get(), soft);
          validate_names(st->body, false);
          break;
        case StmtKind::FilterBlock:
        case StmtKind::SetBlock:
          check_expr(st->target.get(), soft);
          check_expr(st->filter.get(), false);
          validate_names(st->body, false);
          break;
        case StmtKind::With:
          for (const auto& v : st->values) check_expr(v.get(), soft);
          validate_names(st->body, false);
          break;
        case StmtKind::Scope: validate_names(st->body, false); break;
        default:
          check_expr(st->expr.get(), soft);
          check_expr(st->target.get(), soft);
          break;
      }
    }
  }

  // ---- statements ----
  // jinja2's wording for an unknown tag (`tag`) or an unexpected end of template (null).
  std::string unknown_tag_message(const std::string* tag) const {
    std::string message = tag ? "Encountered unknown tag '" + *tag + "'." : "Unexpected end of template.";
    if (!end_stack_.empty()) {
      std::string looking;
      for (const auto& name : end_stack_.back()) looking += (looking.empty() ? "'" : " or '") + name + "'";
      bool expected = false;
      for (const auto& level : end_stack_)
        for (const auto& name : level) expected = expected || (tag && *tag == name);
      if (expected)
        message += " You probably made a nesting mistake. Jinja is expecting this tag, but currently looking for " +
                   looking + ".";
      else
        message += " Jinja was looking for the following tags: " + looking + ".";
    }
    if (!tag_stack_.empty()) message += " The innermost block that needs to be closed is '" + tag_stack_.back() + "'.";
    return message;
  }

  StmtList subparse(const std::vector<std::string>& end_tokens) {
    DepthGuard guard(*this);
    struct EndStackGuard {
      EndStackGuard(std::vector<std::vector<std::string>>& stack, const std::vector<std::string>& tokens)
          : stack_(stack), pushed_(!tokens.empty()) {
        if (pushed_) stack_.push_back(tokens);
      }
      ~EndStackGuard() {
        if (pushed_) stack_.pop_back();
      }
      std::vector<std::vector<std::string>>& stack_;
      bool pushed_;
    } end_guard(end_stack_, end_tokens);
    StmtList body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::Eof) {
        if (!end_tokens.empty()) fail_at(t, unknown_tag_message(nullptr));
        return body;
      }
      if (t.type == TokenType::Data) {
        auto s = std::make_unique<Stmt>(StmtKind::Text, t.line);
        s->text = t.text;
        body.push_back(std::move(s));
        advance();
      } else if (t.type == TokenType::VariableBegin) {
        auto s = std::make_unique<Stmt>(StmtKind::Output, t.line);
        advance();
        s->expr = parse_tuple(false, true, {}, false, false);
        expect_type(TokenType::VariableEnd);
        body.push_back(std::move(s));
      } else if (t.type == TokenType::BlockBegin) {
        advance();
        if (cur().type == TokenType::Name) {
          for (const auto& e : end_tokens)
            if (cur().text == e) return body;
        }
        StmtList stmts = parse_statement();
        for (auto& s : stmts) body.push_back(std::move(s));
        expect_type(TokenType::BlockEnd);
      } else {
        fail_at(t, "unexpected " + describe(t));
      }
    }
  }

  StmtList parse_statements(const std::vector<std::string>& end_tokens, bool drop_needle) {
    skip_op(":");
    expect_type(TokenType::BlockEnd);
    StmtList body = subparse(end_tokens);
    if (drop_needle) advance();
    return body;
  }

  StmtList parse_statement() {
    const Token& t = cur();
    if (t.type != TokenType::Name) fail_at(t, "tag name expected");
    std::string tag = t.text;
    StmtList out;
    tag_stack_.push_back(tag);
    if (tag == "if") out.push_back(parse_if());
    else if (tag == "for") out.push_back(parse_for());
    else if (tag == "set") out.push_back(parse_set());
    else if (tag == "macro") out.push_back(parse_macro());
    else if (tag == "call") out.push_back(parse_call_block());
    else if (tag == "filter") out.push_back(parse_filter_block());
    else if (tag == "with") out.push_back(parse_with());
    else if (tag == "print") out = parse_print();
    else if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail_at(t, "'" + tag + "' is only allowed inside a for loop");
      out.push_back(std::make_unique<Stmt>(tag == "break" ? StmtKind::Break : StmtKind::Continue, t.line));
      advance();
    } else if (tag == "generation") {
      auto s = std::make_unique<Stmt>(StmtKind::Scope, t.line);
      advance();
      s->body = parse_statements({"endgeneration"}, true);
      out.push_back(std::move(s));
    } else if (kUnsupportedTags.count(tag)) {
      fail_at(t, "the '" + tag + "' tag is not supported: chat templates render without a template loader",
              ErrorKind::Unsupported);
    } else {
      tag_stack_.pop_back();
      fail_at(t, unknown_tag_message(&tag));
    }
    tag_stack_.pop_back();
    return out;
  }

  StmtPtr parse_if() {
    auto s = std::make_unique<Stmt>(StmtKind::If, cur().line);
    advance();
    while (true) {
      ExprPtr test = parse_tuple(false, false, {}, false, false);
      StmtList body = parse_statements({"elif", "else", "endif"}, false);
      s->branches.emplace_back(std::move(test), std::move(body));
      std::string which = cur().text;
      advance();
      if (which == "elif") continue;
      if (which == "else") s->else_body = parse_statements({"endif"}, true);
      break;
    }
    return s;
  }

  StmtPtr parse_for() {
    auto s = std::make_unique<Stmt>(StmtKind::For, cur().line);
    advance();
    s->target = parse_assign_target(true, false, {"in"}, false);
    expect_keyword("in");
    s->expr = parse_tuple(false, false, {"recursive"}, false, false);
    if (skip_name("if")) s->cond = parse_expression(true);
    s->recursive = skip_name("recursive");
    ++loop_depth_;
    s->body = parse_statements({"endfor", "else"}, false);
    --loop_depth_;
    std::string which = cur().text;
    advance();
    if (which == "else") s->else_body = parse_statements({"endfor"}, true);
    return s;
  }

  StmtPtr parse_set() {
    int line = cur().line;
    advance();
    ExprPtr target = parse_assign_target(true, false, {}, true);
    if (skip_op("=")) {
      auto s = std::make_unique<Stmt>(StmtKind::Set, line);
      s->target = std::move(target);
      s->expr = parse_tuple(false, true, {}, false, false);
      return s;
    }
    auto s = std::make_unique<Stmt>(StmtKind::SetBlock, line);
    s->target = std::move(target);
    s->filter = parse_filter(nullptr, false);
    s->body = parse_statements({"endset"}, true);
    return s;
  }

  void parse_signature(Stmt& s) {
    expect_op("(");
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      const Token& at = cur();
      std::string name = expect_name();
      check_assignable_name(at, name);
      if (skip_op("=")) {
        s.defaults.push_back(parse_expression(true));
      } else if (!s.defaults.empty()) {
        fail_at(at, "non-default argument follows default argument");
      }
      s.params.push_back(name);
    }
    expect_op(")");
  }

  void find_special_names(Stmt& s) {
    std::function<void(const Expr*)> visit_expr = [&](const Expr* e) {
      if (!e) return;
      if (e->kind == ExprKind::Name) {
        if (e->name == "caller") s.uses_caller = true;
        if (e->name == "varargs") s.uses_varargs = true;
        if (e->name == "kwargs") s.uses_kwargs = true;
      }
      for (const Expr* child : {e->a.get(), e->b.get(), e->c.get(), e->d.get(), e->dyn_args.get(), e->dyn_kwargs.get()})
        visit_expr(child);
      for (const auto& x : e->items) visit_expr(x.get());
      for (const auto& p : e->pairs) {
        visit_expr(p.first.get());
        visit_expr(p.second.get());
      }
      for (const auto& kw : e->kwargs) visit_expr(kw.second.get());
      for (const auto& op : e->ops) visit_expr(op.second.get());
    };
    std::function<void(const StmtList&)> visit_body = [&](const StmtList& body) {
      for (const auto& st : body) {
        for (const Expr* e : {st->expr.get(), st->target.get(), st->cond.get(), st->filter.get()}) visit_expr(e);
        for (const auto& br : st->branches) {
          visit_expr(br.first.get());
          visit_body(br.second);
        }
        for (const auto& e : st->defaults) visit_expr(e.get());
        for (const auto& e : st->values) visit_expr(e.get());
        visit_body(st->body);
        visit_body(st->else_body);
      }
    };
    visit_body(s.body);
    for (const auto& e : s.defaults) visit_expr(e.get());
  }

  StmtPtr parse_macro() {
    auto s = std::make_unique<Stmt>(StmtKind::Macro, cur().line);
    advance();
    const Token& at = cur();
    s->name = expect_name();
    check_assignable_name(at, s->name);
    parse_signature(*s);
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements({"endmacro"}, true);
    loop_depth_ = saved;
    find_special_names(*s);
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = std::make_unique<Stmt>(StmtKind::CallBlock, cur().line);
    const Token& start = cur();
    advance();
    if (is_op("(")) parse_signature(*s);
    s->expr = parse_expression(true);
    if (s->expr->kind != ExprKind::Call) fail_at(start, "expected call");
    int saved = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements({"endcall"}, true);
    loop_depth_ = saved;
    find_special_names(*s);
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = std::make_unique<Stmt>(StmtKind::FilterBlock, cur().line);
    advance();
    s->filter = parse_filter(nullptr, true);
    s->body = parse_statements({"endfilter"}, true);
    return s;
  }

  StmtPtr parse_with() {
    auto s = std::make_unique<Stmt>(StmtKind::With, cur().line);
    advance();
    while (cur().type != TokenType::BlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(parse_assign_target(true, false, {}, false));
      expect_op("=");
      s->values.push_back(parse_expression(true));
    }
    s->body = parse_statements({"endwith"}, true);
    return s;
  }

  StmtList parse_print() {
    StmtList out;
    advance();
    while (cur().type != TokenType::BlockEnd) {
      if (!out.empty()) expect_op(",");
      auto s = std::make_unique<Stmt>(StmtKind::Output, cur().line);
      s->expr = parse_expression(true);
      out.push_back(std::move(s));
    }
    return out;
  }

  void check_assignable_name(const Token& at, const std::string& name) {
    static const std::set<std::string> kConstants = {"true", "false", "none", "True", "False", "None"};
    if (kConstants.count(name)) fail_at(at, "can't assign to 'const'");
  }

  bool assignable(const Expr& e) const {
    if (e.kind == ExprKind::Name || e.kind == ExprKind::NSRef) return true;
    if (e.kind == ExprKind::Tuple) {
      for (const auto& item : e.items)
        if (!assignable(*item)) return false;
      return true;
    }
    return false;
  }

  ExprPtr parse_assign_target(bool with_tuple, bool name_only, const std::vector<std::string>& extra_end,
                              bool with_namespace) {
    const Token& at = cur();
    ExprPtr target;
    if (name_only) {
      target = make(ExprKind::Name, at);
      target->name = expect_name();
    } else if (with_tuple) {
      target = parse_tuple(true, true, extra_end, false, with_namespace);
    } else {
      target = parse_primary(with_namespace);
    }
    if (!assignable(*target)) {
      std::string what = target->kind == ExprKind::Literal ? "const" : "expression";
      fail_at(at, "can't assign to '" + what + "'");
    }
    return target;
  }

  // ---- expressions ----
  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  ExprPtr parse_condexpr() {
    DepthGuard guard(*this);
    const Token& start = cur();
    ExprPtr expr1 = parse_or();
    while (skip_name("if")) {
      ExprPtr expr2 = parse_or();
      ExprPtr expr3;
      if (skip_name("else")) expr3 = parse_condexpr();
      auto node = make(ExprKind::CondExpr, start);
      node->a = std::move(expr2);
      node->b = std::move(expr1);
      node->c = std::move(expr3);
      expr1 = seal(std::move(node));
    }
    return expr1;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      auto node = make(ExprKind::Or, cur());
      advance();
      node->a = std::move(left);
      node->b = parse_and();
      left = seal(std::move(node));
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      auto node = make(ExprKind::And, cur());
      advance();
      node->a = std::move(left);
      node->b = parse_not();
      left = seal(std::move(node));
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto node = make(ExprKind::Not, cur());
      advance();
      node->a = parse_not();
      return seal(std::move(node));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr expr = parse_math1();
    std::vector<std::pair<std::string, ExprPtr>> ops;
    while (true) {
      static const std::pair<const char*, const char*> kOps[] = {
          {"==", "eq"}, {"!=", "ne"}, {"<", "lt"}, {"<=", "lteq"}, {">", "gt"}, {">=", "gteq"}};
      bool found = false;
      for (const auto& [sym, op] : kOps) {
        if (is_op(sym)) {
          advance();
          ops.emplace_back(op, parse_math1());
          found = true;
          break;
        }
      }
      if (found) continue;
      if (skip_name("in")) {
        ops.emplace_back("in", parse_math1());
      } else if (is_name("not") && look().type == TokenType::Name && look().text == "in") {
        advance();
        advance();
        ops.emplace_back("notin", parse_math1());
      } else {
        break;
      }
    }
    if (ops.empty()) return expr;
    auto node = make(ExprKind::Compare, start);
    node->a = std::move(expr);
    node->ops = std::move(ops);
    return seal(std::move(node));
  }

  ExprPtr binary(const Token& at, const char* op, ExprPtr left, ExprPtr right) {
    auto node = make(ExprKind::Binary, at);
    node->name = op;
    node->a = std::move(left);
    node->b = std::move(right);
    return seal(std::move(node));
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token& at = cur();
      std::string op = at.text;
      advance();
      left = binary(at, op == "+" ? "+" : "-", std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const Token& start = cur();
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto node = make(ExprKind::Concat, start);
    node->items.push_back(std::move(first));
    while (skip_op("~")) node->items.push_back(parse_math2());
    return seal(std::move(node));
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& at = cur();
      std::string op = at.text;
      advance();
      static const char* const kNames[] = {"*", "/", "//", "%"};
      const char* name = op == "*" ? kNames[0] : op == "/" ? kNames[1] : op == "//" ? kNames[2] : kNames[3];
      left = binary(at, name, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token& at = cur();
      advance();
      left = binary(at, "**", std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(is_op("-") ? ExprKind::Neg : ExprKind::Pos, cur());
      advance();
      node->a = parse_unary(false);
      node = seal(std::move(node));
    } else {
      node = parse_primary(false);
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary(bool with_namespace) {
    DepthGuard guard(*this);
    const Token& t = cur();
    switch (t.type) {
      case TokenType::Name: {
        advance();
        if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
          auto node = make(ExprKind::Literal, t);
          node->literal = Value::boolean(t.text == "true" || t.text == "True");
          return node;
        }
        if (t.text == "none" || t.text == "None") {
          auto node = make(ExprKind::Literal, t);
          node->literal = Value::none();
          return node;
        }
        if (with_namespace && is_op(".")) {
          advance();
          auto node = make(ExprKind::NSRef, t);
          node->name = t.text;
          node->attr = expect_name();
          return node;
        }
        auto node = make(ExprKind::Name, t);
        node->name = t.text;
        return node;
      }
      case TokenType::String: {
        std::string text;
        while (cur().type == TokenType::String) {
          text += cur().text;
          advance();
        }
        auto node = make(ExprKind::Literal, t);
        node->literal = Value::string(std::move(text));
        return node;
      }
      case TokenType::Integer:
      case TokenType::Float: {
        auto node = make(ExprKind::Literal, t);
        node->literal = t.type == TokenType::Integer ? Value::integer(t.int_value) : Value::floating(t.float_value);
        advance();
        return node;
      }
      case TokenType::Operator:
        if (t.text == "(") {
          advance();
          ExprPtr node = parse_tuple(false, true, {}, true, false);
          expect_op(")");
          return node;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    fail_at(t, "unexpected " + describe(t));
  }

  bool is_tuple_end(const std::vector<std::string>& extra_end) const {
    if (cur().type == TokenType::VariableEnd || cur().type == TokenType::BlockEnd || is_op(")")) return true;
    if (cur().type == TokenType::Name)
      for (const auto& e : extra_end)
        if (cur().text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string>& extra_end,
                      bool explicit_parentheses, bool with_namespace) {
    const Token& start = cur();
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      args.push_back(simplified ? parse_primary(with_namespace) : parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parentheses) fail_here("Expected an expression, got " + describe(cur()));
    }
    auto node = make(ExprKind::Tuple, start);
    node->items = std::move(args);
    return seal(std::move(node));
  }

  ExprPtr parse_list() {
    auto node = make(ExprKind::List, cur());
    expect_op("[");
    while (!is_op("]")) {
      if (!node->items.empty()) expect_op(",");
      if (is_op("]")) break;
      node->items.push_back(parse_expression(true));
    }
    expect_op("]");
    return seal(std::move(node));
  }

  ExprPtr parse_dict() {
    auto node = make(ExprKind::Dict, cur());
    expect_op("{");
    while (!is_op("}")) {
      if (!node->pairs.empty()) expect_op(",");
      if (is_op("}")) break;
      ExprPtr key = parse_expression(true);
      expect_op(":");
      ExprPtr value = parse_expression(true);
      node->pairs.emplace_back(std::move(key), std::move(value));
    }
    expect_op("}");
    return seal(std::move(node));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else break;
    }
    return node;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter(std::move(node), false);
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else break;
    }
    return node;
  }

  ExprPtr parse_subscript(ExprPtr obj) {
    DepthGuard guard(*this);
    const Token& t = cur();
    advance();
    if (t.text == ".") {
      const Token& attr = cur();
      if (attr.type == TokenType::Name) {
        advance();
        auto node = make(ExprKind::GetAttr, t);
        node->a = std::move(obj);
        node->name = attr.text;
        return seal(std::move(node));
      }
      if (attr.type != TokenType::Integer) fail_at(attr, "expected name or number");
      advance();
      auto key = make(ExprKind::Literal, attr);
      key->literal = Value::integer(attr.int_value);
      auto node = make(ExprKind::GetItem, t);
      node->a = std::move(obj);
      node->b = std::move(key);
      return seal(std::move(node));
    }
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    auto node = make(ExprKind::GetItem, t);
    node->a = std::move(obj);
    if (args.size() == 1) {
      node->b = std::move(args[0]);
    } else {
      auto tuple = make(ExprKind::Tuple, t);
      tuple->items = std::move(args);
      node->b = seal(std::move(tuple));
    }
    return seal(std::move(node));
  }

  ExprPtr parse_subscribed() {
    const Token& start = cur();
    std::vector<ExprPtr> args;
    if (is_op(":")) {
      advance();
      args.push_back(nullptr);
    } else {
      ExprPtr node = parse_expression(true);
      if (!is_op(":")) return node;
      advance();
      args.push_back(std::move(node));
    }
    if (is_op(":")) args.push_back(nullptr);
    else if (!is_op("]") && !is_op(",")) args.push_back(parse_expression(true));
    else args.push_back(nullptr);
    if (is_op(":")) {
      advance();
      if (!is_op("]") && !is_op(",")) args.push_back(parse_expression(true));
      else args.push_back(nullptr);
    } else {
      args.push_back(nullptr);
    }
    auto node = make(ExprKind::Slice, start);
    node->b = std::move(args[0]);
    node->c = std::move(args[1]);
    node->d = std::move(args[2]);
    return seal(std::move(node));
  }

  void parse_call_args(Expr& node) {
    const Token& open = cur();
    expect_op("(");
    bool require_comma = false;
    auto ensure = [&](bool ok) {
      if (!ok) fail_at(open, "invalid syntax for function call expression");
    };
    while (!is_op(")")) {
      if (require_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*")) {
        ensure(!node.dyn_args && !node.dyn_kwargs);
        advance();
        node.dyn_args = parse_expression(true);
      } else if (is_op("**")) {
        ensure(!node.dyn_kwargs);
        advance();
        node.dyn_kwargs = parse_expression(true);
      } else if (cur().type == TokenType::Name && look().type == TokenType::Operator && look().text == "=") {
        ensure(!node.dyn_kwargs);
        std::string key = cur().text;
        advance();
        advance();
        node.kwargs.emplace_back(key, parse_expression(true));
      } else {
        ensure(!node.dyn_args && !node.dyn_kwargs && node.kwargs.empty());
        node.items.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    DepthGuard guard(*this);
    auto node = make(ExprKind::Call, cur());
    node->a = std::move(callee);
    parse_call_args(*node);
    return seal(std::move(node));
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (is_op(".")) {
      advance();
      name += '.';
      name += expect_name();
    }
    return name;
  }

  ExprPtr parse_filter(ExprPtr node, bool start_inline) {
    while (is_op("|") || start_inline) {
      DepthGuard guard(*this);
      if (!start_inline) advance();
      const Token& at = cur();
      std::string name = dotted_name();
      auto filter = make(ExprKind::Filter, at);
      filter->name = name;
      filter->filter = find_filter(name);  // unknown: checked by validate_names()
      filter->a = std::move(node);
      if (is_op("(")) parse_call_args(*filter);
      node = seal(std::move(filter));
      start_inline = false;
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    DepthGuard guard(*this);
    const Token& is_tok = cur();
    advance();
    bool negated = skip_name("not");
    std::string name = dotted_name();
    auto test = make(ExprKind::Test, is_tok);
    test->name = name;
    test->negated = negated;
    test->test = find_test(name);  // unknown: checked by validate_names()
    test->a = std::move(node);
    const Token& t = cur();
    bool arg_start = t.type == TokenType::Name || t.type == TokenType::String || t.type == TokenType::Integer ||
                     t.type == TokenType::Float || is_op("[") || is_op("{");
    if (is_op("(")) {
      parse_call_args(*test);
    } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail_here("You cannot chain multiple tests with is");
      test->items.push_back(parse_postfix(parse_primary(false)));
    }
    return seal(std::move(test));
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  std::vector<std::string> tag_stack_;
  std::vector<std::vector<std::string>> end_stack_;
};

}  // namespace

StmtList parse_template(const std::string& source, const LexerOptions& options) {
  Parser parser(tokenize(source, options));
  return parser.parse();
}

}  // namespace kiln::jinja
