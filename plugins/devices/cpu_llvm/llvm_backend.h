// The plugin's only doorway to LLVM; no LLVM type appears here, so only llvm_compile.cpp and
// llvm_jit.cpp pay for LLVM's headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln::cpu {

struct HostInfo {
  std::string llvm_version;  // "16.0.6"
  std::string triple;        // "x86_64-pc-linux-gnu"
  std::string cpu;           // LLVM's name for the host CPU, e.g. "znver3"
  std::string features;      // "+avx2,+fma,-avx512f,..." sorted
  uint64_t features_hash = 0;
  std::string isa;           // best vector ISA: "avx512", "avx2", "avx", "sse", "neon", "scalar"
  unsigned vector_bytes = 16;  // widest vector register the code generator should target
  // glibc's libmvec is present with the vector variants this CPU can run: vectorized loops
  // and vector EXP2/LOG2/SIN/POW call them instead of one libm call per lane.
  bool libmvec = false;
  // VPDPBUSD (kernel IR DOT4) on 512-bit vectors (AVX512-VNNI), and on 128/256-bit ones
  // (AVX512-VNNI with AVX512-VL, or AVX-VNNI)
  bool vnni_512 = false, vnni_256 = false;
};

// Computed once per process.
const HostInfo& host_info();

// LLVM IR text -> relocatable object for the host CPU, optimized at O3 (new pass manager,
// loop and SLP vectorizers). Malformed text, a verifier failure or an LLVM fatal error is a
// DeviceError(KILN_ERR_COMPILE) quoting the offending lines. debug_level >= 5 prints the
// optimized IR and the assembly to stderr.
std::vector<char> compile_to_object(const std::string& text, int debug_level);

// ORC LLJIT holding loaded objects, one JITDylib each (so equal kernel names never clash and
// unload frees the code). Process symbols (libm) resolve through the host process.
class Jit {
 public:
  Jit();
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  struct Loaded {
    void* fn = nullptr;              // the kernel entry (KernelFn)
    const int64_t* info = nullptr;   // the kernel's kiln_info array
    uint64_t handle = 0;
  };
  // Links `object` and looks up `symbol` and `info_symbol`. DeviceError(KILN_ERR_COMPILE) when
  // the object does not link or lacks a symbol.
  Loaded load(const void* object, size_t size, const std::string& symbol,
              const std::string& info_symbol);
  void unload(uint64_t handle);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::cpu
