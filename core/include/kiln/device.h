/* The device contract: a C ABI (plain structs, function tables, status codes, caller-owned
 * error buffers). No exceptions, no STL, no C++ types cross it, so a device plugin built by a
 * third party with another compiler still loads. The four parts (tinygrad's split):
 * Device, Allocator, Renderer+Compiler, Program(+Graph). docs/plugins.md has the details. */
#ifndef KILN_DEVICE_H
#define KILN_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/dtype.h"
#include "kiln/kernel_ir.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_DEVICE_ABI_VERSION 1

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERR_INVALID = 1,     /* bad argument */
  KILN_ERR_NO_DEVICE = 2,   /* driver missing or no such device */
  KILN_ERR_OUT_OF_MEMORY = 3,
  KILN_ERR_COMPILE = 4,     /* render or compile failed; error text has the details */
  KILN_ERR_LAUNCH = 5,
  KILN_ERR_UNSUPPORTED = 6, /* an optional entry point or IR feature this device lacks */
  KILN_ERR_INTERNAL = 7,
} kiln_status;

/* Error text goes here: the callee writes a NUL-terminated message of at most `size` bytes. */
typedef struct kiln_error_buf {
  char* text;
  size_t size;
} kiln_error_buf;

typedef struct kiln_device kiln_device;   /* opaque, owned by the plugin */
typedef struct kiln_buffer kiln_buffer;   /* opaque device allocation */
typedef struct kiln_program kiln_program; /* opaque loaded kernel */
typedef struct kiln_graph kiln_graph;     /* opaque captured launch list */

/* has_tensor_cores bits */
enum {
  KILN_TENSOR_CORES_MMA_16816 = 1u << 0, /* KILN_IR_MMA: m16n8k16, F16/BF16 in, F32 out */
};

typedef struct kiln_device_caps {
  uint32_t struct_size;          /* sizeof(kiln_device_caps) as the plugin knows it */
  char name[64];                 /* e.g. "cpu", "cuda" */
  char arch[64];                 /* e.g. "x86_64-avx2", "sm_90" — part of the kernel cache key */
  char description[128];         /* human readable: CPU model, GPU name */
  uint32_t compute_units;        /* cores or SMs */
  uint32_t warp_size;            /* 1 on CPUs */
  uint32_t max_local_size[3];    /* per-axis threads per group; {1,1,1} means no locals */
  uint32_t max_threads_per_group;
  uint32_t max_global_size[3];
  uint64_t local_memory_bytes;   /* shared memory per group; 0 = none */
  uint64_t global_memory_bytes;
  uint32_t preferred_vector_bytes; /* e.g. 32 for AVX2, 64 for AVX-512, 16 for GPUs */
  uint32_t dtype_mask;           /* bit (1u << kiln_dtype) for each supported storage dtype */
  uint32_t has_tensor_cores;     /* KILN_TENSOR_CORES_* bits: warp matrix ops the device runs */
  uint32_t unified_memory;       /* host pointers of buffers are directly usable */
  /* Appended (older plugins leave it 0): DOT4 is one native instruction here (VPDPBUSD, dp4a),
   * so int8 dot products beat float ones; models choose int8 forms by it. */
  uint32_t fast_dot4;
  /* Appended (older plugins leave it 0): KILN_IR_COPY_ASYNC/COMMIT/WAIT run here (cp.async), so
   * tiles staged through local memory can keep several copies in flight without registers. */
  uint32_t async_copy;
} kiln_device_caps;

/* One launch (also one entry of a graph). A buffer the kernel writes must be bound to one slot
 * only: devices may treat parameters as non-aliasing (the CPU device refuses such a launch). */
typedef struct kiln_launch {
  kiln_program* program;
  kiln_buffer* const* buffers;
  uint32_t n_buffers;
  const int64_t* vars;  /* values of the kernel's variables */
  uint32_t n_vars;
  uint32_t global_size[3];
  uint32_t local_size[3];
} kiln_launch;

