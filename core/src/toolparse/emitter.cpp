// ToolEmitter: the single path through which a parser's deltas leave it.
#include "kiln/toolparse_base.h"

namespace kiln::toolparse {

namespace {
ToolDelta make_delta(ToolDeltaType type, std::string text, int index = -1) {
  ToolDelta d;
  d.type = type;
  d.text = std::move(text);
  d.index = index;
  return d;
}
}  // namespace

void ToolEmitter::push(ToolDelta delta) {
  builder_.apply(delta);
  // Merge with the previous delta of the same stream so a feed() returns few, larger deltas.
  if (!pending_.empty()) {
    ToolDelta& last = pending_.back();
    bool same_text = (delta.type == ToolDeltaType::content ||
                      delta.type == ToolDeltaType::reasoning) && last.type == delta.type;
    bool same_args = delta.type == ToolDeltaType::call_arguments &&
                     last.type == ToolDeltaType::call_arguments && last.index == delta.index;
    if (same_text || same_args) {
      last.text += delta.text;
      return;
    }
  }
  pending_.push_back(std::move(delta));
}

void ToolEmitter::content(std::string_view text) {
  std::string s = content_trim_.push(text);
  if (!s.empty()) push(make_delta(ToolDeltaType::content, std::move(s)));
}

void ToolEmitter::reasoning(std::string_view text) {
  std::string s = reasoning_trim_.push(text);
  if (!s.empty()) push(make_delta(ToolDeltaType::reasoning, std::move(s)));
}

int ToolEmitter::start_call(const std::string& name, const std::string& id) {
  if (args_index_ >= 0) end_call(args_index_);
  const int index = next_index_++;
  ToolDelta d = make_delta(ToolDeltaType::call_start, {}, index);
  d.id = id.empty() ? idgen_.next(ids_) : id;
  d.name = name;
  push(std::move(d));
  args_index_ = index;
  return index;
}

void ToolEmitter::arguments(int index, std::string_view fragment) {
  if (index != args_index_ || fragment.empty()) return;
  std::string s = std::move(args_held_);
  args_held_.clear();
  s.append(fragment);
  size_t tail = incomplete_utf8_tail(s);
  args_held_.assign(s, s.size() - tail, tail);
  s.resize(s.size() - tail);
  if (s.empty()) return;
  push(make_delta(ToolDeltaType::call_arguments, std::move(s), index));
}

void ToolEmitter::end_call(int index) {
  if (index != args_index_) return;
  if (!args_held_.empty()) {
    push(make_delta(ToolDeltaType::call_arguments, std::move(args_held_), index));
  }
  args_held_.clear();
  args_index_ = -1;
}

void ToolEmitter::withdraw(int index, ToolProblem problem, const std::string& message,
                           std::string_view raw) {
  if (index == args_index_) {
    args_held_.clear();
    args_index_ = -1;
  }
  ToolDelta d = make_delta(ToolDeltaType::problem, message, index);
  d.problem = problem;
  push(std::move(d));
  content(raw);
}

void ToolEmitter::flag(ToolProblem problem, const std::string& message) {
  ToolDelta d = make_delta(ToolDeltaType::problem, message);
  d.problem = problem;
  push(std::move(d));
}

void ToolEmitter::finish() {
  if (args_index_ >= 0) end_call(args_index_);
  std::string c = content_trim_.finish();
  if (!c.empty()) push(make_delta(ToolDeltaType::content, std::move(c)));
  std::string r = reasoning_trim_.finish();
  if (!r.empty()) push(make_delta(ToolDeltaType::reasoning, std::move(r)));
}

std::vector<ToolDelta> ToolEmitter::take() {
  std::vector<ToolDelta> out;
  out.swap(pending_);
  return out;
}

}  // namespace kiln::toolparse
