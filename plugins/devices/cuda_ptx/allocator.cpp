// Caching allocator and copies. Blocks are rounded up (512 B, then to a quarter of the next
// power of two) and kept on free lists when released: cuMemFree synchronizes the whole device,
// and all work goes through one stream, so a freed block may be handed out again at once.
// copy_in goes through a ring of pinned staging buffers and returns without waiting for the
// copy (the host memory was already read); copy_out waits, since its caller reads the result.
#include <algorithm>
#include <cstring>

#include "device.h"
#include "errors.h"

namespace kiln::cuda {

size_t staging_slot_bytes();

namespace {

size_t round_capacity(size_t bytes) {
  if (bytes <= 512) return 512;
  size_t p = 1;
  while (p < bytes) p <<= 1;
  size_t quarter = std::max<size_t>(p / 8, 512);  // steps of 1/8 of the power of two
  return (bytes + quarter - 1) / quarter * quarter;
}

void check_range(const Buffer& b, size_t offset, size_t bytes, const char* what) {
  if (offset > b.size || bytes > b.size - offset)
    fail(KILN_ERR_INVALID, std::string("cuda_ptx: ") + what + ": range [" + std::to_string(offset) +
                               ", +" + std::to_string(bytes) + ") outside a buffer of " +
                               std::to_string(b.size) + " bytes");
}

}  // namespace

void release_cache(Device& dev) {
  for (auto& [cap, ptr] : dev.cache) dev.drv->cuMemFree(ptr);
  dev.cache.clear();
  dev.cached_bytes = 0;
}

Buffer* alloc_buffer(Device& dev, size_t bytes) {
  const Driver& d = *dev.drv;
  size_t cap = round_capacity(std::max<size_t>(bytes, 1));
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  CUdeviceptr ptr = 0;
  // Reuse a cached block of the same class, or one at most 1/8 larger.
  auto it = dev.cache.lower_bound(cap);
  if (it != dev.cache.end() && it->first <= cap + cap / 8) {
    cap = it->first;
    ptr = it->second;
    dev.cache.erase(it);
    dev.cached_bytes -= cap;
  } else {
    CUresult r = d.cuMemAlloc(&ptr, cap);
    if (r == CUDA_ERROR_OUT_OF_MEMORY && !dev.cache.empty()) {
      d.cuStreamSynchronize(dev.stream);
      release_cache(dev);
      r = d.cuMemAlloc(&ptr, cap);
    }
    if (r != CUDA_SUCCESS)
      fail(r == CUDA_ERROR_OUT_OF_MEMORY ? KILN_ERR_OUT_OF_MEMORY : KILN_ERR_INTERNAL,
           "cuda_ptx: cannot allocate " + std::to_string(bytes) + " bytes on " + dev.name + ": " +
               describe(d, "cuMemAlloc", r));
  }
  auto* b = new Buffer();
  b->ptr = ptr;
  b->size = bytes;
  b->capacity = cap;
  dev.buffers.insert(b);
  return b;
}

void free_buffer(Device& dev, Buffer* buf) {
  std::lock_guard<std::mutex> lock(dev.mu);
  if (!dev.buffers.erase(buf))
    fail(KILN_ERR_INVALID, "cuda_ptx: free: not a buffer of this device");
  dev.cache.emplace(buf->capacity, buf->ptr);
  dev.cached_bytes += buf->capacity;
  buf->magic = 0;
  delete buf;
}

void copy_in(Device& dev, Buffer& dst, size_t offset, const void* src, size_t bytes) {
  check_range(dst, offset, bytes, "copy_in");
  if (bytes == 0) return;
  if (src == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: copy_in: source is NULL");
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  const size_t slot_bytes = staging_slot_bytes();
  const char* from = static_cast<const char*>(src);
  for (size_t done = 0; done < bytes;) {
    size_t n = std::min(slot_bytes, bytes - done);
    Staging& s = dev.staging[dev.staging_next];
    dev.staging_next = (dev.staging_next + 1) % dev.staging.size();
    if (s.pending) check(d, d.cuEventSynchronize(s.done), "cuEventSynchronize", KILN_ERR_INTERNAL);
    std::memcpy(s.host, from + done, n);
    check(d, d.cuMemcpyHtoDAsync(dst.ptr + offset + done, s.host, n, dev.stream),
          "cuMemcpyHtoDAsync", KILN_ERR_INTERNAL);
    check(d, d.cuEventRecord(s.done, dev.stream), "cuEventRecord", KILN_ERR_INTERNAL);
    s.pending = true;
    done += n;
  }
}

void copy_out(Device& dev, void* dst, Buffer& src, size_t offset, size_t bytes) {
  check_range(src, offset, bytes, "copy_out");
  if (bytes == 0) return;
  if (dst == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: copy_out: destination is NULL");
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  const size_t slot_bytes = staging_slot_bytes();
  char* to = static_cast<char*>(dst);
  // Two slots in flight: the device fills one while the host empties the other.
  size_t n_slots = dev.staging.size();
  std::vector<std::pair<size_t, size_t>> inflight;  // (slot, bytes) in order
  size_t done = 0, queued = 0;
  auto drain_one = [&] {
    auto [slot, n] = inflight.front();
    inflight.erase(inflight.begin());
    Staging& s = dev.staging[slot];
    check(d, d.cuEventSynchronize(s.done), "cuEventSynchronize (a kernel or copy failed)",
          KILN_ERR_LAUNCH);
    s.pending = false;
    std::memcpy(to + done, s.host, n);
    done += n;
  };
  while (queued < bytes) {
    if (inflight.size() == 2) drain_one();
    size_t slot = dev.staging_next;
    dev.staging_next = (dev.staging_next + 1) % n_slots;
    Staging& s = dev.staging[slot];
    if (s.pending) check(d, d.cuEventSynchronize(s.done), "cuEventSynchronize", KILN_ERR_INTERNAL);
    size_t n = std::min(slot_bytes, bytes - queued);
    check(d, d.cuMemcpyDtoHAsync(s.host, src.ptr + offset + queued, n, dev.stream),
          "cuMemcpyDtoHAsync", KILN_ERR_INTERNAL);
    check(d, d.cuEventRecord(s.done, dev.stream), "cuEventRecord", KILN_ERR_INTERNAL);
    s.pending = true;
    inflight.emplace_back(slot, n);
    queued += n;
  }
  while (!inflight.empty()) drain_one();
}

namespace {
constexpr size_t kMaxReadbacks = 64;  // in flight at once: a pipelined decode holds two
}  // namespace

uint64_t read_begin(Device& dev, Buffer& src, size_t offset, size_t bytes) {
  check_range(src, offset, bytes, "read_begin");
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  Readback* slot = nullptr;
  for (Readback& r : dev.readbacks)
    if (r.ticket == 0 && r.capacity >= bytes) {
      slot = &r;
      break;
    }
  if (slot == nullptr) {
    if (dev.readbacks.size() >= kMaxReadbacks)
      fail(KILN_ERR_INVALID,
           "cuda_ptx: read_begin: " + std::to_string(kMaxReadbacks) +
               " read-backs already in flight (each read_begin needs its read_end)");
    Readback r;
    r.capacity = std::max<size_t>(bytes, 4096);
    check(d, d.cuMemAllocHost(&r.host, r.capacity), "cuMemAllocHost", KILN_ERR_OUT_OF_MEMORY);
    if (CUresult e = d.cuEventCreate(&r.done, CU_EVENT_DISABLE_TIMING); e != CUDA_SUCCESS) {
      d.cuMemFreeHost(r.host);
      check(d, e, "cuEventCreate", KILN_ERR_INTERNAL);
    }
    dev.readbacks.push_back(r);
    slot = &dev.readbacks.back();
  }
  if (bytes > 0) {
    check(d, d.cuMemcpyDtoHAsync(slot->host, src.ptr + offset, bytes, dev.stream),
          "cuMemcpyDtoHAsync", KILN_ERR_INTERNAL);
  }
  check(d, d.cuEventRecord(slot->done, dev.stream), "cuEventRecord", KILN_ERR_INTERNAL);
  slot->ticket = ++dev.last_ticket;
  return slot->ticket;
}

void read_end(Device& dev, uint64_t ticket, void* dst, size_t bytes) {
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  for (Readback& r : dev.readbacks) {
    if (ticket == 0 || r.ticket != ticket) continue;
    r.ticket = 0;  // retired even when the copy failed
    if (bytes > r.capacity)
      fail(KILN_ERR_INVALID, "cuda_ptx: read_end: " + std::to_string(bytes) +
                                 " bytes asked, the slot holds " + std::to_string(r.capacity));
    check(d, d.cuEventSynchronize(r.done), "cuEventSynchronize (a kernel or copy failed)",
          KILN_ERR_LAUNCH);
    if (bytes > 0) {
      if (dst == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: read_end: destination is NULL");
      std::memcpy(dst, r.host, bytes);
    }
    return;
  }
  fail(KILN_ERR_INVALID,
       "cuda_ptx: read_end: ticket " + std::to_string(ticket) + " is not in flight");
}

void copy_device(Device& dev, Buffer& dst, size_t dst_offset, Buffer& src, size_t src_offset,
                 size_t bytes) {
  check_range(dst, dst_offset, bytes, "copy_device destination");
  check_range(src, src_offset, bytes, "copy_device source");
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  check(*dev.drv,
        dev.drv->cuMemcpyDtoDAsync(dst.ptr + dst_offset, src.ptr + src_offset, bytes, dev.stream),
        "cuMemcpyDtoDAsync", KILN_ERR_INTERNAL);
}

}  // namespace kiln::cuda
