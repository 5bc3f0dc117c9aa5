// Plugin discovery: the scan behind `kiln plugins` and model auto-detection, and loading a
// plugin by name with duplicate detection.
#include <algorithm>
#include <filesystem>
#include <map>

#include "kiln/error.h"
#include "kiln/plugin_path.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

std::vector<std::string> plugin_files_in(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".so" && it->is_regular_file(ec)) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string joined(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += (out.empty() ? "" : ":") + d;
  return out.empty() ? "(empty)" : out;
}

}  // namespace

PluginScan scan_plugins(const std::vector<std::string>& extra) {
  PluginScan scan;
  scan.search_path = plugin_search_path(extra);
  std::vector<PluginRecord> candidates;
  for (const auto& dir : scan.search_path) {
    for (const auto& file : plugin_files_in(dir)) {
      PluginRecord rec;
      rec.path = file;
      try {
        PluginHandle h = inspect_plugin(file);
        rec.kind = plugin_kind_name(h.kind());
        rec.name = h.name();
        rec.version = h.descriptor().version ? h.descriptor().version : "";
        rec.contract_version = h.descriptor().contract_version;
        if (fs::path(file).stem().string() != rec.name) {
          rec.error = "plugin " + file + ": declares the name '" + rec.name +
                      "' but its file must then be named " + rec.name + ".so";
        }
      } catch (const Error& e) {
        rec.error = e.what();
      }
      candidates.push_back(std::move(rec));
    }
  }
  // A name claimed by two files of the same kind is refused in both.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> by_name;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].error.empty()) by_name[{candidates[i].kind, candidates[i].name}].push_back(i);
  }
  for (const auto& [key, idx] : by_name) {
    if (idx.size() < 2) continue;
    std::string files;
    for (size_t i : idx) files += (files.empty() ? "" : ", ") + candidates[i].path;
    for (size_t i : idx) {
      candidates[i].error = "plugin " + candidates[i].path + ": " + key.first + " plugin name '" +
                            key.second + "' is provided by more than one file (" + files +
                            "); remove one or fix the search path";
    }
  }
  for (auto& rec : candidates) {
    (rec.error.empty() ? scan.accepted : scan.rejected).push_back(std::move(rec));
  }
  return scan;
}

PluginHandle load_plugin_by_name(const std::string& name, kiln_plugin_kind kind,
                                 const std::vector<std::string>& extra) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    throw Error("plugin name '" + name + "' is not a valid plugin name");
  }
  std::vector<std::string> dirs = plugin_search_path(extra);
  std::vector<std::string> found;
  for (const auto& dir : dirs) {
    fs::path candidate = fs::path(dir) / (name + ".so");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) found.push_back(candidate.string());
  }
  if (found.empty()) {
    throw Error(std::string(plugin_kind_name(kind)) + " plugin '" + name + "' not found (" +
                name + ".so on the plugin search path: " + joined(dirs) + ")");
  }
  if (found.size() > 1) {
    throw Error(std::string(plugin_kind_name(kind)) + " plugin '" + name +
                "' is provided by more than one file (" + found[0] + ", " + found[1] +
                "); remove one or fix the search path");
  }
  PluginHandle h = load_plugin(found[0], kind);
  if (h.name() != name) {
    throw Error("plugin " + found[0] + ": declares the name '" + h.name() +
                "' but was looked up as '" + name + "'");
  }
  return h;
}

}  // namespace kiln
