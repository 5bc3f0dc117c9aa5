#include "blob.h"

#include <cstring>

#include "errors.h"

namespace kiln::cpu {
namespace {

constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'O', 'B', 'J', '1'};

struct Header {
  char magic[8];
  uint64_t compiler_hash;  // fnv1a64 of compiler_id()
  uint64_t object_size;
  uint64_t object_checksum;  // fnv1a64 of the object bytes
};

}  // namespace

uint64_t fnv1a64(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

std::vector<char> wrap_blob(const std::vector<char>& object, const std::string& compiler_id) {
  Header h;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.compiler_hash = fnv1a64(compiler_id.data(), compiler_id.size());
  h.object_size = object.size();
  h.object_checksum = fnv1a64(object.data(), object.size());
  std::vector<char> blob(sizeof h + object.size());
  std::memcpy(blob.data(), &h, sizeof h);
  if (!object.empty()) std::memcpy(blob.data() + sizeof h, object.data(), object.size());
  return blob;
}

ObjectView unwrap_blob(const void* blob, size_t size, const std::string& compiler_id) {
  if (blob == nullptr || size < sizeof(Header))
    fail(KILN_ERR_INVALID, "cpu_llvm: blob of " + std::to_string(size) +
                               " bytes is too short to be a cpu_llvm kernel");
  Header h;
  std::memcpy(&h, blob, sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0)
    fail(KILN_ERR_INVALID, "cpu_llvm: blob is not a cpu_llvm kernel (bad magic)");
  if (h.compiler_hash != fnv1a64(compiler_id.data(), compiler_id.size()))
    fail(KILN_ERR_INVALID, "cpu_llvm: blob was compiled by another compiler or for another CPU "
                           "(this device is '" + compiler_id + "'); recompile it");
  if (h.object_size != size - sizeof h)
    fail(KILN_ERR_INVALID, "cpu_llvm: blob is truncated or padded: header says " +
                               std::to_string(h.object_size) + " object bytes, found " +
                               std::to_string(size - sizeof h));
  const char* object = static_cast<const char*>(blob) + sizeof h;
  if (fnv1a64(object, h.object_size) != h.object_checksum)
    fail(KILN_ERR_INVALID, "cpu_llvm: blob checksum mismatch (corrupted)");
  return {object, size_t(h.object_size)};
}

}  // namespace kiln::cpu
