// Paths and small helpers shared by the tokenizer tests.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

#include "kiln/error.h"
#include "kiln/tokenizer.h"

namespace kiln::test {

inline std::filesystem::path tokenizer_data(const std::string& rel) { return std::filesystem::path(TOKENIZER_DATA_DIR) / rel; }
inline std::filesystem::path tokenizer_src_data(const std::string& rel) {
  return std::filesystem::path(TOKENIZER_SRC_DATA_DIR) / rel;
}

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A folder for files a test writes, private to this process (ctest runs test cases in
// parallel processes) and removed at exit.
inline std::filesystem::path scratch_dir() {
  struct Dir {
    std::filesystem::path path = std::filesystem::path(KILN_BUILD_DIR) / "tests" / "tokenizers" / "scratch" /
                                 std::to_string(getpid());
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

// Loading the big vocabularies takes a moment: each is loaded once per test run.
inline const Tokenizer& cached_tokenizer(const std::filesystem::path& p) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[p.string()];
  if (!slot) slot = load_tokenizer(p);
  return *slot;
}

}  // namespace kiln::test
