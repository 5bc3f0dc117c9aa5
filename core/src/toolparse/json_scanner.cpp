// A byte-at-a-time JSON syntax checker: a pushdown automaton over RFC 8259 that also reports
// where members of the top-level object begin and end, so a caller can act on "name" and
// "arguments" while the rest of the object is still arriving.
#include "kiln/toolparse_json.h"

#include "kiln/toolparse_text.h"

namespace kiln::toolparse {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
}  // namespace

JsonScanner::Status JsonScanner::push(char c) {
  events_ = 0;
  if (status_ != Status::more) return fail();
  const size_t at = offset_++;
  switch (token_) {
    case Token::string:
      if (c == '"') {
        token_ = Token::none;
        if (string_is_key_) {
          if (member_level()) {
            key_stop_ = at + 1;
            events_ |= key_end;
          }
          expect_ = Expect::colon;
        } else {
          value_complete(at + 1);
        }
      } else if (c == '\\') {
        token_ = Token::escape;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        return fail();
      }
      return status_;
    case Token::escape:
      if (c == 'u') {
        token_ = Token::unicode;
        unicode_left_ = 4;
      } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                 c == 'r' || c == 't') {
        token_ = Token::string;
      } else {
        return fail();
      }
      return status_;
    case Token::unicode:
      if (!is_hex(c)) return fail();
      if (--unicode_left_ == 0) token_ = Token::string;
      return status_;
    case Token::literal:
      if (c != literal_[literal_pos_]) return fail();
      if (literal_[++literal_pos_] == '\0') {
        token_ = Token::none;
        value_complete(at + 1);
      }
      return status_;
    case Token::number:
      if (number_step(c)) return status_;
      if (!number_can_end()) return fail();
      token_ = Token::none;
      value_complete(at);
      if (status_ == Status::done) return fail();  // a byte after a complete top-level number
      return structural(c);
    case Token::none: return structural(c);
  }
  return fail();
}

JsonScanner::Status JsonScanner::end_of_input() {
  events_ = 0;
  if (status_ == Status::more && token_ == Token::number && stack_.empty() && number_can_end()) {
    token_ = Token::none;
    value_complete(offset_);
  }
  return status_;
}

JsonScanner::Status JsonScanner::structural(char c) {
  const size_t at = offset_ - 1;
  if (is_space(c)) return status_;
  switch (expect_) {
    case Expect::value: return begin_value(c);
    case Expect::arr_value_or_end:
      if (c == ']') {
        stack_.pop_back();
        value_complete(at + 1);
        return status_;
      }
      return begin_value(c);
    case Expect::obj_key_or_end:
      if (c == '}') {
        stack_.pop_back();
        value_complete(at + 1);
        return status_;
      }
      [[fallthrough]];
    case Expect::obj_key:
      if (c != '"') return fail();
      token_ = Token::string;
      string_is_key_ = true;
      if (member_level()) {
        key_start_ = at;
        events_ |= key_begin;
      }
      return status_;
    case Expect::colon:
      if (c != ':') return fail();
      expect_ = Expect::value;
      return status_;
    case Expect::obj_comma_or_end:
      if (c == ',') {
        expect_ = Expect::obj_key;
        return status_;
      }
      if (c != '}') return fail();
      stack_.pop_back();
      value_complete(at + 1);
      return status_;
    case Expect::arr_comma_or_end:
      if (c == ',') {
        expect_ = Expect::value;
        return status_;
      }
      if (c != ']') return fail();
      stack_.pop_back();
      value_complete(at + 1);
      return status_;
    case Expect::nothing: return fail();
  }
  return fail();
}

JsonScanner::Status JsonScanner::begin_value(char c) {
  const size_t at = offset_ - 1;
  if (member_level()) {
    value_start_ = at;
    events_ |= value_begin;
  }
  if (stack_.empty() && top_kind_ == 0) top_kind_ = c;
  switch (c) {
    case '{':
    case '[':
      if (stack_.size() >= kMaxDepth) return fail();
      stack_.push_back(c);
      expect_ = c == '{' ? Expect::obj_key_or_end : Expect::arr_value_or_end;
      return status_;
    case '"':
      token_ = Token::string;
      string_is_key_ = false;
      return status_;
    case 't': literal_ = "true"; break;
    case 'f': literal_ = "false"; break;
    case 'n': literal_ = "null"; break;
    default:
      if (c == '-' || is_digit(c)) {
        token_ = Token::number;
        num_ = c == '-' ? Num::minus : c == '0' ? Num::zero : Num::integer;
        return status_;
      }
      return fail();
  }
  token_ = Token::literal;
  literal_pos_ = 1;
  return status_;
}

void JsonScanner::value_complete(size_t end) {
  if (stack_.empty()) {
    expect_ = Expect::nothing;
    status_ = Status::done;
    return;
  }
  if (member_level()) {
    value_stop_ = end;
    events_ |= value_end;
  }
  expect_ = stack_.back() == '{' ? Expect::obj_comma_or_end : Expect::arr_comma_or_end;
}

bool JsonScanner::number_step(char c) {
  switch (num_) {
    case Num::minus:
      if (c == '0') num_ = Num::zero;
      else if (is_digit(c)) num_ = Num::integer;
      else return false;
      return true;
    case Num::zero:
    case Num::integer:
      if (num_ == Num::integer && is_digit(c)) return true;
      if (c == '.') num_ = Num::dot;
      else if (c == 'e' || c == 'E') num_ = Num::exp_mark;
      else return false;
      return true;
    case Num::dot:
      if (!is_digit(c)) return false;
      num_ = Num::fraction;
      return true;
    case Num::fraction:
      if (is_digit(c)) return true;
      if (c != 'e' && c != 'E') return false;
      num_ = Num::exp_mark;
      return true;
    case Num::exp_mark:
      if (c == '+' || c == '-') num_ = Num::exp_sign;
      else if (is_digit(c)) num_ = Num::exponent;
      else return false;
      return true;
    case Num::exp_sign:
      if (!is_digit(c)) return false;
      num_ = Num::exponent;
      return true;
    case Num::exponent: return is_digit(c);
  }
  return false;
}

bool JsonScanner::number_can_end() const {
  return num_ == Num::zero || num_ == Num::integer || num_ == Num::fraction ||
         num_ == Num::exponent;
}

}  // namespace kiln::toolparse
