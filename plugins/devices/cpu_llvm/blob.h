// The cacheable blob compile() returns: a small header, then the object file's bytes. The
// header lets load() refuse, with a message instead of a crash in the linker, a blob that is
// truncated or corrupted on disk or that was compiled for another CPU or compiler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::cpu {

uint64_t fnv1a64(const void* data, size_t size);

// Header + object; `compiler_id` is the device's compiler_id() string.
std::vector<char> wrap_blob(const std::vector<char>& object, const std::string& compiler_id);

struct ObjectView {
  const char* data;
  size_t size;
};
// Checks the header and checksum; DeviceError(KILN_ERR_INVALID) naming what is wrong.
ObjectView unwrap_blob(const void* blob, size_t size, const std::string& compiler_id);

}  // namespace kiln::cpu
