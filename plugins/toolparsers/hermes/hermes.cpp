// hermes: tool calls as JSON objects inside <tool_call>...</tool_call> (NousResearch Hermes 2
// Pro / 3, Qwen2.5, Qwen3, QwQ, Granite 4). Reasoning in <think>...</think>.
//
//   text  -<tool_call>->  open  -'{'->  json  -'}'->  close  -</tool_call>->  text
//                                                     close  -'{'->  json   (several objects
//                                                                            in one block)
// Anything else inside a block makes the whole block content again (its calls withdrawn, a
// problem flagged) up to its </tool_call>, or to the next <tool_call>.
#include <memory>
#include <optional>

#include "kiln/toolparse_base.h"
#include "kiln/toolparse_json.h"

namespace {

using namespace kiln;
using namespace kiln::toolparse;

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

class HermesParser final : public StreamingToolParser {
 public:
  HermesParser() : StreamingToolParser(IdStyle::openai, {{"<think>", "</think>"}}) {}

 private:
  enum class State { text, open, json, close, reject };

  void step(bool final) override {
    switch (state_) {
      case State::text: return step_text(final);
      case State::open: return step_open();
      case State::json: return step_json();
      case State::close: return step_close(final);
      case State::reject: return step_reject(final);
    }
  }

  void step_text(bool final) {
    const int m = scan_text(text_markers_, final);
    if (m == 0) {
      consume(kOpen.size());
      raw_.assign(kOpen);
      block_calls_.clear();
      set(State::open);
    } else if (m == 1) {
      consume(kClose.size());
      out().flag(ToolProblem::unbalanced_markup, "</tool_call> without <tool_call>");
      out().content(kClose);
    }
  }

  void step_open() {
    if (!skip_space(raw_)) return;
    if (input().front() == '{') return begin_json();
    fail(ToolProblem::invalid_json, "expected a JSON object after <tool_call>");
  }

  void begin_json() {
    reader_.emplace(out(), /*require_arguments_key=*/false);
    set(State::json);
  }

  void step_json() {
    const size_t n = reader_->feed(input());
    raw_.append(input().substr(0, n));
    consume(n);
    if (reader_->started() && (block_calls_.empty() || block_calls_.back() != reader_->index())) {
      block_calls_.push_back(reader_->index());
    }
    switch (reader_->outcome()) {
      case JsonCallReader::Outcome::reading: return;
      case JsonCallReader::Outcome::call: return set(State::close);
      default: return fail(reader_->problem(), reader_->message());
    }
  }

  void step_close(bool final) {
    if (!skip_space(raw_)) return;
    if (input().front() == '{') return begin_json();
    switch (match_front(input(), kClose)) {
      case FrontMatch::yes:
        consume(kClose.size());
        return set(State::text);
      case FrontMatch::maybe:
        if (!final) return;
        [[fallthrough]];
      case FrontMatch::no:
        fail(ToolProblem::unbalanced_markup, "expected </tool_call> after the tool call");
    }
  }

  // The rest of a broken block is content, up to and including its </tool_call>.
  void step_reject(bool final) {
    std::string_view in = input();
    MarkerHit hit = find_marker(in, text_markers_);
    if (hit.pos != std::string_view::npos) {
      const size_t end = hit.which == 1 ? hit.pos + kClose.size() : hit.pos;
      out().content(in.substr(0, end));
      consume(end);
      return set(State::text);
    }
    const size_t keep = final ? 0 : partial_marker_tail(in, text_markers_);
    out().content(in.substr(0, in.size() - keep));
    consume(in.size() - keep);
  }

  void end_of_input() override {
    if (state_ == State::open || state_ == State::json || state_ == State::close) {
      fail(ToolProblem::truncated, "output ended inside <tool_call>");
      set(State::text);
    }
  }

  // The block is not a tool call: withdraw what it started, its text so far becomes content.
  void fail(ToolProblem problem, const std::string& message) {
    if (block_calls_.empty()) {
      out().flag(problem, message);
      out().content(raw_);
    } else {
      for (size_t i = 0; i < block_calls_.size(); ++i) {
        const bool last = i + 1 == block_calls_.size();
        out().withdraw(block_calls_[i], problem, message, last ? std::string_view(raw_) : "");
      }
    }
    raw_.clear();
    block_calls_.clear();
    reader_.reset();
    set(State::reject);
  }

  void set(State s) {
    state_ = s;
    note_progress();
  }

  const std::vector<std::string_view> text_markers_{kOpen, kClose};
  State state_ = State::text;
  std::string raw_;               // the current block's text from <tool_call>
  std::vector<int> block_calls_;  // calls started in the current block
  std::optional<JsonCallReader> reader_;
};

const char* const kMarkers[] = {"<tool_call>", "</tool_call>", "<think>", "</think>", nullptr};

}  // namespace

KILN_DECLARE_TOOLPARSER("hermes", "1.0", HermesParser,
                        "Hermes 2 Pro/3, Qwen2.5, Qwen3: <tool_call>{\"name\", \"arguments\"}</tool_call>",
                        kMarkers);
