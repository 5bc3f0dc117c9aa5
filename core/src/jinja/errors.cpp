#include "jinja/errors.h"

namespace kiln::jinja {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Syntax: return "TemplateSyntaxError";
    case ErrorKind::Undefined: return "UndefinedError";
    case ErrorKind::Type: return "TypeError";
    case ErrorKind::Value: return "ValueError";
    case ErrorKind::ZeroDivision: return "ZeroDivisionError";
    case ErrorKind::Security: return "SecurityError";
    case ErrorKind::Runtime: return "TemplateRuntimeError";
    case ErrorKind::Overflow: return "OverflowError";
    case ErrorKind::Assertion: return "AssertionError";
    case ErrorKind::Unsupported: return "UnsupportedFeature";
    case ErrorKind::Raised: return "TemplateError";
  }
  return "TemplateError";
}

TemplateError::TemplateError(ErrorKind kind, std::string message, int line, int column)
    : kiln::Error(describe(kind, message, line, column)),
      kind_(kind),
      message_(std::move(message)),
      line_(line),
      column_(column) {}

TemplateError TemplateError::at(int line, int column) const {
  if (line_ > 0) return *this;
  return TemplateError(kind_, message_, line, column);
}

std::string TemplateError::describe(ErrorKind kind, const std::string& message, int line,
                                    int column) {
  // raise_exception's text is the template author's message: keep it verbatim.
  if (kind == ErrorKind::Raised) return message;
  std::string where;
  if (line > 0) {
    where = "chat template line " + std::to_string(line);
    if (column > 0) where += ", column " + std::to_string(column);
    where += ": ";
  }
  return where + error_kind_name(kind) + ": " + message;
}

void fail(ErrorKind kind, const std::string& message) { throw TemplateError(kind, message); }

void check_result_size(double bytes, const char* what) {
  if (bytes > static_cast<double>(kMaxStringBytes))
    fail(ErrorKind::Overflow, std::string(what) + " result is too large (over " + std::to_string(kMaxStringBytes >> 20) +
                                  " MiB)");
}

}  // namespace kiln::jinja
