// Fuzzes the tokenizer.json loader: any bytes must load or throw kiln::Error, and a loaded
// tokenizer must encode and decode without crashing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/error.h"
#include "text/loaders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  try {
    auto tok = kiln::text::load_tokenizer_json(json, "fuzz.json", {});
    const auto ids = tok->encode("Hello <s> wörld 🚀 \n\n 123", true);
    tok->decode(ids, false);
    tok->decode(ids, true);
  } catch (const kiln::Error&) {
  }
  return 0;
}
