// StreamingDecoder: characters split across tokens are held back until complete, and the
// streamed text equals decode() of all ids.
#include <catch2/catch.hpp>

#include "test_data.h"
#include "text/utf8.h"

namespace {

void check_stream(const kiln::Tokenizer& tok, const std::string& text, bool skip_special = false) {
  const auto ids = tok.encode(text, true);
  kiln::StreamingDecoder stream(tok, skip_special);
  std::string all;
  for (kiln::TokenId id : ids) {
    const std::string part = stream.feed(id);
    INFO("text: [" << text << "] part: [" << part << "]");
    CHECK(kiln::text::utf8_valid(part));
    all += part;
  }
  all += stream.finish();
  CHECK(all == tok.decode(ids, skip_special));
}

const char* kTexts[] = {
    "Hello world",
    " leading space and trailing ",
    "🚀 (normal) 😶‍🌫️ emoji ✅ 🦙🦙",
    "我想在apple工作1314151天～",
    "ied 4 ½ months, Äpfel, Привет",
    "កាន់តែពិសេសអាច",
    "\n\n  \t code() {\n}\n",
    "<|im_start|>user\nHi 👋<|im_end|>",
    "<s> Hello</s>",
};

}  // namespace

TEST_CASE("streaming decode holds back partial UTF-8 (byte fallback)", "[tokenizer][streaming]") {
  const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama2/tokenizer.json"));
  // "🦙" is not a Llama 2 token: it is four byte tokens <0xF0> <0x9F> <0xA6> <0x99>.
  const auto ids = tok.encode("🦙", false);
  REQUIRE(ids.size() == 5);  // "▁" then the four bytes
  kiln::StreamingDecoder stream(tok);
  CHECK(stream.feed(ids[0]).empty());  // the prefix space is dropped at the start
  CHECK(stream.feed(ids[1]).empty());
  CHECK(stream.feed(ids[2]).empty());
  CHECK(stream.feed(ids[3]).empty());
  CHECK(stream.feed(ids[4]) == "🦙");
  CHECK(stream.finish().empty());
  for (const char* t : kTexts) check_stream(tok, t);
  for (const char* t : kTexts) check_stream(tok, t, true);
}

TEST_CASE("streaming decode holds back partial UTF-8 (byte-level BPE)", "[tokenizer][streaming]") {
  const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama3/tokenizer.json"));
  // "😶‍🌫️" spans several byte-level tokens that each end mid-character.
  const auto ids = tok.encode("😶‍🌫️", false);
  REQUIRE(ids.size() > 1);
  kiln::StreamingDecoder stream(tok);
  std::string all;
  size_t empty_steps = 0;
  for (kiln::TokenId id : ids) {
    const std::string part = stream.feed(id);
    CHECK(kiln::text::utf8_valid(part));
    if (part.empty()) ++empty_steps;
    all += part;
  }
  CHECK(empty_steps > 0);
  CHECK(all == "😶‍🌫️");
  for (const char* t : kTexts) check_stream(tok, t);
  const auto& qwen = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("qwen3/tokenizer.json"));
  for (const char* t : kTexts) check_stream(qwen, t);
  for (const char* t : kTexts) check_stream(qwen, t, true);
}

TEST_CASE("streaming decode with GGUF vocabularies", "[tokenizer][streaming]") {
  for (const char* name : {"llama-spm", "gemma-4"}) {
    const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data(std::string("vocab/ggml-vocab-") + name + ".gguf"));
    for (const char* t : kTexts) check_stream(tok, t);
    for (const char* t : kTexts) check_stream(tok, t, true);
  }
}

TEST_CASE("an unfinished character at the end becomes U+FFFD", "[tokenizer][streaming]") {
  const auto& tok = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("llama2/tokenizer.json"));
  kiln::StreamingDecoder stream(tok);
  const auto a = tok.token_to_id("a").value();
  const auto f0 = tok.token_to_id("<0xF0>").value();
  const auto x9f = tok.token_to_id("<0x9F>").value();
  CHECK(stream.feed(a) == "a");
  CHECK(stream.feed(f0).empty());
  CHECK(stream.feed(x9f).empty());
  CHECK(stream.finish() == "\xEF\xBF\xBD");
  // After finish() the decoder starts a new text.
  CHECK(stream.feed(a) == "a");
}
