// Host memory: 64-byte aligned (a cache line, and an AVX-512 vector), copies are memcpy after
// a bounds check against the allocation.
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "device.h"
#include "errors.h"

namespace kiln::cpu {
namespace {

constexpr size_t kAlign = 64;

void check_range(const Buffer& b, size_t offset, size_t bytes, const char* what) {
  if (offset > b.size || bytes > b.size - offset)
    fail(KILN_ERR_INVALID, std::string("cpu_llvm: ") + what + " of " + std::to_string(bytes) +
                               " bytes at offset " + std::to_string(offset) +
                               " is outside the buffer of " + std::to_string(b.size) + " bytes");
}

}  // namespace

uint64_t host_memory_bytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

Buffer* alloc_buffer(Device& dev, size_t bytes) {
  // A request beyond the machine's memory is refused outright rather than left to overcommit.
  static const uint64_t limit = host_memory_bytes();
  if (bytes > SIZE_MAX - kAlign || (limit > 0 && bytes > limit))
    fail(KILN_ERR_OUT_OF_MEMORY, "cpu_llvm: cannot allocate " + std::to_string(bytes) +
                                     " bytes (host memory is " + std::to_string(limit) + " bytes)");
  // Round up so vector code may read the last aligned block; never 0 bytes.
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* data = std::aligned_alloc(kAlign, rounded);
  if (data == nullptr)
    fail(KILN_ERR_OUT_OF_MEMORY, "cpu_llvm: out of host memory allocating " +
                                     std::to_string(bytes) + " bytes");
  auto buf = std::make_unique<Buffer>();
  buf->data = data;
  buf->size = bytes;
  std::lock_guard<std::mutex> lock(dev.mu);
  try {
    dev.buffers.insert(buf.get());
  } catch (...) {
    std::free(data);
    throw;
  }
  return buf.release();
}

void free_buffer(Device& dev, Buffer* buf) {
  {
    std::lock_guard<std::mutex> lock(dev.mu);
    if (dev.buffers.erase(buf) == 0) return;  // not ours or already freed
  }
  std::free(buf->data);
  buf->magic = 0;
  delete buf;
}

void copy_in(Buffer& dst, size_t offset, const void* src, size_t bytes) {
  check_range(dst, offset, bytes, "copy_in");
  if (bytes == 0) return;
  if (src == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: copy_in from a NULL host pointer");
  std::memcpy(static_cast<char*>(dst.data) + offset, src, bytes);
}

void copy_out(void* dst, Buffer& src, size_t offset, size_t bytes) {
  check_range(src, offset, bytes, "copy_out");
  if (bytes == 0) return;
  if (dst == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: copy_out to a NULL host pointer");
  std::memcpy(dst, static_cast<const char*>(src.data) + offset, bytes);
}

void copy_device(Buffer& dst, size_t dst_offset, Buffer& src, size_t src_offset, size_t bytes) {
  check_range(dst, dst_offset, bytes, "copy_device destination");
  check_range(src, src_offset, bytes, "copy_device source");
  if (bytes == 0) return;
  std::memmove(static_cast<char*>(dst.data) + dst_offset,
               static_cast<const char*>(src.data) + src_offset, bytes);
}

}  // namespace kiln::cpu
