// A second process running the same program compiles 0 kernels (warm disk cache).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

static std::string run_probe(const std::string& cache_dir, const std::string& env = "") {
  std::string cmd = env + " KILN_CACHE_DIR=" + cache_dir + " " CACHE_PROBE;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[256] = {0};
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  REQUIRE(pclose(p) == 0);
  return out;
}

TEST_CASE("a warm kernel cache compiles nothing in a second process") {
  auto dir = std::filesystem::temp_directory_path() / ("kiln-cache-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string first = run_probe(dir.string());
  std::string second = run_probe(dir.string());
  std::filesystem::remove_all(dir);
  INFO(first << second);
  CHECK(first.find("compiled=0 ") == std::string::npos);
  CHECK(second.find("compiled=0 ") != std::string::npos);
  CHECK(second.find("from_disk=0") == std::string::npos);
}

TEST_CASE("BEAM winners are cached: a second BEAM run searches and compiles nothing") {
  auto dir = std::filesystem::temp_directory_path() / ("kiln-beam-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::string first = run_probe(dir.string(), "KILN_BEAM=2");
  bool has_beam_files = std::filesystem::exists(dir / "beam");
  std::string second = run_probe(dir.string(), "KILN_BEAM=2");
  std::filesystem::remove_all(dir);
  INFO(first << second);
  CHECK(has_beam_files);
  CHECK(second.find("compiled=0 ") != std::string::npos);
}
