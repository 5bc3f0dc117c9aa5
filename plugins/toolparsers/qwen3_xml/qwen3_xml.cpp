// qwen3_xml: Qwen3-Coder's XML-ish calls (also Qwen3.5, Nemotron 3, Step 3.5):
//   <tool_call>
//   <function=NAME>
//   <parameter=P>
//   value
//   </parameter>
//   </function>
//   </tool_call>
// Values are bare text: one leading and one trailing newline belong to the markup; the rest is
// converted to the type the tool's JSON schema gives the parameter (strings stay verbatim and
// stream as they arrive; other types are converted when the value is complete). A bare
// <function=...> without <tool_call> is accepted, and so is a value whose </parameter> is
// missing before the next <parameter= or </function> (both seen in real Qwen3-Coder output).
#include "kiln/toolparse_base.h"

namespace {

using namespace kiln;
using namespace kiln::toolparse;

constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";
constexpr std::string_view kFunction = "<function=";
constexpr std::string_view kFunctionClose = "</function>";
constexpr std::string_view kParam = "<parameter=";
constexpr std::string_view kParamClose = "</parameter>";
constexpr size_t kMaxNameBytes = 256;

class Qwen3XmlParser final : public StreamingToolParser {
 public:
  Qwen3XmlParser() : StreamingToolParser(IdStyle::openai, {{"<think>", "</think>"}}) {}

 private:
  enum class State { text, open, function_name, body, param_name, value, after_function, reject };

  void step(bool final) override {
    switch (state_) {
      case State::text: return step_text(final);
      case State::open: return step_open(final);
      case State::function_name: return step_name(final, /*function=*/true);
      case State::body: return step_body(final);
      case State::param_name: return step_name(final, /*function=*/false);
      case State::value: return step_value(final);
      case State::after_function: return step_after_function(final);
      case State::reject: return step_reject(final);
    }
  }

  void step_text(bool final) {
    const int m = scan_text(text_markers_, final);
    if (m < 0) return;
    raw_.clear();
    block_calls_.clear();
    if (m == 0) {
      wrapped_ = true;
      take(kCallOpen.size());
      set(State::open);
    } else if (m == 1) {
      wrapped_ = false;
      take(kFunction.size());
      set(State::function_name);
    } else {
      consume(kCallClose.size());
      out().flag(ToolProblem::unbalanced_markup, "</tool_call> without <tool_call>");
      out().content(kCallClose);
    }
  }

  void step_open(bool final) {
    if (!skip_space(raw_)) return;
    if (expect(kFunction, final, "expected <function=NAME> after <tool_call>")) {
      set(State::function_name);
    }
  }

  // NAME> of <function=NAME> or <parameter=NAME>: one line, up to kMaxNameBytes.
  void step_name(bool final, bool function) {
    std::string_view in = input();
    size_t end = in.find('>');
    size_t bad = in.substr(0, end).find_first_of("<\n");
    const bool too_long = end == std::string_view::npos ? in.size() > kMaxNameBytes
                                                          : end > kMaxNameBytes;
    if (bad != std::string_view::npos || too_long) {
      return fail(ToolProblem::unbalanced_markup,
                  function ? "malformed <function=NAME> tag" : "malformed <parameter=NAME> tag");
    }
    if (end == std::string_view::npos) {
      if (final) fail(ToolProblem::truncated, "output ended inside a tool call");
      return;
    }
    std::string name = trimmed(in.substr(0, end));
    take(end + 1);
    if (function) return begin_function(name);
    begin_param(name);
  }

  void begin_function(const std::string& name) {
    if (name.empty()) return fail(ToolProblem::unbalanced_markup, "empty function name");
    if (!tools().empty() && !tools().has(name)) {
      return fail(ToolProblem::unknown_function, "unknown function '" + name + "'");
    }
    function_ = name;
    index_ = out().start_call(name);
    block_calls_.push_back(index_);
    params_ = 0;
    set(State::body);
  }

  void step_body(bool final) {
    if (!skip_space(raw_)) return;
    switch (match_front(input(), kParam)) {
      case FrontMatch::yes: take(kParam.size()); return set(State::param_name);
      case FrontMatch::maybe: if (!final) return; break;
      case FrontMatch::no: break;
    }
    if (expect(kFunctionClose, final, "unexpected text inside <function=...>")) {
      out().arguments(index_, params_ == 0 ? "{}" : "}");
      out().end_call(index_);
      set(State::after_function);
    }
  }

  void begin_param(const std::string& name) {
    schema_ = tools().parameter_schema(function_, name);
    as_string_ = schema_wants_string(schema_);
    value_.clear();
    value_begun_ = false;
    std::string head = params_ == 0 ? "{\"" : ", \"";
    head += json_escape(name) + "\": ";
    if (as_string_) head += '"';
    out().arguments(index_, head);
    ++params_;
    set(State::value);
  }

