// The errors the Jinja engine raises. Each carries the Python exception class jinja2 would
// raise in the same situation (TypeError, UndefinedError, ...) so messages read the same, and
// the template line once known.
#pragma once

#include <cstddef>
#include <string>

#include "kiln/error.h"

namespace kiln::jinja {

enum class ErrorKind {
  Syntax,         // TemplateSyntaxError / TemplateAssertionError: the template does not parse
  Undefined,      // UndefinedError: an undefined value was used
  Type,           // TypeError
  Value,          // ValueError
  ZeroDivision,   // ZeroDivisionError
  Security,       // SecurityError: the sandbox refuses (e.g. list.append)
  Runtime,        // TemplateRuntimeError and friends
  Overflow,       // OverflowError / resource limits
  Assertion,      // AssertionError (a filter's argument check)
  Unsupported,    // a real Jinja feature this engine does not implement
  Raised,         // raise_exception() called by the template
};

const char* error_kind_name(ErrorKind kind);

class TemplateError : public kiln::Error {
 public:
  TemplateError(ErrorKind kind, std::string message, int line = 0, int column = 0);

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  int line() const { return line_; }
  int column() const { return column_; }
  // Returns a copy that knows its position (keeps an already known one).
  TemplateError at(int line, int column = 0) const;

 private:
  static std::string describe(ErrorKind kind, const std::string& message, int line, int column);

  ErrorKind kind_;
  std::string message_;
  int line_;
  int column_;
};

[[noreturn]] void fail(ErrorKind kind, const std::string& message);

// Strings a template builds (repetition, padding, replace, indent, tojson) stay below this;
// Python would run out of memory instead.
constexpr size_t kMaxStringBytes = size_t{256} << 20;
// Raises OverflowError when a result of `bytes` would exceed kMaxStringBytes.
void check_result_size(double bytes, const char* what);
[[noreturn]] inline void type_error(const std::string& message) { fail(ErrorKind::Type, message); }

}  // namespace kiln::jinja
