// Device lifetime and capabilities.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "device.h"
#include "errors.h"
#include "kiln/env.h"

namespace kiln::cpu {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(" \t", colon + 1);
        if (start != std::string::npos) return line.substr(start);
      }
    }
  }
  return "unknown CPU";
}

void copy_str(char* dst, size_t cap, const std::string& s) {
  size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

}  // namespace

Device& checked(kiln_device* d) {
  Device* dev = device_of(d);
  if (dev == nullptr || dev->magic != kDeviceMagic)
    fail(KILN_ERR_INVALID, "cpu_llvm: not an open cpu_llvm device handle");
  return *dev;
}
Buffer& checked(kiln_buffer* b, const char* what) {
  auto* buf = reinterpret_cast<Buffer*>(b);
  if (buf == nullptr) fail(KILN_ERR_INVALID, std::string("cpu_llvm: ") + what + " is NULL");
  if (buf->magic != kBufferMagic)
    fail(KILN_ERR_INVALID, std::string("cpu_llvm: ") + what + " is not a live buffer");
  return *buf;
}
Program& checked(kiln_program* p) {
  auto* prog = reinterpret_cast<Program*>(p);
  if (prog == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: program is NULL");
  if (prog->magic != kProgramMagic) fail(KILN_ERR_INVALID, "cpu_llvm: not a loaded program");
  return *prog;
}
Graph& checked(kiln_graph* g) {
  auto* graph = reinterpret_cast<Graph*>(g);
  if (graph == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: graph is NULL");
  if (graph->magic != kGraphMagic) fail(KILN_ERR_INVALID, "cpu_llvm: not a live graph");
  return *graph;
}

Device* open_device(int index) {
  if (index != 0)
    fail(KILN_ERR_NO_DEVICE, "cpu_llvm: device index " + std::to_string(index) +
                                 " does not exist (the host CPU is device 0)");
  auto dev = std::make_unique<Device>();
  const HostInfo& host = host_info();
  dev->debug_level = env::integer("KILN_DEBUG", 0);
  dev->pool = std::make_unique<ThreadPool>(default_thread_count(),
                                           unsigned(env::integer("KILN_SPIN_US", 100)));
  dev->jit = std::make_unique<Jit>();
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(host.features_hash));
  dev->compiler_id = "cpu_llvm-" KILN_CPU_LLVM_VERSION "-abi" + std::to_string(kKernelAbiVersion) +
                     " llvm-" + host.llvm_version + " O3 " + host.triple + " cpu=" + host.cpu +
                     " features=" + hash + (host.libmvec ? " libmvec" : "") +
                     (host.vnni_512 || host.vnni_256 ? " vnni" : "");
  dev->description = cpu_model_name() + " (" + std::to_string(dev->pool->threads()) +
                     " threads, " + host.cpu + ", " + host.isa + ")";
  return dev.release();
}

void close_device(Device& dev) {
  {
    std::lock_guard<std::mutex> lock(dev.mu);
    // Programs unloaded while a graph held them live only in their graphs.
    std::unordered_set<Program*> programs = dev.programs;
    for (Graph* g : dev.graphs) {
      for (const GraphStep& s : g->steps) programs.insert(s.program);
      g->magic = 0;
      delete g;
    }
    for (Program* p : programs) release_program(dev, p);
    for (Buffer* b : dev.buffers) {
      std::free(b->data);
      b->magic = 0;
      delete b;
    }
    dev.graphs.clear();
    dev.programs.clear();
    dev.buffers.clear();
  }
  dev.magic = 0;
  delete &dev;
}

void fill_caps(Device& dev, kiln_device_caps* caps) {
  const HostInfo& host = host_info();
  std::memset(caps, 0, sizeof *caps);
  caps->struct_size = sizeof *caps;
  copy_str(caps->name, sizeof caps->name, "cpu");
  std::string arch = host.triple.substr(0, host.triple.find('-')) + "-" + host.isa;
  copy_str(caps->arch, sizeof caps->arch, arch);
  copy_str(caps->description, sizeof caps->description, dev.description);
  caps->compute_units = dev.pool->threads();
  caps->warp_size = 1;
  for (int i = 0; i < 3; ++i) {
    caps->max_local_size[i] = 1;
    caps->max_global_size[i] = INT32_MAX;  // SPECIAL group ids are i32
  }
  caps->max_threads_per_group = 1;
  caps->local_memory_bytes = 0;
  caps->global_memory_bytes = host_memory_bytes();
  caps->preferred_vector_bytes = host.vector_bytes;
  for (unsigned dt = KILN_DTYPE_BOOL; dt < KILN_DTYPE_COUNT; ++dt) caps->dtype_mask |= 1u << dt;
  caps->has_tensor_cores = 0;
  caps->unified_memory = 1;
  caps->fast_dot4 = host.vnni_256 || host.vnni_512;  // else DOT4 is widened bytes
}

}  // namespace kiln::cpu
