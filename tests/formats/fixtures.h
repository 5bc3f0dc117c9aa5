// Helpers shared by the format tests: fixture paths, whole-file reads, xz decompression.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kiln/mapped_file.h"

namespace kiln::test {

std::filesystem::path formats_data(const std::string& name);  // tests/data/formats/NAME
std::vector<std::byte> read_bytes(const std::filesystem::path& path);
std::vector<std::byte> read_xz(const std::filesystem::path& path);
std::string read_text(const std::filesystem::path& path);
std::shared_ptr<const MappedFile> in_memory(std::vector<std::byte> bytes,
                                            const std::string& name = "mem.bin");

}  // namespace kiln::test

namespace kiln::test {
void write_text(const std::filesystem::path& path, const std::string& text);
void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes);
}  // namespace kiln::test
