// Malformed or unsupported tokenizer files give kiln::Error naming the file (and the field),
// never a crash.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "test_data.h"
#include "kiln/error.h"

namespace {

using kiln::test::scratch_dir;

std::filesystem::path write_file(const std::string& name, const std::string& content) {
  const auto p = scratch_dir() / name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

// Loading `content` as tokenizer.json fails with a message containing every part of `expect`.
void expect_error(const std::string& content, std::initializer_list<std::string> expect) {
  const auto p = write_file("bad_tokenizer.json", content);
  INFO("content: " << content);
  try {
    kiln::load_tokenizer(p);
    FAIL("no error");
  } catch (const kiln::Error& e) {
    const std::string msg = e.what();
    INFO("message: " << msg);
    CHECK(msg.find(p.string()) != std::string::npos);
    for (const auto& part : expect) CHECK(msg.find(part) != std::string::npos);
  }
}

const std::string kModel = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

}  // namespace

TEST_CASE("malformed tokenizer.json gives kiln::Error naming the file and field", "[tokenizer][errors]") {
  expect_error("", {"not valid JSON"});
  expect_error("{\"model\": ", {"not valid JSON"});
  expect_error("[1, 2]", {"top level"});
  expect_error("{}", {"model"});
  expect_error(R"({"model": {"type": "Unigram", "vocab": []}})", {"model.type", "Unigram"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})", {"model.vocab.a"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": -3}, "merges": []}})", {"model.vocab.a"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]}})", {"model.merges[0]", "missing"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["abc"]}})", {"model.merges[0]"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})", {"model.merges[0]"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}}})", {"model.merges", "missing"});
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}})", {"dropout"});
  expect_error("{" + kModel + R"(, "normalizer": {"type": "Nope"}})", {"normalizer.type", "Nope"});
  expect_error("{" + kModel + R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, 5]}})",
               {"normalizer.normalizers[1]"});
  expect_error("{" + kModel + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})",
               {"pre_tokenizer.pattern", "invalid regex"});
  expect_error("{" + kModel + R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}})",
               {"pre_tokenizer.behavior", "Sideways"});
  expect_error("{" + kModel + R"(, "decoder": {"type": "Strip", "content": "ab", "start": 1, "stop": 0}})",
               {"decoder.content"});
  expect_error("{" + kModel + R"(, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {}}})",
               {"post_processor.special_tokens", "<s>"});
  expect_error("{" + kModel + R"(, "added_tokens": [{"id": 5, "content": ""}]})", {"added_tokens[0].content"});
  expect_error("{" + kModel + R"(, "added_tokens": [{"content": "x"}]})", {"added_tokens[0].id"});
}

TEST_CASE("a small valid tokenizer.json works", "[tokenizer][errors]") {
  const auto p = write_file("small_tokenizer.json", "{" + kModel + "}");
  const auto tok = kiln::load_tokenizer(p);
  CHECK(tok->encode("ab", true) == std::vector<kiln::TokenId>{2});
  CHECK(tok->encode("ba", true) == std::vector<kiln::TokenId>{1, 0});
  CHECK(tok->encode("abc", true) == std::vector<kiln::TokenId>{2});  // no unk token: 'c' is dropped
  CHECK(tok->decode(std::vector<kiln::TokenId>{2, 0, 99}) == "ab a");  // no decoder: joined by spaces
  CHECK_THROWS_AS(tok->token_text(99), kiln::Error);
}

TEST_CASE("malformed tokenizer_config.json, GGUF and tokenizer.model give kiln::Error", "[tokenizer][errors]") {
  const auto dir = scratch_dir() / "bad_config";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << "{" + kModel + "}";
  std::ofstream(dir / "tokenizer_config.json", std::ios::binary) << R"({"chat_template": 42})";
  try {
    kiln::load_tokenizer(dir);
    FAIL("no error");
  } catch (const kiln::Error& e) {
    CHECK(std::string(e.what()).find("tokenizer_config.json") != std::string::npos);
    CHECK(std::string(e.what()).find("chat_template") != std::string::npos);
  }

  // A GGUF file cut short.
  const std::string gguf = kiln::test::read_all(kiln::test::tokenizer_data("vocab/ggml-vocab-llama-spm.gguf"));
  for (size_t cut : {size_t{3}, size_t{24}, size_t{100}, gguf.size() / 2}) {
    const auto p = write_file("cut.gguf", gguf.substr(0, cut));
    INFO("cut at " << cut);
    try {
      kiln::load_tokenizer(p);
      FAIL("no error");
    } catch (const kiln::Error& e) {
      CHECK(std::string(e.what()).find("cut.gguf") != std::string::npos);
    }
  }

  const auto sp = write_file("garbage.model", std::string("\x0a\xff\xff\xff\x0f garbage", 14));
  try {
    kiln::load_tokenizer(sp);
    FAIL("no error");
  } catch (const kiln::Error& e) {
    CHECK(std::string(e.what()).find("garbage.model") != std::string::npos);
  }

  CHECK_THROWS_AS(kiln::load_tokenizer(scratch_dir() / "does-not-exist.json"), kiln::Error);
  const auto empty_dir = scratch_dir() / "empty_folder";
  std::filesystem::create_directories(empty_dir);
  CHECK_THROWS_AS(kiln::load_tokenizer(empty_dir), kiln::Error);
}

TEST_CASE("invalid UTF-8 input is read as U+FFFD, not rejected", "[tokenizer][errors]") {
  const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama3/tokenizer.json"));
  CHECK(tok.encode("a\xff" "b", false) == tok.encode("a\xEF\xBF\xBD" "b", false));
  CHECK(tok.encode("\xE2\x82", false) == tok.encode("\xEF\xBF\xBD", false));
}
