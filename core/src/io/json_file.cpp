#include "io/json_file.h"

#include "kiln/error.h"
#include "kiln/mapped_file.h"

namespace kiln::io {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  auto file = MappedFile::open(path);
  const char* begin = reinterpret_cast<const char*>(file->data());
  try {
    return nlohmann::json::parse(begin, begin + file->size());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": invalid JSON: " + e.what());
  }
}

}  // namespace kiln::io
