// kiln plugins [--plugin-path DIR] [--json]: what plugins are found on the search path, and
// why any was refused.
#include <iostream>
#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/plugin_path.h"

namespace {

int run_plugins(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--plugin-path"}, {"--json"});
  std::vector<std::string> extra;
  if (auto p = args.get("--plugin-path")) extra.push_back(*p);
  kiln::PluginScan scan = kiln::scan_plugins(extra);
  if (args.has("--json")) {
    nlohmann::json out = {{"search_path", scan.search_path}, {"plugins", nlohmann::json::array()},
                          {"rejected", nlohmann::json::array()}};
    for (const auto& r : scan.accepted) {
      out["plugins"].push_back({{"kind", r.kind}, {"name", r.name}, {"version", r.version},
                                {"contract_version", r.contract_version}, {"file", r.path}});
    }
    for (const auto& r : scan.rejected) out["rejected"].push_back({{"file", r.path}, {"error", r.error}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::cout << "search path:\n";
  for (const auto& d : scan.search_path) std::cout << "  " << d << "\n";
  std::cout << "\nplugins:\n";
  if (scan.accepted.empty()) std::cout << "  (none)\n";
  for (const auto& r : scan.accepted) {
    std::printf("  %-10s %-16s %-28s %s\n", r.kind.c_str(), r.name.c_str(), r.version.c_str(), r.path.c_str());
  }
  if (!scan.rejected.empty()) {
    std::cout << "\nrefused:\n";
    for (const auto& r : scan.rejected) std::cout << "  " << r.error << "\n";
  }
  return 0;
}

}  // namespace

KILN_COMMAND("plugins", "[--plugin-path DIR] [--json]",
             "list the plugins on the search path (kind, name, version, file) and why any was refused",
             run_plugins);
