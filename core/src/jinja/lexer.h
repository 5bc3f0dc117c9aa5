// Splits a template into tokens exactly as jinja2's lexer does with trim_blocks and
// lstrip_blocks on: template data, {{ }} / {% %} delimiters, and the names, literals and
// operators between them. Comments vanish; whitespace control (-, +) is applied here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::jinja {

enum class TokenType {
  Data,
  VariableBegin,
  VariableEnd,
  BlockBegin,
  BlockEnd,
  Name,
  String,
  Integer,
  Float,
  Operator,
  Eof,
};

struct Token {
  TokenType type;
  std::string text;  // data, name, unescaped string, or operator spelling
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
  int column = 1;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws TemplateError (Syntax) with line and column on malformed input.
std::vector<Token> tokenize(const std::string& source, const LexerOptions& options = {});

const char* token_type_name(TokenType type);

}  // namespace kiln::jinja