typedef struct kiln_device_api {
  uint32_t struct_size; /* sizeof(kiln_device_api) as the plugin knows it */

  /* ---- Device ---- */
  /* Number of devices this plugin sees (0 with a clean message in err when no driver). */
  int (*device_count)(kiln_error_buf err);
  kiln_status (*open)(int index, kiln_device** out, kiln_error_buf err);
  void (*close)(kiln_device* dev);
  void (*get_caps)(kiln_device* dev, kiln_device_caps* caps);
  kiln_status (*synchronize)(kiln_device* dev, kiln_error_buf err);

  /* ---- Allocator ---- */
  kiln_status (*alloc)(kiln_device* dev, size_t bytes, kiln_buffer** out, kiln_error_buf err);
  void (*free)(kiln_device* dev, kiln_buffer* buf);
  kiln_status (*copy_in)(kiln_device* dev, kiln_buffer* dst, size_t dst_offset, const void* src,
                         size_t bytes, kiln_error_buf err);
  kiln_status (*copy_out)(kiln_device* dev, void* dst, kiln_buffer* src, size_t src_offset,
                          size_t bytes, kiln_error_buf err);
  kiln_status (*copy_device)(kiln_device* dev, kiln_buffer* dst, size_t dst_offset,
                             kiln_buffer* src, size_t src_offset, size_t bytes,
                             kiln_error_buf err);
  /* Host address of a buffer when caps.unified_memory, else NULL. */
  void* (*host_pointer)(kiln_device* dev, kiln_buffer* buf);

  /* ---- Renderer + Compiler ---- */
  /* Identifies the compiler and its settings; part of the kernel cache key. */
  const char* (*compiler_id)(kiln_device* dev);
  /* Kernel IR -> source text (LLVM IR, PTX, HIP C). *out is owned by the plugin until
   * free_text. */
  kiln_status (*render)(kiln_device* dev, const kiln_kernel* kernel, char** out,
                        size_t* out_len, kiln_error_buf err);
  void (*free_text)(kiln_device* dev, char* text);
  /* Source -> binary blob (cacheable bytes). */
  kiln_status (*compile)(kiln_device* dev, const char* source, size_t source_len,
                         void** blob, size_t* blob_len, kiln_error_buf err);
  void (*free_blob)(kiln_device* dev, void* blob);

  /* ---- Program ---- */
  kiln_status (*load)(kiln_device* dev, const void* blob, size_t blob_len,
                      const char* kernel_name, kiln_program** out, kiln_error_buf err);
  void (*unload)(kiln_device* dev, kiln_program* prog);
  /* Enqueue one launch. When time_s is not NULL the call waits for completion and reports the
   * kernel's execution time in seconds (used by BEAM search and benchmarks). */
  kiln_status (*launch)(kiln_device* dev, const kiln_launch* launch, double* time_s,
                        kiln_error_buf err);

  /* ---- Graph (optional: NULL when unsupported; core then replays launch by launch) ---- */
  kiln_status (*graph_create)(kiln_device* dev, const kiln_launch* launches, uint32_t n,
                              kiln_graph** out, kiln_error_buf err);
  /* Replays the graph; `launches` has the same programs as at creation but may carry new
   * buffers and variable values. */
  kiln_status (*graph_launch)(kiln_device* dev, kiln_graph* graph, const kiln_launch* launches,
                              uint32_t n, kiln_error_buf err);
  void (*graph_destroy)(kiln_device* dev, kiln_graph* graph);

  /* ---- Asynchronous read-back (optional: NULL, or past the end of a shorter struct_size) ----
   * read_begin queues a copy of `bytes` of src, behind the work queued so far, into host memory
   * the plugin owns, and returns a ticket without waiting; read_end waits for that copy, writes
   * the bytes to dst and retires the ticket (each ticket is ended exactly once). A host can so
   * queue the next step before it has the last one's result (pipelined greedy decoding). */
  kiln_status (*read_begin)(kiln_device* dev, kiln_buffer* src, size_t src_offset, size_t bytes,
                            uint64_t* ticket, kiln_error_buf err);
  kiln_status (*read_end)(kiln_device* dev, uint64_t ticket, void* dst, size_t bytes,
                          kiln_error_buf err);
} kiln_device_api;

/* The part of kiln_device_api every plugin of this ABI has (up to graph_destroy): a plugin
 * built before the optional tail sets struct_size to this. */
#define KILN_DEVICE_API_V1_SIZE (offsetof(kiln_device_api, graph_destroy) + sizeof(void*))

#ifdef __cplusplus
}
#endif

#endif /* KILN_DEVICE_H */
