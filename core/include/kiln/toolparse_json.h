// Incremental JSON for tool-call parsers: a byte-at-a-time syntax checker (RFC 8259) that knows
// where the top-level object's members begin and end, and a reader for one call object
// {"name": .., "arguments"|"parameters": {..}} that streams the arguments while they arrive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/toolparser.h"

namespace kiln::toolparse {

class ToolEmitter;

class JsonScanner {
 public:
  enum class Status : uint8_t { more, done, error };
  // Events of the last push() about members of a top-level object.
  enum Event : unsigned { key_begin = 1, key_end = 2, value_begin = 4, value_end = 8 };
  static constexpr size_t kMaxDepth = 256;

  // Feeds one byte. After `done` or `error` further bytes are errors.
  Status push(char c);
  // No more bytes: a top-level number ends here.
  Status end_of_input();
  Status status() const { return status_; }
  unsigned events() const { return events_; }
  // Byte offsets (from the first byte pushed) of the latest member key / value; end exclusive.
  size_t key_start() const { return key_start_; }
  size_t key_stop() const { return key_stop_; }
  size_t value_start() const { return value_start_; }
  size_t value_stop() const { return value_stop_; }
  size_t offset() const { return offset_; }
  // The first byte of the top-level value, once seen.
  char top_kind() const { return top_kind_; }

 private:
  enum class Expect : uint8_t {
    value, obj_key_or_end, obj_key, colon, obj_comma_or_end, arr_value_or_end, arr_comma_or_end,
    nothing
  };
  enum class Token : uint8_t { none, string, escape, unicode, literal, number };
  enum class Num : uint8_t { minus, zero, integer, dot, fraction, exp_mark, exp_sign, exponent };

  Status fail() { return status_ = Status::error; }
  Status structural(char c);
  Status begin_value(char c);
  void value_complete(size_t end);
  bool member_level() const { return stack_.size() == 1 && stack_[0] == '{'; }
  bool number_step(char c);
  bool number_can_end() const;

  std::vector<char> stack_;
  Expect expect_ = Expect::value;
  Token token_ = Token::none;
  bool string_is_key_ = false;
  uint8_t unicode_left_ = 0;
  const char* literal_ = nullptr;
  uint8_t literal_pos_ = 0;
  Num num_ = Num::integer;
  Status status_ = Status::more;
  unsigned events_ = 0;
  size_t offset_ = 0;
  size_t key_start_ = 0, key_stop_ = 0, value_start_ = 0, value_stop_ = 0;
  char top_kind_ = 0;
};

// Reads one tool-call object from its opening '{', emitting call_start as soon as the name is
// known (and, with require_arguments_key, the arguments have begun) and the arguments as raw
// fragments while they stream. It stops right after the object's closing brace, or before the
// first byte that cannot continue it.
class JsonCallReader {
 public:
  enum class Outcome : uint8_t {
    reading,     // feed more
    call,        // a complete, valid call (started and fully emitted)
    not_a_call,  // JSON that is no call: no name, or (require_arguments_key) no arguments key
    rejected,    // a name that the tools do not list (not started)
    invalid,     // broken JSON or arguments; if started() the caller withdraws index()
  };

  JsonCallReader(ToolEmitter& out, bool require_arguments_key)
      : out_(out), require_args_key_(require_arguments_key) {}

  // Consumes bytes of `text`; returns how many. Stops early once the outcome is decided.
  size_t feed(std::string_view text);
  // The input ended while reading.
  void end_of_input();

  Outcome outcome() const { return outcome_; }
  bool started() const { return index_ >= 0; }
  int index() const { return index_; }
  const std::string& raw() const { return raw_; }
  // Whether a "name" member with a string value was read (even if the rest failed).
  bool saw_name() const { return name_.has_value(); }
  const std::string& name() const { return name_ ? *name_ : empty_; }
  // What went wrong, for the problem message.
  ToolProblem problem() const { return problem_; }
  const std::string& message() const { return message_; }

 private:
  enum class Member : uint8_t { other, name, arguments };
  void on_events();
  void try_start();
  void stream_arguments();
  void complete();
  void decide(Outcome o, ToolProblem p = ToolProblem::invalid_json, std::string msg = {});

  ToolEmitter& out_;
  bool require_args_key_;
  JsonScanner scanner_;
  std::string raw_;
  Outcome outcome_ = Outcome::reading;
  ToolProblem problem_ = ToolProblem::invalid_json;
  std::string message_;
  Member member_ = Member::other;
  std::optional<std::string> name_;
  bool args_seen_ = false;        // the arguments value has begun
  bool args_streamable_ = false;  // it is an object: its raw text is the arguments string
  size_t args_start_ = 0, args_end_ = std::string::npos, args_emitted_ = 0;
  int index_ = -1;
  std::string empty_;
};

}  // namespace kiln::toolparse
