// Reads the committed fixtures (tests/data/templates/fixtures.json.xz) and the templates they
// were rendered from.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace kiln::test {

std::string read_file(const std::string& path);
std::string xz_decompress(const std::string& compressed);
// The fixture document: conversations, and per template and conversation the expected output,
// raise_exception message or jinja2 error.
const nlohmann::ordered_json& template_fixtures();
std::string template_dir();

}  // namespace kiln::test
