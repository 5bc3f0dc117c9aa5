// The host side of tool-call parsing: choosing a parser from a chat template, loading a parser
// plugin by name, and creating parser objects that keep their plugin mapped.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/plugin_loader.h"
#include "kiln/toolparser.h"

namespace kiln {

// Which parser a chat template's markup calls for: "qwen3_xml" (<function=NAME> with
// <parameter=P>), "hermes" (<tool_call>), "llama3_json" (<|python_tag|>, or Llama 3.1+'s JSON
// function-call prompt), "mistral" ([TOOL_CALLS]); nullopt when none of them fits (including
// <function=NAME>{json}</function>, Functionary's format).
std::optional<std::string> detect_tool_parser(std::string_view chat_template);

// True when a rendered prompt leaves the model inside a reasoning block (it ends with an open
// "<think>" or "[THINK]"): pass it to ToolCallParser::set_reasoning_open.
bool prompt_opens_reasoning(std::string_view prompt);

struct ToolParserDeleter {
  void (*destroy)(ToolCallParser*) = nullptr;
  PluginHandle plugin;  // the .so stays mapped while a parser made by it lives
  void operator()(ToolCallParser* parser) const {
    if (parser && destroy) destroy(parser);
  }
};
using ToolParserPtr = std::unique_ptr<ToolCallParser, ToolParserDeleter>;

// A loaded tool-parser plugin.
class ToolParserPlugin {
 public:
  // Loads the plugin file at `path` (kiln::Error naming the file on any refusal).
  static ToolParserPlugin load_file(const std::string& path);
  // Finds <name>.so on the plugin search path (kiln::find_plugin_file) and loads it.
  static ToolParserPlugin load(const std::string& name,
                               const std::vector<std::string>& extra_paths = {});

  const std::string& name() const { return handle_.name(); }
  const std::string& path() const { return handle_.path(); }
  const kiln_toolparser_api& api() const { return *api_; }
  std::vector<std::string> markers() const;
  // A new parser (kiln::Error if the plugin's factory fails).
  ToolParserPtr create() const;

 private:
  PluginHandle handle_;
  const kiln_toolparser_api* api_ = nullptr;
};

}  // namespace kiln
