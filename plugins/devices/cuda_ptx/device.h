// The objects behind the C ABI's opaque handles. Handles are these structs' addresses
// reinterpret_cast to kiln_device* / kiln_buffer* / kiln_program* / kiln_graph*; each carries
// a magic word, cleared when freed, so a stale or foreign handle is refused, not used.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "cuda_driver.h"
#include "kiln/device.h"

namespace kiln::cuda {

constexpr uint32_t kBufferMagic = 0x43425546;   // "CBUF"
constexpr uint32_t kProgramMagic = 0x4350524f;  // "CPRO"
constexpr uint32_t kGraphMagic = 0x43475250;    // "CGRP"
constexpr uint32_t kDeviceMagic = 0x43444556;   // "CDEV"

struct Buffer {
  uint32_t magic = kBufferMagic;
  CUdeviceptr ptr = 0;
  size_t size = 0;      // as asked for
  size_t capacity = 0;  // of the cached block behind it
};

// What a program's blob says about its kernel (written by the renderer, read at load).
struct KernelMeta {
  uint32_t n_params = 0;
  uint32_t n_vars = 0;
  bool flat = false;  // one kernel "group" per CUDA thread (kernel uses no threads of a group)
  uint32_t pack = 1;  // groups of one warp per CUDA block (groups that share no memory)
  uint64_t local_bytes = 0;
  uint32_t max_threads = 0;      // .maxntid: the threads a block was rendered for (0: any)
  std::vector<uint8_t> written;  // per slot: 1 when the kernel stores to it
  std::vector<int64_t> var_min, var_max;
};

struct Program {
  uint32_t magic = kProgramMagic;
  CUmodule module = nullptr;
  CUfunction fn = nullptr;
  std::string name;
  KernelMeta meta;
  uint32_t graph_refs = 0;  // graphs naming it (guarded by Device::mu)
};

struct LaunchArgs;

// Launch/end event pairs of a graph's replays (KILN_CUDA_GRAPH_GAPS=1): the GPU time of each
// replay and the stream time between one replay's end and the next one's start.
struct GraphTimeline {
  std::vector<std::pair<CUevent, CUevent>> marks;
};

// Each kernel node's GPU clock stamps over a graph's replays (KILN_CUDA_STAMPS=1, graph_stamps.h):
// a device buffer of 4 u64 a node (first block's start, first block past the grid wait, last
// warp's end, unused) and the replays read back from it.
struct GraphStamps {
  CUdeviceptr buffer = 0;
  std::vector<uint64_t> reset;                 // written before each replay
  std::vector<std::vector<uint64_t>> replays;  // read after each replay
};

// A captured launch list as a CUDA graph: one kernel node per launch, in order. A replay that
// binds other buffers or variable values updates only the nodes whose arguments changed.
struct Graph {
  uint32_t magic = kGraphMagic;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  std::vector<CUgraphNode> nodes;
  std::vector<std::unique_ptr<LaunchArgs>> args;  // as the nodes hold them now
  std::unique_ptr<GraphTimeline> timeline;        // null unless KILN_CUDA_GRAPH_GAPS=1
  std::unique_ptr<GraphStamps> stamps;            // null unless KILN_CUDA_STAMPS=1
};

// Pinned host memory for copies: pageable host memory cannot be copied asynchronously.
struct Staging {
  void* host = nullptr;
  CUevent done = nullptr;  // the last copy out of this slot
  bool pending = false;
};

// Pinned host memory one asynchronous read-back (read_begin .. read_end) holds.
struct Readback {
  void* host = nullptr;
  size_t capacity = 0;
  CUevent done = nullptr;
  uint64_t ticket = 0;  // 0: free
};

struct Device {
  uint32_t magic = kDeviceMagic;
  const Driver* drv = nullptr;
  int index = 0;
  CUdevice dev = 0;
  CUcontext ctx = nullptr;
  CUstream stream = nullptr;
  CUevent t0 = nullptr, t1 = nullptr;  // launch timing
  int cc_major = 0, cc_minor = 0;
  // loop iterations prefetched into L2 before the grid wait (KILN_CUDA_PREFETCH=N)
  int prefetch = 0;
  uint64_t prefetch_bytes = 0;  // KILN_CUDA_PREFETCH_MB (PtxTarget::prefetch_bytes)
  bool prefetch_whole = false;  // KILN_CUDA_PREFETCH_WHOLE=1 (PtxTarget::prefetch_whole)
  int trigger = 1;              // PtxTarget::Trigger (KILN_CUDA_PDL_TRIGGER=start|wait|store)
  int sm_count = 0;
  int max_threads = 0;
  int max_block[3] = {0, 0, 0};
  int max_grid[3] = {0, 0, 0};
  int shared_per_block = 0;
  size_t total_mem = 0;
  std::string name;         // the GPU's name
  std::string arch;         // "sm_90"
  std::string compiler_id;  // part of the kernel cache key
  int debug_level = 0;
  bool graph_gaps = false;  // KILN_CUDA_GRAPH_GAPS=1: graphs keep a GraphTimeline
  bool stamps = false;      // KILN_CUDA_STAMPS=1: kernels take kiln_stamps, graphs GraphStamps
  // KILN_CUDA_GRAPH_SKIP=a,b: kernels whose name holds a or b are left out of graphs, to
  // measure what each costs inside a replay (the model's results are then wrong)
  std::vector<std::string> graph_skip;

