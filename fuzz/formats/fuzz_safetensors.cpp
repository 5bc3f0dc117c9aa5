// Fuzzes the safetensors header parser and the decoding of every tensor it accepts. Any
// input must either parse or throw kiln::Error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/error.h"
#include "kiln/quant.h"
#include "kiln/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  try {
    auto file = kiln::safetensors::File::parse(kiln::MappedFile::from_bytes(std::move(bytes), "fuzz.safetensors"));
    for (const auto& t : file.tensors()) {
      if (t.elements > (1u << 20)) continue;
      (void)kiln::dequantize(t.type, t.data, t.elements);
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
