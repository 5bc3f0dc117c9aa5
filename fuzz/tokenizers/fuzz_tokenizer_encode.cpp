// Fuzzes encode, decode and streaming decode of arbitrary bytes with two small tokenizers.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/error.h"
#include "kiln/tokenizer.h"
#include "small_tokenizers.h"
#include "text/loaders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto byte_level = kiln::text::load_tokenizer_json(kiln::fuzz::kByteLevelJson, "byte_level.json", {});
  static const auto sentencepiece = kiln::text::load_tokenizer_json(kiln::fuzz::kSentencePieceJson, "sp.json", {});
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto* tok : {byte_level.get(), sentencepiece.get()}) {
    const auto ids = tok->encode(text, size % 2 == 0);
    tok->decode(ids, size % 3 == 0);
    // The input's bytes as ids too, most of them out of range.
    std::vector<kiln::TokenId> raw;
    for (size_t i = 0; i < size; ++i) raw.push_back(static_cast<kiln::TokenId>(data[i]) - 8);
    tok->decode(raw, false);
    kiln::StreamingDecoder stream(*tok, size % 5 == 0);
    for (kiln::TokenId id : raw) stream.feed(id);
    stream.finish();
  }
  return 0;
}
