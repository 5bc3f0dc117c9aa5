// Where plugins are looked for, in order: KILN_PLUGIN_PATH (colon-separated), extra paths a
// config adds, the build tree (lib/kiln/plugins next to bin/), the install prefix
// (<prefix>/lib/kiln/plugins). A plugin's file name is its name plus ".so".
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kiln {

// The search path with `extra` (e.g. a config's plugin_paths) placed after KILN_PLUGIN_PATH.
std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra = {});

// The first <dir>/<name>.so on the search path, if any.
std::optional<std::string> find_plugin_file(const std::string& name,
                                            const std::vector<std::string>& extra = {});

}  // namespace kiln
