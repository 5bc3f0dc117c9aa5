// mistral: both generations of Mistral's tool-call markup.
//   older tokenizers (Mistral 7B v0.3, Nemo):  [TOOL_CALLS][{"name": .., "arguments": {..}}, ..]
//   newer ones (Small 3.1+, Devstral, Magistral, Ministral 3):  [TOOL_CALLS]NAME[ARGS]{..}
//     (optionally NAME[CALL_ID]ID[ARGS]{..}; one [TOOL_CALLS] per call)
// Call ids are 9 alphanumerics, as Mistral's templates require. Reasoning in [THINK]..[/THINK]
// (Magistral 2507+) or <think>..</think> (Magistral 2506).
#include <optional>

#include "kiln/toolparse_base.h"
#include "kiln/toolparse_json.h"

namespace {

using namespace kiln;
using namespace kiln::toolparse;

constexpr std::string_view kToolCalls = "[TOOL_CALLS]";
constexpr std::string_view kArgs = "[ARGS]";
constexpr std::string_view kCallId = "[CALL_ID]";
constexpr size_t kMaxNameBytes = 256;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

class MistralParser final : public StreamingToolParser {
 public:
  MistralParser()
      : StreamingToolParser(IdStyle::mistral, {{"[THINK]", "[/THINK]"}, {"<think>", "</think>"}}) {}

 private:
  enum class State { text, head, name, call_id, args, list_item, list_json, list_sep, object_json,
                     reject };

  void step(bool final) override {
    switch (state_) {
      case State::text: return step_text(final);
      case State::head: return step_head();
      case State::name: return step_name(final, false);
      case State::call_id: return step_name(final, true);
      case State::args: return step_args();
      case State::list_item: return step_list_item();
      case State::list_json:
      case State::object_json: return step_json();
      case State::list_sep: return step_list_sep();
      case State::reject: return step_reject(final);
    }
  }

  void step_text(bool final) {
    if (scan_text(text_markers_, final) != 0) return;
    raw_.clear();
    block_calls_.clear();
    take(kToolCalls.size());
    set(State::head);
  }

  void step_head() {
    if (!skip_space(raw_)) return;
    const char c = input().front();
    if (c == '[') {
      take(1);
      return set(State::list_item);
    }
    if (c == '{') return begin_json(State::object_json);
    set(State::name);
  }

  // NAME (or the ID after [CALL_ID]) up to [ARGS], [CALL_ID] or a bare '{'. Bytes stay in the
  // input until the delimiter shows, so a partial "[AR" is simply waited on.
  void step_name(bool final, bool reading_id) {
    std::string_view in = input();
    size_t i = 0;
    while (i < in.size() && is_name_char(in[i])) ++i;
    if (i > kMaxNameBytes) return fail(ToolProblem::unbalanced_markup, "tool name too long");
    if (i == in.size()) {
      if (final) fail(ToolProblem::truncated, "output ended inside a tool call");
      return;
    }
    const std::string word(in.substr(0, i));
    std::string_view rest = in.substr(i);
    size_t delimiter = 0;
    bool to_id = false;
    if (!reading_id && rest.front() == '{') {
      delimiter = 0;
    } else if (match_front(rest, kArgs) == FrontMatch::yes) {
      delimiter = kArgs.size();
    } else if (!reading_id && match_front(rest, kCallId) == FrontMatch::yes) {
      delimiter = kCallId.size();
      to_id = true;
    } else if ((match_front(rest, kArgs) == FrontMatch::maybe ||
                (!reading_id && match_front(rest, kCallId) == FrontMatch::maybe))) {
      if (final) fail(ToolProblem::truncated, "output ended inside a tool call");
      return;
    } else {
      return fail(ToolProblem::unbalanced_markup,
                  reading_id ? "malformed [CALL_ID]" : "malformed tool name after [TOOL_CALLS]");
    }
    take(i + delimiter);
    if (reading_id) return begin_args(is_mistral_call_id(word) ? word : std::string{});
    if (word.empty()) return fail(ToolProblem::unbalanced_markup, "empty tool name");
    if (!tools().empty() && !tools().has(word)) {
      return fail(ToolProblem::unknown_function, "unknown function '" + word + "'");
    }
    name_ = word;
    if (to_id) return set(State::call_id);
    begin_args({});
  }

  void begin_args(const std::string& id) {
    index_ = out().start_call(name_, id);
    block_calls_.push_back(index_);
    args_.clear();
    scanner_ = JsonScanner{};
    set(State::args);
  }

