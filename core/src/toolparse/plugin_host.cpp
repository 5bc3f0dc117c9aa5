// Loading tool-parser plugins and creating parsers that keep their plugin mapped.
#include "kiln/error.h"
#include "kiln/plugin_path.h"
#include "kiln/toolparser_host.h"

namespace kiln {

ToolParserPlugin ToolParserPlugin::load_file(const std::string& path) {
  ToolParserPlugin plugin;
  plugin.handle_ = load_plugin(path, KILN_PLUGIN_TOOLPARSER);
  const auto* api = static_cast<const kiln_toolparser_api*>(plugin.handle_.api());
  if (api->struct_size < sizeof(kiln_toolparser_api)) {
    throw Error("plugin " + path + ": tool-parser api table has struct_size " +
                std::to_string(api->struct_size) + ", this Kiln needs at least " +
                std::to_string(sizeof(kiln_toolparser_api)));
  }
  if (api->create == nullptr || api->destroy == nullptr) {
    throw Error("plugin " + path + ": tool-parser api table lacks create or destroy");
  }
  plugin.api_ = api;
  return plugin;
}

ToolParserPlugin ToolParserPlugin::load(const std::string& name,
                                        const std::vector<std::string>& extra_paths) {
  auto file = find_plugin_file(name, extra_paths);
  if (!file) {
    std::string searched;
    for (const auto& dir : plugin_search_path(extra_paths)) searched += " " + dir;
    throw Error("tool parser '" + name + "': no " + name + ".so on the plugin search path (" +
                (searched.empty() ? std::string(" empty") : searched) + " )");
  }
  return load_file(*file);
}

std::vector<std::string> ToolParserPlugin::markers() const {
  std::vector<std::string> out;
  if (api_ && api_->markers)
    for (const char* const* m = api_->markers; *m; ++m) out.emplace_back(*m);
  return out;
}

ToolParserPtr ToolParserPlugin::create() const {
  ToolCallParser* parser = api_->create();
  if (!parser) throw Error("plugin " + path() + ": creating a tool parser failed");
  return ToolParserPtr(parser, ToolParserDeleter{api_->destroy, handle_});
}

}  // namespace kiln
