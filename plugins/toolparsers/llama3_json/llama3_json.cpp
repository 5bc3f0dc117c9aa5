// llama3_json: Llama 3.1 / 3.2 / 3.3 JSON tool calls. A call is a JSON object with a string
// "name" and an object "parameters" (or "arguments"), anywhere in the text or after
// <|python_tag|>; several are separated by ';'. Any other brace — prose, code, JSON without a
// name or without parameters — is content. <|eom_id|> / <|eot_id|> end markers are dropped.
//
//   text  -'{'->  json  -'}'->  after  -';'->  text
//   text  -<|python_tag|>->  tag  -'{'->  json
#include <optional>

#include "kiln/toolparse_base.h"
#include "kiln/toolparse_json.h"

namespace {

using namespace kiln;
using namespace kiln::toolparse;

constexpr std::string_view kPythonTag = "<|python_tag|>";

class Llama3JsonParser final : public StreamingToolParser {
 public:
  Llama3JsonParser() : StreamingToolParser(IdStyle::openai, {{"<think>", "</think>"}}) {}

 private:
  enum class State { text, tag, json, after };

  void step(bool final) override {
    switch (state_) {
      case State::text: return step_text(final);
      case State::tag: return step_tag();
      case State::json: return step_json();
      case State::after: return step_after(final);
    }
  }

  void step_text(bool final) {
    const int m = scan_text(text_markers_, final);
    if (m == 0) {
      raw_.clear();
      begin_json(false);
    } else if (m == 1) {
      consume(kPythonTag.size());
      raw_.assign(kPythonTag);
      set(State::tag);
    } else if (m >= 2) {
      consume(text_markers_[m].size());  // end-of-turn tokens carry no text
    }
  }

  void step_tag() {
    if (!skip_space(raw_)) return;
    if (input().front() == '{') return begin_json(true);
    not_json_after_tag();
  }

  void begin_json(bool after_tag) {
    after_tag_ = after_tag;
    reader_.emplace(out(), /*require_arguments_key=*/true);
    set(State::json);
  }

  void step_json() {
    const size_t n = reader_->feed(input());
    raw_.append(input().substr(0, n));
    consume(n);
    if (reader_->outcome() == JsonCallReader::Outcome::reading) return;
    resolve();
  }

  // Acts on the reader's verdict. The byte that ended a non-call is left for the text state.
  void resolve() {
    const JsonCallReader& r = *reader_;
    switch (r.outcome()) {
      case JsonCallReader::Outcome::reading: return;
      case JsonCallReader::Outcome::call:
        reader_.reset();
        raw_.clear();
        return set(State::after);
      case JsonCallReader::Outcome::not_a_call:
        if (after_tag_) {
          out().flag(r.problem(), "<|python_tag|> is not followed by a JSON tool call (" +
                                      r.message() + ")");
        }
        out().content(raw_);
        break;
      case JsonCallReader::Outcome::rejected:
      case JsonCallReader::Outcome::invalid:
        if (r.started()) {
          out().withdraw(r.index(), r.problem(), r.message(), raw_);
        } else {
          out().flag(r.problem(), r.message());
          out().content(raw_);
        }
        break;
    }
    reader_.reset();
    raw_.clear();
    set(State::text);
  }

  void not_json_after_tag() {
    out().flag(ToolProblem::invalid_json, "<|python_tag|> is not followed by a JSON tool call");
    out().content(raw_);
    raw_.clear();
    set(State::text);
  }

  // Between calls: whitespace and one ';' separator are markup.
  void step_after(bool final) {
    std::string_view in = input();
    size_t n = 0;
    while (n < in.size() && is_space(in[n])) ++n;
    if (n == in.size() && !final) return;
    if (n < in.size() && in[n] == ';') consume(n + 1);
    set(State::text);
  }

  void end_of_input() override {
    if (state_ == State::json) {
      reader_->end_of_input();
      resolve();
    } else if (state_ == State::tag) {
      not_json_after_tag();
    }
  }

  void set(State s) {
    state_ = s;
    note_progress();
  }

  const std::vector<std::string_view> text_markers_{"{", kPythonTag, "<|eom_id|>",
                                                    "<|eot_id|>"};
  State state_ = State::text;
  bool after_tag_ = false;
  std::string raw_;  // the text of the call being read (with <|python_tag|>)
  std::optional<JsonCallReader> reader_;
};

const char* const kMarkers[] = {"<|python_tag|>", "{\"name\":", "<|eom_id|>", nullptr};

}  // namespace

KILN_DECLARE_TOOLPARSER("llama3_json", "1.0", Llama3JsonParser,
                        "Llama 3.1+: {\"name\", \"parameters\"} JSON, optionally after "
                        "<|python_tag|>, ';'-separated",
                        kMarkers);