  // The arguments value after [ARGS]: an object streams as it arrives.
  void step_args() {
    if (args_.empty() && !skip_space(raw_)) return;
    std::string_view in = input();
    size_t n = 0;
    JsonScanner::Status st = scanner_.status();
    while (n < in.size() && st == JsonScanner::Status::more) {
      st = scanner_.push(in[n]);
      if (st == JsonScanner::Status::error) break;
      ++n;
    }
    const bool streamable = scanner_.top_kind() == '{';
    if (streamable) out().arguments(index_, in.substr(0, n));
    args_.append(in.substr(0, n));
    take(n);
    if (st == JsonScanner::Status::error) {
      return fail(ToolProblem::invalid_json, "tool call arguments are not valid JSON");
    }
    if (st != JsonScanner::Status::done) return;
    nlohmann::json v = nlohmann::json::parse(args_, nullptr, false);
    if (!v.is_discarded() && v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      v = json_max_nesting(s) > kMaxJsonNesting ? nlohmann::json(nlohmann::json::value_t::discarded)
                                                : nlohmann::json::parse(s, nullptr, false);
      if (!v.is_discarded() && v.is_object()) {
        out().arguments(index_, v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      }
    }
    if (v.is_discarded() || !v.is_object()) {
      return fail(ToolProblem::invalid_arguments, "tool call arguments are not a JSON object");
    }
    out().end_call(index_);
    set(State::text);
  }

  void step_list_item() {
    if (!skip_space(raw_)) return;
    const char c = input().front();
    if (c == '{') return begin_json(State::list_json);
    if (c == ']') {
      take(1);
      return set(State::text);
    }
    fail(ToolProblem::invalid_json, "expected a tool call object in the [TOOL_CALLS] list");
  }

  void begin_json(State next) {
    reader_.emplace(out(), /*require_arguments_key=*/false);
    set(next);
  }

  void step_json() {
    const size_t n = reader_->feed(input());
    take(n);
    if (reader_->started() && (block_calls_.empty() || block_calls_.back() != reader_->index())) {
      block_calls_.push_back(reader_->index());
    }
    switch (reader_->outcome()) {
      case JsonCallReader::Outcome::reading: return;
      case JsonCallReader::Outcome::call:
        reader_.reset();
        return set(state_ == State::list_json ? State::list_sep : State::text);
      default: return fail(reader_->problem(), reader_->message());
    }
  }

  void step_list_sep() {
    if (!skip_space(raw_)) return;
    const char c = input().front();
    take(c == ',' || c == ']' ? 1 : 0);
    if (c == ',') return set(State::list_item);
    if (c == ']') return set(State::text);
    fail(ToolProblem::unbalanced_markup, "expected ',' or ']' in the [TOOL_CALLS] list");
  }

  // After a broken call everything up to the next [TOOL_CALLS] is content.
  void step_reject(bool final) {
    std::string_view in = input();
    MarkerHit hit = find_marker(in, text_markers_);
    const size_t keep = hit.pos != std::string_view::npos ? in.size() - hit.pos
                        : final                           ? 0
                                                          : partial_marker_tail(in, text_markers_);
    out().content(in.substr(0, in.size() - keep));
    consume(in.size() - keep);
    if (hit.pos != std::string_view::npos) set(State::text);
  }

  void end_of_input() override {
    if (state_ != State::text && state_ != State::reject) {
      fail(ToolProblem::truncated, "output ended inside a tool call");
      set(State::text);
    }
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
    reader_.reset();
    set(State::reject);
  }

  void take(size_t n) {
    raw_.append(input().substr(0, n));
    consume(n);
  }

  void set(State s) {
    state_ = s;
    note_progress();
  }

  const std::vector<std::string_view> text_markers_{kToolCalls};
  State state_ = State::text;
  std::string raw_;               // the current block's text from [TOOL_CALLS]
  std::vector<int> block_calls_;  // calls started in the current block
  std::string name_;
  int index_ = -1;
  std::string args_;  // [ARGS] value so far
  JsonScanner scanner_;
  std::optional<JsonCallReader> reader_;
};

const char* const kMarkers[] = {"[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "[THINK]", "[/THINK]",
                                nullptr};

}  // namespace

KILN_DECLARE_TOOLPARSER("mistral", "1.0", MistralParser,
                        "Mistral: [TOOL_CALLS][{\"name\", \"arguments\"}] (v3 tokenizers) and "
                        "[TOOL_CALLS]NAME[ARGS]{..} (v11+)",
                        kMarkers);
