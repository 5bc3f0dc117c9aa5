// tokenizer.model through the sentencepiece library, against the Python sentencepiece output
// for a tiny model trained by tools/fixtures/tokenizers/make_fixtures.py.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "test_data.h"

TEST_CASE("SentencePiece tokenizer.model matches the sentencepiece library", "[tokenizer][sentencepiece]") {
  const auto fx = nlohmann::json::parse(kiln::test::read_all(kiln::test::tokenizer_src_data("sp_fixtures.json")));
  const auto tok = kiln::load_tokenizer(kiln::test::tokenizer_src_data("tiny_sp/tokenizer.model"));
  CHECK(tok->description().find("SentencePiece") != std::string::npos);
  REQUIRE(fx["cases"].size() >= 200);
  const kiln::TokenId bos = fx["bos_id"].get<kiln::TokenId>();
  CHECK(tok->bos_id() == bos);
  CHECK(tok->eos_id() == fx["eos_id"].get<kiln::TokenId>());
  for (const auto& c : fx["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const auto ids = c["ids"].get<std::vector<kiln::TokenId>>();
    INFO("text: [" << text << "]");
    CHECK(tok->encode(text, false) == ids);
    std::vector<kiln::TokenId> with_bos{bos};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    CHECK(tok->encode(text, true) == with_bos);
    CHECK(tok->decode(ids) == c["decoded"].get<std::string>());
    // Streaming gives the same text.
    kiln::StreamingDecoder stream(*tok);
    std::string streamed = stream.feed(ids);
    streamed += stream.finish();
    CHECK(streamed == tok->decode(ids));
  }
}

TEST_CASE("SentencePiece control tokens written in the text become their ids", "[tokenizer][sentencepiece]") {
  const auto tok = kiln::load_tokenizer(kiln::test::tokenizer_src_data("tiny_sp/tokenizer.model"));
  const auto ids = tok->encode("<s>Hello</s>", false);
  REQUIRE(ids.size() >= 3);
  CHECK(ids.front() == 1);
  CHECK(ids.back() == 2);
  CHECK(tok->is_special(1));
  CHECK(tok->decode(ids, true) == "Hello");
  CHECK(tok->token_to_id("<tool>").has_value());
  CHECK_FALSE(tok->token_to_id("no such piece").has_value());
  CHECK_THROWS_AS(tok->token_text(100000), kiln::Error);
}
