// `kiln bench llm` end to end on a tiny GGUF fixture: Kiln's own figures, and llama.cpp and
// tinygrad run in the same process tree on the same prompt and threads when a Python with them
// is installed (else each says why it was skipped).
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

using json = nlohmann::json;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(pclose(p) == 0);
  return out;
}

bool python_has(const std::string& module) {
  for (const char* py :
       {static_cast<const char*>(std::getenv("KILN_PYTHON")), "/work/venv/bin/python", "python3"})
    if (py &&
        std::system((std::string(py) + " -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0)
      return true;
  return false;
}

}  // namespace

TEST_CASE("kiln bench llm reports kiln, llama.cpp and tinygrad figures in one JSON object") {
  const std::string model = std::string(KILN_TEST_DATA_DIR) + "/llama/llama3_gqa/model.f32.gguf";
  std::string out =
      run(std::string(KILN_BUILD_DIR) + "/bin/kiln bench llm --model '" + model +
          "' --prompt-tokens 16 --decode-tokens 4 --threads 1 --peer-timeout 300 --json");
  // the JSON object is the last line
  size_t end = out.find_last_not_of(" \n");
  REQUIRE(end != std::string::npos);
  size_t line = out.rfind('\n', end);
  json r = json::parse(out.substr(line == std::string::npos ? 0 : line + 1));
  INFO(r.dump(1));
  CHECK(r["threads"] == 1);
  CHECK(r["kiln"]["prompt_tokens"] == 16);
  CHECK(r["kiln"]["decode_tok_s"].get<double>() > 0);
  if (python_has("llama_cpp")) {
    CHECK(r["llama_cpp"]["decode_tok_s"].get<double>() > 0);
    CHECK(r["kiln_over_llama_cpp"]["decode_tok_s"].get<double>() > 0);
  } else {
    CHECK(r["llama_cpp"].contains("skipped"));
  }
  if (python_has("tinygrad")) {
    // tinygrad ran Kiln's prompt (16 ids) and 4 greedy tokens on one thread
    CHECK(r["tinygrad"]["peer"] == "tinygrad");
    CHECK(r["tinygrad"]["prompt_tokens"] == 16);
    CHECK(r["tinygrad"]["new_tokens"] == 4);
    CHECK(r["tinygrad"]["threads"] == 1);
    CHECK(r["tinygrad"]["decode_tok_s"].get<double>() > 0);
    CHECK(r["kiln_over_tinygrad"]["prefill_tok_s"].get<double>() > 0);
  } else {
    CHECK(r["tinygrad"].contains("skipped"));
  }
}

TEST_CASE("kiln generate --json lists one id per generated token") {
  // (the ids come from the result: the loop's last event may carry only held-back text, id -1)
  const std::string model = std::string(KILN_TEST_DATA_DIR) + "/llama/llama3_gqa/model.f32.gguf";
  std::string out = run(std::string(KILN_BUILD_DIR) + "/bin/kiln generate --model '" + model +
                        "' --device cpu --prompt-ids 1,2,3,4 --max-tokens 12 --ignore-eos --json");
  size_t end = out.find_last_not_of(" \n");
  REQUIRE(end != std::string::npos);
  size_t line = out.rfind('\n', end);
  json r = json::parse(out.substr(line == std::string::npos ? 0 : line + 1));
  INFO(r.dump());
  REQUIRE(r["token_ids"].size() == 12);
  for (const auto& id : r["token_ids"]) CHECK(id.get<int>() >= 0);
  CHECK(r["finish_reason"] == "length");
  CHECK(r["prompt_tokens"] == 4);
}
