// The shared machinery of Kiln's tool-call parser plugins. A parser derives from
// StreamingToolParser and writes one method, step(), that looks at the unconsumed input and
// either consumes some of it (emitting deltas through out()) or waits for more. Whole-text
// parsing is feed(all) + finish(), so any chunking of the input gives the same result as long
// as step() only decides what no further bytes could change.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/toolparse_text.h"
#include "kiln/toolparse_tools.h"
#include "kiln/toolparser.h"

namespace kiln::toolparse {

// Collects the deltas of one parser: trims the edges of content and reasoning, keeps UTF-8
// characters whole within a delta, assigns call indices and ids, and folds everything into
// the result as it goes.
class ToolEmitter {
 public:
  explicit ToolEmitter(IdStyle ids, uint64_t seed) : ids_(ids), idgen_(seed) {}

  void set_tools(ToolSet tools) { tools_ = std::move(tools); }
  const ToolSet& tools() const { return tools_; }
  void reseed(uint64_t seed) { idgen_.reseed(seed); }

  void content(std::string_view text);
  void reasoning(std::string_view text);
  // Starts the next call; returns its index. `id` empty: a generated one.
  int start_call(const std::string& name, const std::string& id = {});
  void arguments(int index, std::string_view fragment);
  // The call is complete (flushes a held partial character of its arguments).
  void end_call(int index);
  // The started call `index` is not a call after all: a problem withdrawing it, then its raw
  // text as content.
  void withdraw(int index, ToolProblem problem, const std::string& message, std::string_view raw);
  // A problem that withdraws nothing (the text concerned is, or becomes, content).
  void flag(ToolProblem problem, const std::string& message);
  // End of output.
  void finish();

  std::vector<ToolDelta> take();
  ParseResult result() const { return builder_.result(); }
  int calls_started() const { return next_index_; }

 private:
  void push(ToolDelta delta);

  IdStyle ids_;
  IdGenerator idgen_;
  ToolSet tools_;
  EdgeTrimmer content_trim_, reasoning_trim_;
  std::string args_held_;  // incomplete UTF-8 tail of the current call's arguments
  int args_index_ = -1;
  int next_index_ = 0;
  std::vector<ToolDelta> pending_;
  ToolResultBuilder builder_;
};

class StreamingToolParser : public ToolCallParser {
 public:
  struct ThinkTags {
    std::string open, close;
  };

  void set_tools(const nlohmann::json& tools) override;
  void set_reasoning_open(bool open) override;
  void set_id_seed(uint64_t seed) override;
  std::vector<ToolDelta> feed(std::string_view text) override;
  std::vector<ToolDelta> finish() override;
  ParseResult result() const override { return out_.result(); }

 protected:
  StreamingToolParser(IdStyle ids, std::vector<ThinkTags> think_tags);

  // One step in the current state over input(): consume() some bytes and/or change state
  // (then call note_progress()). Doing neither means "wait for more input"; with `final` set no
  // more input comes, so a state must then either move on or leave the rest to end_of_input().
  virtual void step(bool final) = 0;
  // finish(), after step() stalled with final set: turn whatever construct is still open into
  // content and problems. Input left unconsumed afterwards becomes content.
  virtual void end_of_input() = 0;

  std::string_view input() const { return std::string_view(buf_).substr(pos_); }
  void consume(size_t n);
  void note_progress() { ++epoch_; }
  ToolEmitter& out() { return out_; }
  const ToolSet& tools() const { return out_.tools(); }

  // Text state: emits content up to the first of `markers` (think tags handled here), holding
  // back a tail that could still grow into one. Returns the index of the marker now at the
  // front of input() (not consumed), or -1.
  int scan_text(const std::vector<std::string_view>& markers, bool final);
  // Consumes leading whitespace of input(), appending it to `raw`. True when a non-space byte
  // is now first.
  bool skip_space(std::string& raw);

 private:
  void run(bool final);
  void reasoning_step(bool final);
  void recover(const char* what);

  ToolEmitter out_;
  std::vector<ThinkTags> think_tags_;
  std::vector<std::string_view> scan_markers_;  // scratch for scan_text
  std::string buf_;
  size_t pos_ = 0;
  uint64_t epoch_ = 0;
  int reasoning_tag_ = -1;  // index into think_tags_ while inside a reasoning block
  bool finished_ = false;
  bool broken_ = false;  // after an internal error everything is content
};

}  // namespace kiln::toolparse
