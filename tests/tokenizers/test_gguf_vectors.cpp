// llama.cpp's tokenizer vectors for four GGUF vocabularies: every text must give exactly the
// listed ids (no BOS), and decoding them must give the text back.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_data.h"

namespace {

struct Vector {
  std::string text;
  std::vector<kiln::TokenId> ids;
};

std::vector<Vector> read_vectors(const std::string& name) {
  const std::string inp = kiln::test::read_all(kiln::test::tokenizer_src_data("vocab/ggml-vocab-" + name + ".gguf.inp"));
  const std::string out = kiln::test::read_all(kiln::test::tokenizer_src_data("vocab/ggml-vocab-" + name + ".gguf.out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  while (true) {
    const size_t hit = inp.find(sep, pos);
    if (hit == std::string::npos) {
      if (pos < inp.size()) texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  std::vector<std::vector<kiln::TokenId>> ids;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream nums(line);
    std::vector<kiln::TokenId> v;
    for (long x; nums >> x;) v.push_back(static_cast<kiln::TokenId>(x));
    ids.push_back(v);
  }
  REQUIRE(texts.size() == ids.size());
  std::vector<Vector> result;
  for (size_t i = 0; i < texts.size(); ++i) result.push_back({texts[i], ids[i]});
  return result;
}

void check_vocab(const std::string& name, bool round_trip, const std::filesystem::path& file = {}) {
  const kiln::Tokenizer& tok = kiln::test::cached_tokenizer(
      file.empty() ? kiln::test::tokenizer_data("vocab/ggml-vocab-" + name + ".gguf") : file);
  const auto vectors = read_vectors(name);
  CHECK(vectors.size() >= 40);
  for (const Vector& v : vectors) {
    INFO(name << " text: [" << v.text << "]");
    CHECK(tok.encode(v.text, false) == v.ids);
    if (round_trip) CHECK(tok.decode(v.ids) == v.text);
  }
}

}  // namespace

TEST_CASE("GGUF llama-bpe vocabulary matches llama.cpp's vectors", "[tokenizer][gguf]") { check_vocab("llama-bpe", true); }
TEST_CASE("GGUF qwen2 vocabulary matches llama.cpp's vectors", "[tokenizer][gguf]") { check_vocab("qwen2", true); }
TEST_CASE("GGUF llama-spm vocabulary matches llama.cpp's vectors", "[tokenizer][gguf]") { check_vocab("llama-spm", true); }
TEST_CASE("GGUF gemma-4 vocabulary matches llama.cpp's vectors", "[tokenizer][gguf]") { check_vocab("gemma-4", true); }

// ggml-vocab-llama-bpe.gguf with tokenizer.ggml.pre = "smaug-bpe" (same length: patched in
// place, as tools/fixtures/tokenizers/make_smaug_vectors.py made the file llama.cpp ran on)
std::filesystem::path smaug_vocab() {
  std::string data =
      kiln::test::read_all(kiln::test::tokenizer_data("vocab/ggml-vocab-llama-bpe.gguf"));
  const std::string key = "tokenizer.ggml.pre";
  const size_t at = data.find(key);
  REQUIRE(at != std::string::npos);
  const size_t value = at + key.size() + 12;  // u32 type (string) + u64 length 9
  REQUIRE(data.compare(value, 9, "llama-bpe") == 0);
  data.replace(value, 9, "smaug-bpe");
  const auto path = kiln::test::scratch_dir() / "ggml-vocab-smaug-bpe.gguf";
  std::ofstream(path, std::ios::binary) << data;
  return path;
}

TEST_CASE("GGUF smaug-bpe pre-tokenizer matches llama.cpp's ids", "[tokenizer][gguf]") {
  // the texts include vocabulary entries that llama-bpe (ignore_merges) keeps whole and
  // smaug-bpe splits by its merges
  check_vocab("smaug-bpe", true, smaug_vocab());
}

TEST_CASE("GGUF vocabularies report their special tokens and add BOS as llama.cpp does", "[tokenizer][gguf]") {
  const auto& llama3 = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("vocab/ggml-vocab-llama-bpe.gguf"));
  CHECK(llama3.bos_id() == 128000);
  CHECK(llama3.eos_id() == 128001);
  CHECK(llama3.eot_id() == 128009);
  CHECK(llama3.vocab_size() == 128256);
  CHECK(llama3.encode("Hello", true) == std::vector<kiln::TokenId>{128000, 9906});
  CHECK(llama3.encode("<|start_header_id|>user<|end_header_id|>", false) ==
        std::vector<kiln::TokenId>{128006, 882, 128007});
  CHECK(llama3.is_special(128009));
  CHECK_FALSE(llama3.is_special(9906));
  CHECK(llama3.is_end_of_generation(128009));

  const auto& spm = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("vocab/ggml-vocab-llama-spm.gguf"));
  CHECK(spm.encode("Hello", true) == std::vector<kiln::TokenId>{1, 15043});
  CHECK(spm.token_text(15043) == "\xE2\x96\x81Hello");
  CHECK(spm.token_to_piece(15043) == " Hello");
  CHECK(spm.token_to_piece(13) == "\n");  // <0x0A>

  const auto& qwen = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("vocab/ggml-vocab-qwen2.gguf"));
  CHECK(qwen.encode("Hello", true) == std::vector<kiln::TokenId>{9707});  // Qwen adds no BOS
  CHECK(qwen.config().chat_template.find("<|im_start|>") != std::string::npos);

  const auto& gemma = kiln::test::cached_tokenizer(kiln::test::tokenizer_data("vocab/ggml-vocab-gemma-4.gguf"));
  CHECK(gemma.bos_id() == 2);
  CHECK(gemma.encode("Hello", true).front() == 2);
  CHECK(gemma.config().bos_token == "<bos>");
  CHECK_FALSE(gemma.config().chat_template.empty());
}
