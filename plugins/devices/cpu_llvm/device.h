// The objects behind the C ABI's opaque handles. Handles are these structs' addresses
// reinterpret_cast to kiln_device* / kiln_buffer* / kiln_program* / kiln_graph*; each carries
// a magic word, cleared when freed, so a stale or foreign handle is refused, not used.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "kernel_abi.h"
#include "kiln/device.h"
#include "llvm_backend.h"
#include "thread_pool.h"

namespace kiln::cpu {

constexpr uint32_t kBufferMagic = 0x4b425546;   // "KBUF"
constexpr uint32_t kProgramMagic = 0x4b50524f;  // "KPRO"
constexpr uint32_t kGraphMagic = 0x4b475250;    // "KGRP"
constexpr uint32_t kDeviceMagic = 0x4b444556;   // "KDEV"

struct Buffer {
  uint32_t magic = kBufferMagic;
  void* data = nullptr;  // 64-byte aligned host memory
  size_t size = 0;
};

struct Program {
  uint32_t magic = kProgramMagic;
  KernelFn fn = nullptr;
  uint64_t jit_handle = 0;
  std::string name;
  uint32_t n_params = 0;
  uint32_t n_vars = 0;
  uint64_t work_per_group = 0;
  std::vector<uint32_t> written;  // slots the kernel stores to
  std::vector<int64_t> var_min, var_max;
  uint32_t graph_refs = 0;  // graphs naming it (guarded by Device::mu)
};

// One launch of a graph, resolved at creation.
struct GraphStep {
  Program* program;
  uint32_t grid[3];
};

struct Graph {
  uint32_t magic = kGraphMagic;
  std::vector<GraphStep> steps;
};

struct Device {
  uint32_t magic = kDeviceMagic;
  std::string compiler_id;
  std::string description;
  int debug_level = 0;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Jit> jit;

  std::mutex mu;  // guards the live-object sets (freed at close if the caller forgot)
  std::unordered_set<Buffer*> buffers;
  std::unordered_set<Program*> programs;
  std::unordered_set<Graph*> graphs;
};

inline Device* device_of(kiln_device* d) { return reinterpret_cast<Device*>(d); }
inline kiln_device* handle_of(Device* d) { return reinterpret_cast<kiln_device*>(d); }

// Checked handle access: DeviceError(KILN_ERR_INVALID) for NULL or a handle that is not live.
Device& checked(kiln_device* d);
Buffer& checked(kiln_buffer* b, const char* what);
Program& checked(kiln_program* p);
Graph& checked(kiln_graph* g);

// ---- entry points implemented across device.cpp, allocator.cpp, compiler_api.cpp,
// launch.cpp, graph.cpp; plugin_entry.cpp wraps each in the exception firewall ----
Device* open_device(int index);
void close_device(Device& dev);
void fill_caps(Device& dev, kiln_device_caps* caps);

uint64_t host_memory_bytes();  // physical memory, 0 when unknown
Buffer* alloc_buffer(Device& dev, size_t bytes);
void free_buffer(Device& dev, Buffer* buf);
void copy_in(Buffer& dst, size_t offset, const void* src, size_t bytes);
void copy_out(void* dst, Buffer& src, size_t offset, size_t bytes);
void copy_device(Buffer& dst, size_t dst_offset, Buffer& src, size_t src_offset, size_t bytes);

std::string render(Device& dev, const kiln_kernel* kernel);
std::vector<char> compile(Device& dev, const char* source, size_t len);
Program* load_program(Device& dev, const void* blob, size_t len, const char* kernel_name);
void unload_program(Device& dev, Program* prog);
void release_program(Device& dev, Program* prog);  // frees code and object; caller holds dev.mu

void launch(Device& dev, const kiln_launch* launch, double* time_s);
Graph* create_graph(Device& dev, const kiln_launch* launches, uint32_t n);
void launch_graph(Device& dev, Graph& graph, const kiln_launch* launches, uint32_t n);
void destroy_graph(Device& dev, Graph* graph);

}  // namespace kiln::cpu
