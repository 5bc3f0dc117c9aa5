// The runner's tool-call hookup: generated text goes in piece by piece; content, reasoning
// and tool-call deltas come out, and at the end the folded result. "none" passes text
// through as content; a named parser is a tool-parser plugin (core/include/kiln/
// toolparser.h), loaded once per runner and kept mapped.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::runner {

// One step of a stream, in the protocol's chunk fields.
struct StreamDelta {
  std::string content;
  std::string reasoning;
  nlohmann::json tool_calls = nlohmann::json::array();  // [{index, id?, name?, arguments}]
  nlohmann::json problems = nlohmann::json::array();    // [{problem, index, message}]
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty() && problems.empty(); }
};

class ToolCallStream {
 public:
  virtual ~ToolCallStream() = default;
  virtual StreamDelta feed(std::string_view text) = 0;
  virtual StreamDelta finish() = 0;  // flushes what was held back
  // The folded result: {"text", "reasoning", "tool_calls": [{id, type, function:{name,
  // arguments}}], "problems"}.
  virtual nlohmann::json result() const = 0;
};

struct ToolStreamOptions {
  std::string parser;        // "none" or a tool-parser plugin name
  nlohmann::json tools;      // the request's tools (JSON array)
  std::string prompt;        // the rendered prompt (a trailing <think> opens reasoning)
  uint64_t id_seed = 0;      // makes call ids reproducible
  std::vector<std::string> plugin_paths;
};

// Throws kiln::Error when the parser cannot be loaded or created.
std::unique_ptr<ToolCallStream> make_tool_call_stream(const ToolStreamOptions& options);

// The parser "auto" means for a model: its metadata's "tool_parser", else the parser its
// chat template's markup calls for (metadata "chat_template"), else "none".
std::string auto_tool_parser(const nlohmann::json& metadata);

}  // namespace kiln::runner
