// `kiln tokenize`: stdin byte-exact, --json, --no-special, --decode, --model, and errors.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sys/wait.h>

#include "test_data.h"

namespace {

struct Run {
  int status;
  std::string out;
};

Run kiln_tokenize(const std::string& args, const std::string& stdin_text) {
  const auto in = kiln::test::scratch_dir() / "cli_stdin.txt";
  std::ofstream(in, std::ios::binary) << stdin_text;
  const std::string cmd = std::string(KILN_BUILD_DIR) + "/bin/kiln tokenize " + args + " < '" + in.string() + "' 2>&1";
  Run r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int rc = pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

std::string json_ids(const std::vector<kiln::TokenId>& ids) { return nlohmann::json{{"ids", ids}}.dump() + "\n"; }

std::string plain_ids(const std::vector<kiln::TokenId>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i]);
  }
  return s + "\n";
}

}  // namespace

TEST_CASE("kiln tokenize: stdin byte-exact, --json, --no-special, --decode", "[tokenizer][cli]") {
  const auto path = kiln::test::tokenizer_data("llama2/tokenizer.json");
  const std::string llama2 = "--tokenizer '" + path.string() + "'";
  const auto& tok = kiln::test::cached_tokenizer(path);

  // The trailing newline and the special-token string are part of the text.
  const std::string text = "Hello <s>world\n";
  Run r = kiln_tokenize(llama2 + " --json", text);
  CHECK(r.status == 0);
  CHECK(r.out == json_ids(tok.encode(text, true)));
  CHECK(tok.encode(text, true).front() == 1);

  r = kiln_tokenize(llama2 + " --no-special", text);
  CHECK(r.status == 0);
  CHECK(r.out == plain_ids(tok.encode(text, false)));

  r = kiln_tokenize(llama2 + " --decode", "1 15043, 3186 13");
  CHECK(r.status == 0);
  CHECK(r.out == tok.decode(std::vector<kiln::TokenId>{1, 15043, 3186, 13}));
  std::vector<kiln::TokenId> hello = tok.encode("Hello", true);
  hello.push_back(2);  // </s>
  r = kiln_tokenize(llama2 + " --decode --no-special --json", nlohmann::json{{"ids", hello}}.dump());
  CHECK(r.out == nlohmann::json{{"text", "Hello"}}.dump() + "\n");
  r = kiln_tokenize(llama2 + " --decode", nlohmann::json(hello).dump());
  CHECK(r.out == "<s> Hello</s>");

  // A model folder and a GGUF file.
  r = kiln_tokenize("--model '" + kiln::test::tokenizer_data("qwen3").string() + "' --json", "<|im_start|>user");
  CHECK(r.out == json_ids({151644, 872}));
  const auto gguf = kiln::test::tokenizer_data("vocab/ggml-vocab-llama-bpe.gguf");
  r = kiln_tokenize("--model '" + gguf.string() + "'", "Hello");
  CHECK(r.out == "128000 9906\n");
}

TEST_CASE("kiln tokenize errors name the problem", "[tokenizer][cli]") {
  Run r = kiln_tokenize("", "x");
  CHECK(r.status == 1);
  CHECK(r.out.find("kiln tokenize:") != std::string::npos);
  r = kiln_tokenize("--tokenizer /nonexistent/tokenizer.json", "x");
  CHECK(r.status == 1);
  CHECK(r.out.find("/nonexistent/tokenizer.json") != std::string::npos);
  const std::string llama2 = "--tokenizer '" + kiln::test::tokenizer_data("llama2/tokenizer.json").string() + "'";
  r = kiln_tokenize(llama2 + " --decode", "1 two 3");
  CHECK(r.status == 1);
  CHECK(r.out.find("'two'") != std::string::npos);
}
