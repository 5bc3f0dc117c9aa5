// kiln parse-tools: whole and --stream output agree with the library, bad flags are errors.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness.h"

namespace {

struct Output {
  int status;
  std::string out;
};

Output run_cli(const std::string& args, const std::string& stdin_text) {
  const auto dir = std::filesystem::temp_directory_path() / ("kiln_parse_tools_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto in_path = dir / "in.txt";
  std::ofstream(in_path, std::ios::binary) << stdin_text;
  const std::string cmd = std::string(KILN_CLI_PATH) + " parse-tools " + args + " < " +
                          in_path.string() + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  std::filesystem::remove_all(dir);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

}  // namespace

TEST_CASE("kiln parse-tools prints the result, whole or streamed", "[toolparsers]") {
  for (const auto& parser : tp_test::kParsers) {
    const auto& file = tp_test::case_file(parser);
    const std::string tools =
        write_temp("kiln_tools_" + parser + ".json", file["tool_sets"]["default"].dump());
    for (size_t i = 0; i < file["cases"].size(); i += 7) {
      const auto& c = file["cases"][i];
      if (c["tools"] != "default" || c.value("reasoning_open", false)) continue;
      INFO(parser << ": " << c["name"].get<std::string>());
      tp_test::Options opt;
      opt.tools = file["tool_sets"]["default"];
      opt.seed = 5;
      const auto expected = kiln::to_json(tp_test::run_whole(parser, c["input"], opt).result);

      Output whole = run_cli("--parser " + parser + " --tools " + tools + " --id-seed 5", c["input"]);
      REQUIRE(whole.status == 0);
      CHECK(nlohmann::json::parse(whole.out) == expected);

      Output stream = run_cli("--parser " + parser + " --tools " + tools + " --id-seed 5 --stream --chunk 3",
                              c["input"]);
      REQUIRE(stream.status == 0);
      std::istringstream lines(stream.out);
      std::string line, last;
      size_t count = 0;
      while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);
        CHECK(j.contains("type"));
        last = line;
        ++count;
      }
      REQUIRE(count >= 1);
      auto final_line = nlohmann::json::parse(last);
      CHECK(final_line["type"] == "result");
      CHECK(final_line["result"] == expected);
    }
    std::filesystem::remove(tools);
  }
}

TEST_CASE("kiln parse-tools chooses the parser from a template and reports bad input", "[toolparsers]") {
  const std::string tmpl =
      std::string(KILN_TEST_DATA_DIR) + "/toolparsers/templates/Qwen-Qwen2.5-7B-Instruct.jinja";
  Output o = run_cli("--template " + tmpl, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>");
  REQUIRE(o.status == 0);
  CHECK(nlohmann::json::parse(o.out)["tool_calls"][0]["function"]["name"] == "f");

  Output unknown = run_cli("--parser nope", "x");
  CHECK(unknown.status == 1);
  CHECK_THAT(unknown.out, Catch::Contains("nope"));

  const std::string bad = write_temp("kiln_bad_tools.json", R"([{"type": "function", "function": {}}])");
  Output bad_tools = run_cli("--parser hermes --tools " + bad, "x");
  CHECK(bad_tools.status == 1);
  CHECK_THAT(bad_tools.out, Catch::Contains("tools[0].function.name"));
  std::filesystem::remove(bad);

  Output missing = run_cli("", "x");
  CHECK(missing.status == 1);
  CHECK_THAT(missing.out, Catch::Contains("--parser"));
}
