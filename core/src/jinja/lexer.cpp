#include "jinja/lexer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "jinja/errors.h"
#include "jinja/unicode.h"

namespace kiln::jinja {

const char* token_type_name(TokenType type) {
  switch (type) {
    case TokenType::Data: return "template data";
    case TokenType::VariableBegin: return "begin of print statement";
    case TokenType::VariableEnd: return "end of print statement";
    case TokenType::BlockBegin: return "begin of statement block";
    case TokenType::BlockEnd: return "end of statement block";
    case TokenType::Name: return "name";
    case TokenType::String: return "string";
    case TokenType::Integer: return "integer";
    case TokenType::Float: return "float";
    case TokenType::Operator: return "operator";
    case TokenType::Eof: return "end of template";
  }
  return "token";
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// jinja normalizes \r\n and \r to \n and drops one trailing newline.
std::string normalize_source(const std::string& source, bool keep_trailing_newline) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!keep_trailing_newline && !out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, const LexerOptions& options) : src_(std::move(source)), opt_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    Token eof{TokenType::Eof, "", 0, 0, 0, 0};
    locate(src_.size(), eof);
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  enum class TagKind { Variable, Block, Comment, Raw };

  void locate(size_t at, Token& t) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), at);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    t.line = static_cast<int>(line);
    t.column = static_cast<int>(at - line_starts_[line - 1] + 1);
  }

  [[noreturn]] void error(size_t at, const std::string& message) const {
    Token t;
    locate(at, t);
    throw TemplateError(ErrorKind::Syntax, message, t.line, t.column);
  }

  void emit(TokenType type, std::string text, size_t at) {
    Token t{type, std::move(text), 0, 0, 0, 0};
    locate(at, t);
    tokens_.push_back(std::move(t));
  }

  bool starts_with(size_t at, const char* s) const {
    return src_.compare(at, std::char_traits<char>::length(s), s) == 0;
  }

  // Length of the Unicode whitespace run at `at`, in bytes.
  size_t whitespace_run(size_t at) const {
    size_t i = at;
    while (i < src_.size()) {
      unsigned char b = static_cast<unsigned char>(src_[i]);
      if (b < 0x80) {
        if (!py_isspace(b)) break;
        ++i;
        continue;
      }
      size_t len = (b >= 0xF0) ? 4 : (b >= 0xE0) ? 3 : 2;
      std::u32string cp = utf8_decode(std::string_view(src_).substr(i, len));
      if (cp.size() != 1 || !py_isspace(cp[0])) break;
      i += len;
    }
    return i - at;
  }

  // Length of a `{% raw %}` opener at `at` (sign included), 0 when there is none.
  size_t raw_opener(size_t at) const {
    size_t i = at + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    i += whitespace_run(i);
    if (!starts_with(i, "raw")) return 0;
    i += 3;
    i += whitespace_run(i);
    if (starts_with(i, "-%}")) return i + 3 + whitespace_run(i + 3) - at;
    if (starts_with(i, "%}")) return i + 2 - at;
    return 0;
  }

  static std::string rstrip_unicode(const std::string& text) {
    std::u32string cps = utf8_decode(text);
    size_t end = cps.size();
    while (end > 0 && py_isspace(cps[end - 1])) --end;
    return utf8_encode(std::u32string_view(cps).substr(0, end));
  }

  static bool all_whitespace(std::string_view text) {
    if (text.empty()) return false;
    for (char32_t c : utf8_decode(text))
      if (!py_isspace(c)) return false;
    return true;
  }

  // Template data before a tag, with the tag's whitespace control applied.
  void emit_data_before(size_t start, size_t end, char sign, bool lstrip_applies) {
    std::string text = src_.substr(start, end - start);
    if (sign == '-') {
      text = rstrip_unicode(text);
    } else if (sign != '+' && opt_.lstrip_blocks && lstrip_applies) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if ((l_pos > 0 || line_starting_) && all_whitespace(std::string_view(text).substr(l_pos)))
        text.resize(l_pos);
    }
    if (!text.empty()) emit(TokenType::Data, std::move(text), start);
  }

  void lex_root() {
    size_t i = pos_;
    TagKind kind = TagKind::Block;
    size_t opener = 0;
    for (; i + 1 < src_.size(); ++i) {
      if (src_[i] != '{') continue;
      char next = src_[i + 1];
      if (next == '%') {
        size_t raw = raw_opener(i);
        kind = raw ? TagKind::Raw : TagKind::Block;
        opener = raw ? raw : 2;
        break;
      }
      if (next == '{' || next == '#') {
        kind = next == '{' ? TagKind::Variable : TagKind::Comment;
        opener = 2;
        break;
      }
    }
    if (opener == 0) {  // no more tags: the rest is data
      emit(TokenType::Data, src_.substr(pos_), pos_);
      line_starting_ = src_.back() == '\n';
      pos_ = src_.size();
      return;
    }
    char sign = 0;
    if (i + 2 < src_.size() && (src_[i + 2] == '-' || src_[i + 2] == '+')) sign = src_[i + 2];
    if (kind != TagKind::Raw && sign) opener = 3;
    emit_data_before(pos_, i, sign, kind != TagKind::Variable);
    size_t end = i + opener;
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    switch (kind) {
      case TagKind::Comment: lex_comment(i); break;
      case TagKind::Raw: lex_raw(i); break;
      case TagKind::Block:
        emit(TokenType::BlockBegin, "{%", i);
        lex_tag(TagKind::Block, i);
        break;
      case TagKind::Variable:
        emit(TokenType::VariableBegin, "{{", i);
        lex_tag(TagKind::Variable, i);
        break;
    }
  }

  void lex_comment(size_t start) {
    for (size_t j = pos_; j < src_.size(); ++j) {
      size_t end = 0;
      if (starts_with(j, "+#}")) {
        end = j + 3;
      } else if (starts_with(j, "-#}")) {
        end = j + 3 + whitespace_run(j + 3);
      } else if (starts_with(j, "#}")) {
        end = j + 2;
        if (opt_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
      }
      if (end) {
        line_starting_ = end > pos_ && src_[end - 1] == '\n';
        pos_ = end;
        return;
      }
    }
    error(start, "Missing end of comment tag");
  }

  void lex_raw(size_t start) {
    for (size_t j = pos_; j + 1 < src_.size(); ++j) {
      if (src_[j] != '{' || src_[j + 1] != '%') continue;
      size_t k = j + 2;
      char sign = 0;
      if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) sign = src_[k++];
      k += whitespace_run(k);
      if (!starts_with(k, "endraw")) continue;
      k += 6;
      k += whitespace_run(k);
      size_t end = 0;
      if (starts_with(k, "+%}")) {
        end = k + 3;
      } else if (starts_with(k, "-%}")) {
        end = k + 3 + whitespace_run(k + 3);
      } else if (starts_with(k, "%}")) {
        end = k + 2;
        if (opt_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
      } else {
        continue;
      }
      emit_data_before(pos_, j, sign, true);
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return;
    }
    error(start, "Missing end of raw directive");
  }

  // Length of `(\d+_)*\d+` at `at`, 0 when absent.
  size_t digit_group(size_t at) const {
    size_t i = at;
    if (i >= src_.size() || !is_digit(src_[i])) return 0;
    while (true) {
      while (i < src_.size() && is_digit(src_[i])) ++i;
      if (i + 1 < src_.size() && src_[i] == '_' && is_digit(src_[i + 1])) {
        ++i;
        continue;
      }
      return i - at;
    }
  }

  size_t match_float(size_t at) const {
    if (at > 0 && src_[at - 1] == '.') return 0;
    size_t i = at + digit_group(at);
    if (i == at) return 0;
    size_t frac_end = i;
    if (i < src_.size() && src_[i] == '.') {
      size_t g = digit_group(i + 1);
      if (g) frac_end = i + 1 + g;
    }
    size_t e = frac_end;
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t k = e + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      size_t g = digit_group(k);
      if (g) return k + g - at;
    }
    return frac_end > i ? frac_end - at : 0;
  }

  size_t match_integer(size_t at) const {
    auto prefixed = [&](char lower, auto valid) -> size_t {
      if (at + 1 >= src_.size() || src_[at] != '0' || (src_[at + 1] | 0x20) != lower) return 0;
      size_t i = at + 2;
      size_t digits = 0;
      while (i < src_.size()) {
        size_t k = i;
        if (src_[k] == '_') ++k;
        if (k < src_.size() && valid(src_[k])) {
          i = k + 1;
          ++digits;
        } else {
          break;
        }
      }
      return digits ? i - at : 0;
    };
    if (size_t n = prefixed('b', [](char c) { return c == '0' || c == '1'; })) return n;
    if (size_t n = prefixed('o', [](char c) { return c >= '0' && c <= '7'; })) return n;
    if (size_t n = prefixed('x', [](char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }))
      return n;
    if (at >= src_.size() || !is_digit(src_[at])) return 0;
    char want_first = src_[at];
    size_t i = at + 1;
    auto ok = [&](char c) { return want_first == '0' ? c == '0' : is_digit(c); };
    while (i < src_.size()) {
      size_t k = i;
      if (src_[k] == '_') ++k;
      if (k < src_.size() && ok(src_[k])) i = k + 1;
      else break;
    }
    return i - at;
  }

  size_t match_name(size_t at) const {
    auto ident_char = [&](size_t i, bool first, size_t& len) {
      unsigned char b = static_cast<unsigned char>(src_[i]);
      if (b < 0x80) {
        len = 1;
        return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (!first && is_digit(static_cast<char>(b)));
      }
      len = (b >= 0xF0) ? 4 : (b >= 0xE0) ? 3 : 2;
      if (i + len > src_.size()) return false;
      std::u32string cp = utf8_decode(std::string_view(src_).substr(i, len));
      return cp.size() == 1 && (py_isalpha(cp[0]) || (!first && py_isdigit(cp[0])));
    };
    size_t i = at, len = 0;
    if (i >= src_.size() || !ident_char(i, true, len)) return 0;
    i += len;
    while (i < src_.size() && ident_char(i, false, len)) i += len;
    return i - at;
  }

  size_t match_string(size_t at) const {
    char quote = src_[at];
    if (quote != '\'' && quote != '"') return 0;
    for (size_t i = at + 1; i < src_.size(); ++i) {
      if (src_[i] == '\\') {
        ++i;
        continue;
      }
      if (src_[i] == quote) return i + 1 - at;
    }
    return 0;
  }

  static int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    c = static_cast<char>(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }

  // Python's unicode-escape decoding of a string literal's body.
  std::string unescape(const std::string& body, size_t at) const {
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i + 1 >= body.size()) error(at, "\\ at end of string");
      char e = body[++i];
      switch (e) {
        case '\n': break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x': case 'u': case 'U': {
          size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          char32_t cp = 0;
          for (size_t k = 0; k < digits; ++k) {
            int h = i + 1 + k < body.size() ? hex_value(body[i + 1 + k]) : -1;
            if (h < 0) {
              error(at, std::string("(unicode error) 'unicodeescape' codec can't decode bytes: truncated \\") +
                            e + (e == 'x' ? "XX" : e == 'u' ? "XXXX" : "XXXXXXXX") + " escape");
            }
            cp = cp * 16 + static_cast<char32_t>(h);
          }
          if (cp > 0x10FFFF) error(at, "(unicode error) 'unicodeescape' codec can't decode bytes: illegal Unicode character");
          i += digits;
          utf8_append(out, cp);
          break;
        }
        case 'N':
          fail_unsupported(at, "\\N{...} escapes in string literals are not supported");
        default:
          if (e >= '0' && e <= '7') {
            char32_t cp = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k)
              cp = cp * 8 + static_cast<char32_t>(body[++i] - '0');
            utf8_append(out, cp);
          } else if (static_cast<unsigned char>(e) >= 0x80) {
            // Python escapes non-ASCII text before decoding, so "\é" reads as "\xe9".
            size_t len = 1;
            while (i + len < body.size() && (static_cast<unsigned char>(body[i + len]) & 0xC0) == 0x80) ++len;
            std::u32string cp = utf8_decode(std::string_view(body).substr(i, len));
            char buf[16];
            char32_t v = cp.empty() ? 0xFFFD : cp[0];
            if (v < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(v));
            else if (v < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(v));
            else std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(v));
            out += buf;
            i += len - 1;
          } else {
            out.push_back('\\');
            out.push_back(e);
          }
      }
    }
    return out;
  }

  [[noreturn]] void fail_unsupported(size_t at, const std::string& message) const {
    Token t;
    locate(at, t);
    throw TemplateError(ErrorKind::Unsupported, message, t.line, t.column);
  }

  void lex_tag(TagKind kind, size_t start) {
    static const char* const kOperators[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%",
                                             "~",  "[",  "]",  "(",  ")",  "{",  "}", ">", "<", "=", ".",
                                             ":",  "|",  ",",  ";"};
    while (true) {
      if (pos_ >= src_.size())
        error(start, kind == TagKind::Block ? "unexpected end of template, missing '%}'"
                                            : "unexpected end of template, missing '}}'");
      if (balance_.empty()) {
        size_t end = 0;
        if (kind == TagKind::Block) {
          if (starts_with(pos_, "+%}")) {
            end = pos_ + 3;
          } else if (starts_with(pos_, "-%}")) {
            end = pos_ + 3 + whitespace_run(pos_ + 3);
          } else if (starts_with(pos_, "%}")) {
            end = pos_ + 2;
            if (opt_.trim_blocks && end < src_.size() && src_[end] == '\n') ++end;
          }
        } else {
          if (starts_with(pos_, "-}}")) end = pos_ + 3 + whitespace_run(pos_ + 3);
          else if (starts_with(pos_, "}}")) end = pos_ + 2;
        }
        if (end) {
          emit(kind == TagKind::Block ? TokenType::BlockEnd : TokenType::VariableEnd, "", pos_);
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return;
        }
      }
      if (size_t n = whitespace_run(pos_)) {
        pos_ += n;
        continue;
      }
      if (size_t n = match_float(pos_)) {
        std::string text = src_.substr(pos_, n);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        emit(TokenType::Float, text, pos_);
        tokens_.back().float_value = std::strtod(text.c_str(), nullptr);
        pos_ += n;
        continue;
      }
      if (size_t n = match_integer(pos_)) {
        std::string text = src_.substr(pos_, n);
        text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
        int base = 10;
        std::string digits = text;
        if (text.size() > 1 && text[0] == '0' && std::isalpha(static_cast<unsigned char>(text[1]))) {
          char p = static_cast<char>(text[1] | 0x20);
          base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
          digits = text.substr(2);
        }
        errno = 0;
        char* endp = nullptr;
        unsigned long long v = std::strtoull(digits.c_str(), &endp, base);
        if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
          fail_unsupported(pos_, "integer literal " + text + " does not fit in 64 bits");
        emit(TokenType::Integer, text, pos_);
        tokens_.back().int_value = static_cast<int64_t>(v);
        pos_ += n;
        continue;
      }
      if (size_t n = match_name(pos_)) {
        emit(TokenType::Name, src_.substr(pos_, n), pos_);
        pos_ += n;
        continue;
      }
      if (size_t n = match_string(pos_)) {
        emit(TokenType::String, unescape(src_.substr(pos_ + 1, n - 2), pos_), pos_);
        pos_ += n;
        continue;
      }
      bool matched = false;
      for (const char* op : kOperators) {
        if (!starts_with(pos_, op)) continue;
        std::string o(op);
        if (o == "{" || o == "(" || o == "[") {
          balance_.push_back(o == "{" ? '}' : o == "(" ? ')' : ']');
        } else if (o == "}" || o == ")" || o == "]") {
          if (balance_.empty()) error(pos_, "unexpected '" + o + "'");
          char expected = balance_.back();
          balance_.pop_back();
          if (expected != o[0]) error(pos_, "unexpected '" + o + "', expected '" + std::string(1, expected) + "'");
        }
        emit(TokenType::Operator, o, pos_);
        pos_ += o.size();
        matched = true;
        break;
      }
      if (!matched) {
        std::u32string cp = utf8_decode(std::string_view(src_).substr(pos_, 4));
        std::string shown;
        utf8_append(shown, cp.empty() ? 0xFFFD : cp[0]);
        error(pos_, "unexpected char " + string_repr_simple(shown) + " at " + std::to_string(pos_));
      }
    }
  }

  static std::string string_repr_simple(const std::string& s) {
    return s == "'" ? "\"'\"" : "'" + s + "'";
  }

  std::string src_;
  LexerOptions opt_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  std::vector<char> balance_;
  size_t pos_ = 0;
  bool line_starting_ = true;
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const LexerOptions& options) {
  size_t bad = utf8_invalid_at(source);
  if (bad != std::string::npos)
    throw TemplateError(ErrorKind::Syntax, "template is not valid UTF-8 (byte offset " + std::to_string(bad) + ")");
  Lexer lexer(normalize_source(source, options.keep_trailing_newline), options);
  return lexer.run();
}

}  // namespace kiln::jinja
