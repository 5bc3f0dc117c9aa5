// probe_model: the generic metadata view model plugins' claims() look at.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/error.h"
#include "kiln/model.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

nlohmann::json read_json_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("model " + file.string() + ": cannot be read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error("model " + file.string() + ": malformed JSON: " + e.what());
  }
}

// What ModelSource opens: folders and weight files.
bool is_model_source(const fs::path& p, bool directory) {
  const std::string name = p.filename().string();
  return directory || ends_with(name, ".gguf") || ends_with(name, ".safetensors") ||
         name.find(".safetensors.index") != std::string::npos;
}

}  // namespace

ModelProbe probe_model(const std::string& path) {
  ModelProbe probe;
  probe.path = path;
  if (path.empty()) return probe;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error("model " + path + ": no such file or directory");
  if (is_model_source(path, fs::is_directory(st))) {
    probe.source = std::make_shared<const ModelSource>(ModelSource::open(path));
    probe.config = probe.source->config();
    probe.architectures = probe.source->architectures();
  } else if (fs::path(path).extension() == ".json") {
    probe.config = read_json_file(path);
    if (probe.config.is_object()) {
      if (auto a = probe.config.find("architecture"); a != probe.config.end() && a->is_string()) {
        probe.architectures.push_back(*a);
      }
      if (auto a = probe.config.find("architectures"); a != probe.config.end() && a->is_array()) {
        for (const auto& v : *a)
          if (v.is_string()) probe.architectures.push_back(v);
      }
    }
  }
  return probe;
}

}  // namespace kiln
