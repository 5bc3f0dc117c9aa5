// Reads a JSON file, turning every failure into a kiln::Error that names the file.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

namespace kiln::io {

nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace kiln::io
