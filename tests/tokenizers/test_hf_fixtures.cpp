// Hugging Face tokenizers' own output for the three real tokenizer.json files (see
// tools/fixtures/tokenizers/make_fixtures.py): encode with and without special tokens, decode
// with and without skipping them, on a few hundred varied strings.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "test_data.h"

namespace {

const nlohmann::json& fixtures() {
  static const nlohmann::json j = nlohmann::json::parse(kiln::test::read_all(kiln::test::tokenizer_src_data("hf_fixtures.json")));
  return j;
}

void check_tokenizer(const std::string& name) {
  const kiln::Tokenizer& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data(name + "/tokenizer.json"));
  const auto& strings = fixtures()["strings"];
  const auto& cases = fixtures()["tokenizers"][name];
  REQUIRE(strings.size() == cases.size());
  REQUIRE(strings.size() >= 300);
  size_t mismatches = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text = strings[i].get<std::string>();
    const auto& c = cases[i];
    INFO(name << " case " << i << " text: [" << text << "]");
    const auto ids = tok.encode(text, true);
    const auto expected = c["ids"].get<std::vector<kiln::TokenId>>();
    CHECK(ids == expected);
    CHECK(tok.encode(text, false) == c["ids_no_special"].get<std::vector<kiln::TokenId>>());
    CHECK(tok.decode(expected, false) == c["decoded"].get<std::string>());
    CHECK(tok.decode(expected, true) == c["decoded_skip"].get<std::string>());
    if (ids != expected) ++mismatches;
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("llama3 tokenizer.json matches Hugging Face tokenizers", "[tokenizer][hf]") { check_tokenizer("llama3"); }
TEST_CASE("llama2 tokenizer.json matches Hugging Face tokenizers", "[tokenizer][hf]") { check_tokenizer("llama2"); }
TEST_CASE("qwen3 tokenizer.json matches Hugging Face tokenizers", "[tokenizer][hf]") { check_tokenizer("qwen3"); }

TEST_CASE("tokenizer_config.json beside tokenizer.json is read", "[tokenizer][hf]") {
  const auto& llama3 = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama3/tokenizer.json"));
  CHECK(llama3.config().bos_token == "<|begin_of_text|>");
  CHECK(llama3.config().eos_token == "<|end_of_text|>");
  CHECK(llama3.bos_id() == 128000);
  CHECK(llama3.eos_id() == 128001);
  CHECK(llama3.eot_id() == 128009);
  CHECK(llama3.config().chat_template.find("<|start_header_id|>") != std::string::npos);
  CHECK(llama3.config().chat_templates.count("default") == 1);

  const auto& qwen = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("qwen3/tokenizer.json"));
  CHECK_FALSE(qwen.config().bos_token.has_value());
  CHECK_FALSE(qwen.bos_id().has_value());
  CHECK(qwen.eos_id() == qwen.token_to_id("<|im_end|>"));
  CHECK(qwen.pad_id() == qwen.token_to_id("<|endoftext|>"));
  CHECK(qwen.is_end_of_generation(*qwen.token_to_id("<|im_end|>")));
  CHECK(qwen.vocab_size() == 151669);

  const auto& llama2 = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama2/tokenizer.json"));
  CHECK(llama2.bos_id() == 1);
  CHECK(llama2.eos_id() == 2);
  CHECK(llama2.config().add_bos_token == true);
  CHECK(llama2.token_to_piece(llama2.token_to_id("<0x0A>").value()) == "\n");
  CHECK(llama2.token_to_piece(llama2.token_to_id("\xE2\x96\x81the").value()) == " the");
  CHECK(llama2.description().find("byte fallback") != std::string::npos);

  // A model folder loads its tokenizer.json.
  const auto folder = kiln::load_tokenizer(kiln::test::tokenizer_data("llama2"));
  CHECK(folder->encode("Hello", true) == llama2.encode("Hello", true));
}

TEST_CASE("concurrent encodes share the word cache safely", "[tokenizer][hf]") {
  const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama3/tokenizer.json"));
  const auto& strings = fixtures()["strings"];
  const auto& cases = fixtures()["tokenizers"]["llama3"];
  std::vector<std::thread> threads;
  std::atomic<size_t> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t round = 0; round < 3; ++round) {
        for (size_t i = t; i < strings.size(); ++i) {
          if (tok.encode(strings[i].get<std::string>(), true) != cases[i]["ids"].get<std::vector<kiln::TokenId>>()) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(mismatches == 0);
}
