// The tool-call parser contract: a plugin turns model output (detokenized with special tokens
// kept) into OpenAI-style tool calls, content and reasoning — from a finished text or
// incrementally while it streams. Tool-call parsers are C++ plugins built with the same compiler
// as Kiln; the object crosses the .so boundary only through the factory table below.
//
// Stream protocol (the order of ToolDelta a parser emits):
//   content / reasoning       text outside markup, in output order
//   call_start  {index,id,name}  once per call, before any of its arguments; indices 0,1,2,...
//   call_arguments {index,text}  fragments of the call's arguments JSON; concatenated they are
//                                the final `arguments` string. Only for the latest started call.
//   problem {problem,text,index} something was malformed. index >= 0 withdraws that started call:
//                                it is not a tool call after all, and its raw text follows as a
//                                content delta. index -1: a flag only (the text is content).
// The final ParseResult equals the fold of all deltas (kiln::ToolResultBuilder), whatever the
// chunking of the input. Methods never throw; a parser object is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#define KILN_TOOLPARSER_API_VERSION 1

namespace kiln {

enum class ToolDeltaType : uint8_t { content, reasoning, call_start, call_arguments, problem };

enum class ToolProblem : uint8_t {
  truncated,          // output ended inside a call (max tokens hit)
  invalid_json,       // a call's JSON does not parse
  invalid_arguments,  // arguments are not a JSON object
  unknown_function,   // tools were given and the name is not one of them
  unbalanced_markup,  // a tag is missing, misplaced or unexpected
  internal_error,     // a bug or out-of-memory inside the parser; the text is kept as content
};

struct ToolDelta {
  ToolDeltaType type = ToolDeltaType::content;
  std::string text;  // content / reasoning / arguments fragment / problem message
  int index = -1;    // call_start, call_arguments; problem: the withdrawn call, or -1
  std::string id;    // call_start
  std::string name;  // call_start
  ToolProblem problem = ToolProblem::internal_error;  // problem
};

struct ToolCall {
  int index = -1;  // the stream index it was started with
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as text
};

struct ToolParseProblem {
  ToolProblem kind = ToolProblem::internal_error;
  int index = -1;  // the withdrawn call, or -1
  std::string message;
};

struct ParseResult {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;
  std::vector<ToolParseProblem> problems;
};

class ToolCallParser {
 public:
  virtual ~ToolCallParser() = default;
  // The request's tools, OpenAI form: [{"type":"function","function":{"name":..,"parameters":..}}]
  // (bare {"name":..} entries are accepted too). Empty: any function name is accepted. Entries
  // that cannot be read are ignored (kiln::ToolSet::validate reports them to the caller).
  virtual void set_tools(const nlohmann::json& tools) = 0;
  // The prompt already opened a reasoning block (the chat template ended with "<think>"), so
  // output starts as reasoning until the closing tag.
  virtual void set_reasoning_open(bool open) = 0;
  // Call ids are random; a fixed seed makes them reproducible.
  virtual void set_id_seed(uint64_t seed) = 0;
  // Call these three before the first feed().
  virtual std::vector<ToolDelta> feed(std::string_view text) = 0;
  // End of output: resolves what was held back (truncated calls become content + a problem).
  virtual std::vector<ToolDelta> finish() = 0;
  // Everything so far, folded; after finish() it is final.
  virtual ParseResult result() const = 0;
};

}  // namespace kiln

extern "C" {
// The table a tool-parser plugin's descriptor points to (kiln_plugin_descriptor::api).
struct kiln_toolparser_api {
  uint32_t struct_size;     // sizeof(kiln_toolparser_api)
  const char* description;  // one line: which model families, which markup
  // NULL-terminated list of markup strings the parser recognises (informative; automatic
  // selection is kiln::detect_tool_parser in kiln/toolparser_host.h).
  const char* const* markers;
  kiln::ToolCallParser* (*create)(void);  // nullptr on failure; never throws
  void (*destroy)(kiln::ToolCallParser*);
};
}

namespace kiln {

// Folding deltas into a result: what every parser's result() does, and what a consumer of a
// delta stream does to get the same result.
class ToolResultBuilder {
 public:
  void apply(const ToolDelta& delta);
  void apply(const std::vector<ToolDelta>& deltas) {
    for (const auto& d : deltas) apply(d);
  }
  ParseResult result() const;

 private:
  ParseResult acc_;
  std::vector<int> withdrawn_;
};

const char* tool_problem_name(ToolProblem problem);
const char* tool_delta_type_name(ToolDeltaType type);
// {"content":..,"reasoning":..,"tool_calls":[{"id","type":"function","function":{"name","arguments"}}],
//  "problems":[{"problem","index","message"}]}
nlohmann::json to_json(const ParseResult& result);
// {"type":"content","text":..} / {"type":"call_start","index","id","name"} /
// {"type":"call_arguments","index","text"} / {"type":"problem","problem","index","message"}
nlohmann::json to_json(const ToolDelta& delta);

}  // namespace kiln

// Declares a tool-parser plugin whose parser class is CLASS (default-constructible): the api
// table, the descriptor and the entry symbol. MARKERS: a NULL-terminated const char* array.
#include "kiln/plugin.h"

namespace kiln::detail {
template <class Parser>
ToolCallParser* create_tool_parser() noexcept {
  try {
    return new Parser();
  } catch (...) {
    return nullptr;
  }
}
inline void destroy_tool_parser(ToolCallParser* parser) noexcept { delete parser; }
}  // namespace kiln::detail

#define KILN_DECLARE_TOOLPARSER(NAME, VERSION, CLASS, DESCRIPTION, MARKERS)                    \
  static const kiln_toolparser_api kiln_toolparser_api_table = {                               \
      sizeof(kiln_toolparser_api), DESCRIPTION, MARKERS,                                       \
      &::kiln::detail::create_tool_parser<CLASS>, &::kiln::detail::destroy_tool_parser};       \
  static const kiln_plugin_descriptor kiln_toolparser_descriptor = {                           \
      KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_TOOLPARSER, NAME, VERSION,                   \
      KILN_TOOLPARSER_API_VERSION,    0,                      &kiln_toolparser_api_table};     \
  static const kiln_plugin_descriptor* kiln_toolparser_entry() {                               \
    return &kiln_toolparser_descriptor;                                                        \
  }                                                                                            \
  KILN_DECLARE_PLUGIN(kiln_toolparser_entry)