  std::vector<Staging> staging;  // ring of pinned buffers for copy_in
  size_t staging_next = 0;

  std::mutex mu;                             // guards everything below
  std::multimap<size_t, CUdeviceptr> cache;  // freed blocks by capacity
  size_t cached_bytes = 0;
  std::unordered_set<Buffer*> buffers;
  std::unordered_set<Program*> programs;
  std::unordered_set<Graph*> graphs;
  std::vector<Readback> readbacks;  // slots of read-backs in flight or free
  uint64_t last_ticket = 0;
};

inline Device* device_of(kiln_device* d) {
  return reinterpret_cast<Device*>(d);
}
inline kiln_device* handle_of(Device* d) {
  return reinterpret_cast<kiln_device*>(d);
}

// Checked handle access: DeviceError(KILN_ERR_INVALID) for NULL or a handle that is not live.
Device& checked(kiln_device* d);
Buffer& checked(kiln_buffer* b, const char* what);
Program& checked(kiln_program* p);
Graph& checked(kiln_graph* g);

// Makes the device's primary context current on the calling thread.
void make_current(Device& dev);

int device_count(std::string* why);
Device* open_device(int index);
void close_device(Device& dev);
void fill_caps(Device& dev, kiln_device_caps* caps);
void synchronize(Device& dev);

Buffer* alloc_buffer(Device& dev, size_t bytes);
void free_buffer(Device& dev, Buffer* buf);
void release_cache(Device& dev);  // gives cached blocks back to the driver; caller holds dev.mu
void copy_in(Device& dev, Buffer& dst, size_t offset, const void* src, size_t bytes);
void copy_out(Device& dev, void* dst, Buffer& src, size_t offset, size_t bytes);
// Asynchronous read-back: queued on the stream into a pinned slot; read_end waits for it.
uint64_t read_begin(Device& dev, Buffer& src, size_t offset, size_t bytes);
void read_end(Device& dev, uint64_t ticket, void* dst, size_t bytes);
void copy_device(Device& dev, Buffer& dst, size_t dst_offset, Buffer& src, size_t src_offset,
                 size_t bytes);

std::string render(Device& dev, const kiln_kernel* kernel);
std::vector<char> compile(Device& dev, const char* source, size_t len);
Program* load_program(Device& dev, const void* blob, size_t len, const char* kernel_name);
void unload_program(Device& dev, Program* prog);

void launch(Device& dev, const kiln_launch* launch, double* time_s);
Graph* create_graph(Device& dev, const kiln_launch* launches, uint32_t n);
// Frees the graph's driver objects and the graph; the caller holds dev.mu with the context
// current and has taken it out of dev.graphs.
void release_graph(Device& dev, Graph* graph);
void launch_graph(Device& dev, Graph& graph, const kiln_launch* launches, uint32_t n);
void destroy_graph(Device& dev, Graph* graph);

}  // namespace kiln::cuda
