// Device discovery and lifetime: the primary context of GPU `index`, one non-blocking stream all
// work goes through (so work is ordered and freed memory may be reused at once), timing events
// and the pinned staging ring.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "device.h"
#include "errors.h"
#include "kiln/env.h"
#include "launch_args.h"

namespace kiln::cuda {

namespace {

constexpr size_t kStagingSlots = 4;
constexpr size_t kStagingBytes = size_t{8} << 20;  // per slot

int attribute(const Driver& d, CUdevice dev, int attr) {
  int v = 0;
  check(d, d.cuDeviceGetAttribute(&v, attr, dev), "cuDeviceGetAttribute", KILN_ERR_NO_DEVICE);
  return v;
}

void destroy(Device* dev) {
  const Driver& d = *dev->drv;
  if (dev->ctx != nullptr) {
    d.cuCtxSetCurrent(dev->ctx);
    if (dev->stream) d.cuStreamSynchronize(dev->stream);
    for (Staging& s : dev->staging) {
      if (s.done) d.cuEventDestroy(s.done);
      if (s.host) d.cuMemFreeHost(s.host);
    }
    for (Readback& r : dev->readbacks) {
      if (r.done) d.cuEventDestroy(r.done);
      if (r.host) d.cuMemFreeHost(r.host);
    }
    if (dev->t0) d.cuEventDestroy(dev->t0);
    if (dev->t1) d.cuEventDestroy(dev->t1);
    if (dev->stream) d.cuStreamDestroy(dev->stream);
    d.cuDevicePrimaryCtxRelease(dev->dev);
  }
  dev->magic = 0;
  delete dev;
}

}  // namespace

Device& checked(kiln_device* d) {
  Device* dev = device_of(d);
  if (dev == nullptr || dev->magic != kDeviceMagic)
    fail(KILN_ERR_INVALID, "cuda_ptx: not an open cuda_ptx device handle");
  return *dev;
}
Buffer& checked(kiln_buffer* b, const char* what) {
  auto* buf = reinterpret_cast<Buffer*>(b);
  if (buf == nullptr) fail(KILN_ERR_INVALID, std::string("cuda_ptx: ") + what + " is NULL");
  if (buf->magic != kBufferMagic)
    fail(KILN_ERR_INVALID, std::string("cuda_ptx: ") + what + " is not a live buffer");
  return *buf;
}
Program& checked(kiln_program* p) {
  auto* prog = reinterpret_cast<Program*>(p);
  if (prog == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: program is NULL");
  if (prog->magic != kProgramMagic) fail(KILN_ERR_INVALID, "cuda_ptx: not a loaded program");
  return *prog;
}
Graph& checked(kiln_graph* g) {
  auto* graph = reinterpret_cast<Graph*>(g);
  if (graph == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: graph is NULL");
  if (graph->magic != kGraphMagic) fail(KILN_ERR_INVALID, "cuda_ptx: not a live graph");
  return *graph;
}

void make_current(Device& dev) {
  check(*dev.drv, dev.drv->cuCtxSetCurrent(dev.ctx), "cuCtxSetCurrent", KILN_ERR_INTERNAL);
}

int device_count(std::string* why) {
  const Driver* d = driver(why);
  if (d == nullptr) return 0;
  int n = 0;
  CUresult r = d->cuDeviceGetCount(&n);
  if (r != CUDA_SUCCESS) {
    if (why) *why = describe(*d, "cuDeviceGetCount", r);
    return 0;
  }
  if (n == 0 && why) *why = "the CUDA driver sees no GPU";
  return n;
}

Device* open_device(int index) {
  std::string why;
  int n = device_count(&why);
  if (n == 0) fail(KILN_ERR_NO_DEVICE, "cuda_ptx: " + why);
  if (index < 0 || index >= n)
    fail(KILN_ERR_NO_DEVICE, "cuda_ptx: device index " + std::to_string(index) +
                                 " out of range (the driver sees " + std::to_string(n) + ")");
  const Driver& d = *driver(nullptr);
  auto* dev = new Device();
  dev->drv = &d;
  dev->index = index;
  try {
    check(d, d.cuDeviceGet(&dev->dev, index), "cuDeviceGet", KILN_ERR_NO_DEVICE);
    char name[256] = {0};
    check(d, d.cuDeviceGetName(name, sizeof name - 1, dev->dev), "cuDeviceGetName",
          KILN_ERR_NO_DEVICE);
    dev->name = name;
    dev->cc_major = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    dev->cc_minor = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    dev->sm_count = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    dev->max_threads = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
    for (int a = 0; a < 3; ++a) {
      dev->max_block[a] = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X + a);
      dev->max_grid[a] = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + a);
    }
    dev->shared_per_block = attribute(d, dev->dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK);
    check(d, d.cuDeviceTotalMem(&dev->total_mem, dev->dev), "cuDeviceTotalMem", KILN_ERR_NO_DEVICE);
    if (dev->cc_major < 7 || (dev->cc_major == 7 && dev->cc_minor < 5))
      fail(KILN_ERR_NO_DEVICE, "cuda_ptx: " + dev->name + " has compute capability " +
                                   std::to_string(dev->cc_major) + "." +
                                   std::to_string(dev->cc_minor) +
                                   "; this plugin renders PTX for sm_75 and newer");
    dev->arch = "sm_" + std::to_string(dev->cc_major) + std::to_string(dev->cc_minor);
    // KILN_CUDA_PREFETCH=N: the first N iterations of each top-level loop's weight loads are
    // prefetched into L2 before the grid wait (default 1: decode +1.9% on an H100; 2 and 4 were
    // slower, docs/benchmarks.md session 14; 0 turns it off); the compiler id names it, so the
    // kernel cache keeps the forms apart
    dev->prefetch = std::clamp(env::integer("KILN_CUDA_PREFETCH", 1), 0, 64);
    // (KILN_CUDA_PREFETCH_MB=B: loops whose prefetch over the whole grid fits B MiB take more
    // iterations, up to 8 — all of o's weights while attention runs, say; to measure)
    dev->prefetch_bytes = uint64_t(std::clamp(env::integer("KILN_CUDA_PREFETCH_MB", 0), 0, 4096))
                          << 20;
    dev->prefetch_whole = dev->prefetch_bytes && env::is_on("KILN_CUDA_PREFETCH_WHOLE");
    // KILN_CUDA_PDL_TRIGGER=start|wait|store: where a kernel lets its dependent launch
    // (PtxTarget::Trigger; default after its own grid wait)
    const char* te = env::value("KILN_CUDA_PDL_TRIGGER");
    const std::string tr = te ? te : "wait";
    dev->trigger = tr == "start" ? 0 : tr == "store" ? 2 : 1;
    dev->stamps = env::is_on("KILN_CUDA_STAMPS");  // graph_stamps.h
    dev->compiler_id =
        std::string("cuda_ptx-") + KILN_CUDA_PTX_VERSION + "-abi" +
        std::to_string(KILN_DEVICE_ABI_VERSION) + " ptx8.0 " + dev->arch + " driver-" +
        std::to_string(d.driver_version) +
        (dev->prefetch ? " prefetch" + std::to_string(dev->prefetch) : "") +
        (dev->prefetch_bytes ? " prefetch-mb" + std::to_string(dev->prefetch_bytes >> 20) : "") +
        (dev->prefetch_whole ? " whole" : "") + (dev->trigger != 1 ? " trigger-" + tr : "") +
        (dev->stamps ? " stamps" : "");
    dev->debug_level = env::integer("KILN_DEBUG", dev->debug_level);
    dev->graph_gaps = env::is_on("KILN_CUDA_GRAPH_GAPS");  // graph_timeline.h
    if (const char* skip = env::value("KILN_CUDA_GRAPH_SKIP")) {
      std::string s = skip;
      for (size_t a = 0; a < s.size();) {
        size_t b = std::min(s.find(',', a), s.size());
        if (b > a) dev->graph_skip.push_back(s.substr(a, b - a));
        a = b + 1;
      }
    }

    check(d, d.cuDevicePrimaryCtxRetain(&dev->ctx, dev->dev), "cuDevicePrimaryCtxRetain",
          KILN_ERR_NO_DEVICE);
    make_current(*dev);
    check(d, d.cuStreamCreate(&dev->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate",
          KILN_ERR_INTERNAL);
    check(d, d.cuEventCreate(&dev->t0, CU_EVENT_DEFAULT), "cuEventCreate", KILN_ERR_INTERNAL);
    check(d, d.cuEventCreate(&dev->t1, CU_EVENT_DEFAULT), "cuEventCreate", KILN_ERR_INTERNAL);
    dev->staging.resize(kStagingSlots);
    for (Staging& s : dev->staging) {
      check(d, d.cuMemAllocHost(&s.host, kStagingBytes), "cuMemAllocHost", KILN_ERR_OUT_OF_MEMORY);
      check(d, d.cuEventCreate(&s.done, CU_EVENT_DISABLE_TIMING), "cuEventCreate",
            KILN_ERR_INTERNAL);
    }
  } catch (...) {
    destroy(dev);
    throw;
  }
  return dev;
}

size_t staging_slot_bytes() {
  return kStagingBytes;
}

void close_device(Device& dev) {
  {
    std::lock_guard<std::mutex> lock(dev.mu);
    make_current(dev);
    dev.drv->cuStreamSynchronize(dev.stream);
    for (Graph* g : dev.graphs) release_graph(dev, g);
    dev.graphs.clear();
    for (Program* p : dev.programs) {
      dev.drv->cuModuleUnload(p->module);
      p->magic = 0;
      delete p;
    }
    for (Buffer* b : dev.buffers) {
      dev.drv->cuMemFree(b->ptr);
      b->magic = 0;
      delete b;
    }
    release_cache(dev);
  }
  destroy(&dev);
}

void fill_caps(Device& dev, kiln_device_caps* caps) {
  kiln_device_caps c{};
  uint32_t size =
      caps->struct_size != 0 && caps->struct_size < sizeof c ? caps->struct_size : sizeof c;
  c.struct_size = size;
  std::snprintf(c.name, sizeof c.name, "cuda");
  std::snprintf(c.arch, sizeof c.arch, "%s", dev.arch.c_str());
  std::snprintf(c.description, sizeof c.description, "%s (%s, %d SMs, %.0f GiB)", dev.name.c_str(),
                dev.arch.c_str(), dev.sm_count, double(dev.total_mem) / double(1u << 30));
  c.compute_units = uint32_t(dev.sm_count);
  c.warp_size = 32;
  for (int a = 0; a < 3; ++a) {
    c.max_local_size[a] = uint32_t(dev.max_block[a]);
    c.max_global_size[a] = uint32_t(dev.max_grid[a]);
  }
  c.max_threads_per_group = uint32_t(dev.max_threads);
  c.local_memory_bytes = uint64_t(dev.shared_per_block);  // static shared memory (48 KiB)
  c.global_memory_bytes = dev.total_mem;
  c.preferred_vector_bytes = 16;  // ld.global.v4.b32
  c.dtype_mask = 0;
  for (unsigned t = KILN_DTYPE_BOOL; t < KILN_DTYPE_COUNT; ++t) c.dtype_mask |= 1u << t;
  // mma.sync m16n8k16 with f16 and bf16 inputs: sm_80 and newer
  c.has_tensor_cores = dev.cc_major >= 8 ? KILN_TENSOR_CORES_MMA_16816 : 0;
  c.unified_memory = 0;
  c.fast_dot4 = 1;                           // dp4a
  c.async_copy = dev.cc_major >= 8 ? 1 : 0;  // cp.async: sm_80 and newer
  std::memcpy(caps, &c, size);
}

void synchronize(Device& dev) {
  make_current(dev);
  check(*dev.drv, dev.drv->cuStreamSynchronize(dev.stream),
        "cuStreamSynchronize (a kernel or copy failed)", KILN_ERR_LAUNCH);
}

}  // namespace kiln::cuda
