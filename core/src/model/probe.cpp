// probe_model: the generic metadata view model plugins' claims() look at.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kiln/error.h"
#include "kiln/model.h"

namespace fs = std::filesystem;

namespace kiln {

namespace {
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
}  // namespace

ModelProbe probe_model(const std::string& path) {
  ModelProbe probe;
  probe.path = path;
  if (path.empty()) return probe;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error("model " + path + ": no such file or directory");
  if (fs::is_directory(st)) {
    fs::path config = fs::path(path) / "config.json";
    if (fs::is_regular_file(config, ec)) probe.config = read_json_file(config);
  } else if (fs::path(path).extension() == ".json") {
    probe.config = read_json_file(path);
  }
  return probe;
}

}  // namespace kiln
