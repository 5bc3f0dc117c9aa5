// The runner's hook for tool-call parsing: generated text goes in piece by piece, content and
// tool-call deltas come out. "none" passes text through as content. Named parsers are
// tool-parser plugins (KILN_PLUGIN_TOOLPARSER); this interface is what the runner needs from
// them, adapted to core/include/kiln/toolparser.h in tool_calls.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::runner {

struct ToolCallDelta {
  int index = 0;          // which tool call of this reply (0, 1, ...)
  std::string id;         // set on the first delta of a call
  std::string name;       // set on the first delta of a call
  std::string arguments;  // a piece of the JSON arguments text
};

struct ParsedDelta {
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && tool_calls.empty(); }
};

class ToolCallStream {
 public:
  virtual ~ToolCallStream() = default;
  virtual ParsedDelta feed(std::string_view text) = 0;
  virtual ParsedDelta finish() = 0;  // flushes what was held back
};

// `parser`: "none" or a tool-parser plugin name. `tools`: the request's tools (JSON array).
// Throws kiln::Error when the parser cannot be loaded.
std::unique_ptr<ToolCallStream> make_tool_call_stream(const std::string& parser,
                                                      const nlohmann::json& tools,
                                                      const std::vector<std::string>& plugin_paths);

}  // namespace kiln::runner
