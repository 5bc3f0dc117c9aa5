// Fuzzes the GGUF parser and everything a caller does next: every metadata accessor and the
// dequantization of every tensor. Any input must either parse or throw kiln::Error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kiln/error.h"
#include "kiln/gguf.h"
#include "kiln/quant.h"

namespace {

void touch(const kiln::gguf::Value& v) {
  (void)v.to_string(4);
  try { (void)v.as_int(); } catch (const kiln::Error&) {}
  try { (void)v.as_uint(); } catch (const kiln::Error&) {}
  try { (void)v.as_double(); } catch (const kiln::Error&) {}
  try { (void)v.as_string(); } catch (const kiln::Error&) {}
  if (!v.is_array()) return;
  try { (void)v.as_ints(); } catch (const kiln::Error&) {}
  try { (void)v.as_floats(); } catch (const kiln::Error&) {}
  try { (void)v.as_strings(); } catch (const kiln::Error&) {}
  try { (void)v.as_bools(); } catch (const kiln::Error&) {}
  if (v.size() > 0) touch(v.at(v.size() - 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  try {
    auto file = kiln::gguf::File::parse(kiln::MappedFile::from_bytes(std::move(bytes), "fuzz.gguf"));
    for (const auto& v : file.metadata()) touch(v);
    for (const auto& t : file.tensors()) {
      if (!kiln::weight_type_info(t.type).to_float || t.elements > (1u << 20)) continue;
      (void)kiln::dequantize(t.type, t.data, t.elements);
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