  // The value runs to </parameter>, or (closing tag forgotten) to <parameter= or </function>.
  void step_value(bool final) {
    std::string_view in = input();
    if (!value_begun_) {
      if (in.empty()) return;
      value_begun_ = true;
      if (in.front() == '\n') take(1);
      note_progress();
      return;
    }
    MarkerHit hit = find_marker(in, value_ends_);
    if (hit.pos == std::string_view::npos) {
      if (final) return fail(ToolProblem::truncated, "output ended inside a tool call");
      size_t n = in.size() - partial_marker_tail(in, value_ends_);
      if (n > 0 && in[n - 1] == '\n') --n;  // may be the newline before the closing tag
      value_text(in.substr(0, n));
      take(n);
      return;
    }
    size_t n = hit.pos;
    value_text(in.substr(0, n > 0 && in[n - 1] == '\n' ? n - 1 : n));
    take(n);
    if (as_string_) {
      out().arguments(index_, "\"");
    } else {
      out().arguments(index_, convert_parameter_value(value_, schema_)
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (hit.which == 0) take(kParamClose.size());
    set(State::body);
  }

  void value_text(std::string_view text) {
    if (text.empty()) return;
    if (as_string_) out().arguments(index_, json_escape(text));
    else value_.append(text);
  }

  void step_after_function(bool final) {
    if (!wrapped_) return set(State::text);
    if (!skip_space(raw_)) return;
    switch (match_front(input(), kFunction)) {  // several functions in one block
      case FrontMatch::yes: take(kFunction.size()); return set(State::function_name);
      case FrontMatch::maybe: if (!final) return; break;
      case FrontMatch::no: break;
    }
    if (expect(kCallClose, final, "expected </tool_call> after </function>")) {
      set(State::text);
    }
  }

  // The rest of a broken call is content: to the end of its block (</tool_call>, or </function>
  // for a bare function), or up to the next call.
  void step_reject(bool final) {
    const auto& markers = wrapped_ ? reject_wrapped_ : reject_bare_;
    std::string_view in = input();
    MarkerHit hit = find_marker(in, markers);
    if (hit.pos != std::string_view::npos) {
      const size_t end = hit.which == 0 ? hit.pos + markers[0].size() : hit.pos;
      out().content(in.substr(0, end));
      consume(end);
      return set(State::text);
    }
    const size_t keep = final ? 0 : partial_marker_tail(in, markers);
    out().content(in.substr(0, in.size() - keep));
    consume(in.size() - keep);
  }

  void end_of_input() override {
    if (state_ != State::text && state_ != State::reject) {
      fail(ToolProblem::truncated, "output ended inside a tool call");
      set(State::text);
    }
  }

  // Consumes `marker` if input() starts with it; fails the call if it cannot.
  bool expect(std::string_view marker, bool final, const char* message) {
    switch (match_front(input(), marker)) {
      case FrontMatch::yes: take(marker.size()); return true;
      case FrontMatch::maybe:
        if (!final) return false;
        fail(ToolProblem::truncated, "output ended inside a tool call");
        return false;
      case FrontMatch::no: fail(ToolProblem::unbalanced_markup, message); return false;
    }
    return false;
  }

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
    set(State::reject);
  }

  // Consumes n bytes that belong to the current block.
  void take(size_t n) {
    raw_.append(input().substr(0, n));
    consume(n);
  }

  static std::string trimmed(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return std::string(s);
  }

  void set(State s) {
    state_ = s;
    note_progress();
  }

  const std::vector<std::string_view> text_markers_{kCallOpen, kFunction, kCallClose};
  const std::vector<std::string_view> value_ends_{kParamClose, kParam, kFunctionClose};
  const std::vector<std::string_view> reject_wrapped_{kCallClose, kCallOpen};
  const std::vector<std::string_view> reject_bare_{kFunctionClose, kCallOpen, kFunction};
  State state_ = State::text;
  bool wrapped_ = false;          // the block began with <tool_call>
  std::string raw_;               // the current block's text
  std::vector<int> block_calls_;  // calls started in the current block
  std::string function_;
  int index_ = -1;
  int params_ = 0;
  const nlohmann::json* schema_ = nullptr;
  bool as_string_ = true;
  bool value_begun_ = false;
  std::string value_;  // a non-string value, converted when complete
};

const char* const kMarkers[] = {"<tool_call>", "<function=", "<parameter=", "</parameter>",
                                "</function>", "</tool_call>", "<think>", "</think>", nullptr};

}  // namespace

KILN_DECLARE_TOOLPARSER("qwen3_xml", "1.0", Qwen3XmlParser,
                        "Qwen3-Coder, Qwen3.5: <tool_call><function=NAME><parameter=P>value"
                        "</parameter></function></tool_call>",
                        kMarkers);
