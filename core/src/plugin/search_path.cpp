#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "kiln/plugin_path.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

// Directory holding libkiln_core.so: the build tree's lib/ or the install prefix's lib/.
fs::path core_library_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&core_library_dir), &info) && info.dli_fname) {
    return fs::path(info.dli_fname).parent_path();
  }
  return {};
}

void add_unique(std::vector<std::string>& out, const fs::path& p) {
  if (p.empty()) return;
  std::error_code ec;
  fs::path norm = fs::weakly_canonical(p, ec);
  std::string s = (ec ? p : norm).string();
  for (const auto& existing : out)
    if (existing == s) return;
  out.push_back(s);
}

}  // namespace

std::vector<std::string> plugin_search_path(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  if (const char* env = std::getenv("KILN_PLUGIN_PATH")) {
    std::string all(env);
    size_t start = 0;
    while (start <= all.size()) {
      size_t end = all.find(':', start);
      if (end == std::string::npos) end = all.size();
      if (end > start) add_unique(out, all.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const auto& e : extra) add_unique(out, e);
  fs::path lib = core_library_dir();
  if (!lib.empty()) add_unique(out, lib / "kiln" / "plugins");
  return out;
}

std::optional<std::string> find_plugin_file(const std::string& name,
                                            const std::vector<std::string>& extra) {
  for (const auto& dir : plugin_search_path(extra)) {
    fs::path candidate = fs::path(dir) / (name + ".so");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return std::nullopt;
}

}  // namespace kiln
