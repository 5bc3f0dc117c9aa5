// Builds the statement tree from tokens with jinja2's grammar and operator precedence.
// Unknown filters/tests and tags fail here, as jinja2 fails when compiling.
#pragma once

#include <string>

#include "jinja/ast.h"
#include "jinja/lexer.h"

namespace kiln::jinja {

// Throws TemplateError (Syntax or Unsupported) with line and column.
StmtList parse_template(const std::string& source, const LexerOptions& options = {});

}  // namespace kiln::jinja
