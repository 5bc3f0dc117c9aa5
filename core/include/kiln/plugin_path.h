// Where plugins are looked for, in order: KILN_PLUGIN_PATH (colon-separated), extra paths a
// config adds (plugin_paths), the build tree or install prefix this libkiln_core belongs to
// (<libdir>/kiln/plugins: build/lib/kiln/plugins in a build tree, <prefix>/lib/kiln/plugins
// once installed). A plugin's file is its name plus ".so". A name provided by more than one
// file on the path is refused (both files are named), so no plugin is picked by accident.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/plugin_loader.h"

namespace kiln {

// The search path with `extra` (e.g. a config's plugin_paths) placed after KILN_PLUGIN_PATH.
std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra = {});

// The first <dir>/<name>.so on the search path, if any.
std::optional<std::string> find_plugin_file(const std::string& name,
                                            const std::vector<std::string>& extra = {});

// One .so file seen by a scan: either a loadable plugin or the reason it was refused.
struct PluginRecord {
  std::string path;
  std::string kind;     // "device", "model", "toolparser"; "" when refused before reading it
  std::string name;     // descriptor name ("" when unreadable)
  std::string version;  // the plugin's own version text
  uint32_t contract_version = 0;
  std::string error;    // why it was refused; empty for accepted plugins
};

struct PluginScan {
  std::vector<std::string> search_path;
  std::vector<PluginRecord> accepted;  // in search-path order
  std::vector<PluginRecord> rejected;
};

// Opens every *.so on the search path and checks it (loader checks, file name == descriptor
// name, no duplicate names). Never throws for a bad file: it lands in `rejected`.
PluginScan scan_plugins(const std::vector<std::string>& extra = {});

// Finds <name>.so on the search path and loads it as `kind`. Errors (kiln::Error): not found
// (the message lists the search path), found more than once (names both files), any loader
// refusal, or a descriptor whose name differs from the file's.
PluginHandle load_plugin_by_name(const std::string& name, kiln_plugin_kind kind,
                                 const std::vector<std::string>& extra = {});

}  // namespace kiln
