#include "tool_calls.h"

#include "kiln/error.h"
#include "kiln/plugin_path.h"

namespace kiln::runner {

namespace {

class Passthrough final : public ToolCallStream {
 public:
  ParsedDelta feed(std::string_view text) override { return ParsedDelta{std::string(text), {}}; }
  ParsedDelta finish() override { return {}; }
};

}  // namespace

std::unique_ptr<ToolCallStream> make_tool_call_stream(const std::string& parser,
                                                      const nlohmann::json& tools,
                                                      const std::vector<std::string>& plugin_paths) {
  (void)tools;
  if (parser == "none") return std::make_unique<Passthrough>();
  // Tool-parser plugins: the loader refuses them until their contract (toolparser.h) exists,
  // with a message naming the file; the adapter to that contract goes here.
  PluginHandle h = load_plugin_by_name(parser, KILN_PLUGIN_TOOLPARSER, plugin_paths);
  throw Error("tool parser '" + parser + "' (" + h.path() + ") cannot be used by this runner yet");
}

}  // namespace kiln::runner
