// Compiler and Program parts: render (kernel IR -> PTX), compile (PTX -> cubin through the
// driver's JIT linker, its error log in the message when the PTX is rejected), load and launch.
// The blob is a header, the kernel's meta line and the cubin; load() refuses a blob that is
// damaged or made by another compiler id (the kernel cache keys on it too).
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "device.h"
#include "errors.h"
#include "ptx_render.h"

namespace kiln::cuda {

namespace {

constexpr char kBlobMagic[8] = {'K', 'C', 'U', 'B', 'I', 'N', '0', '1'};

uint64_t fnv(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Parses "// kiln-meta v1 flat=1 pack=1 params=3 vars=1 local=0 maxntid=0 written=100
// var0=0:4095" (maxntid: threads a block must not exceed, 0 = any; older sources lack it).
KernelMeta parse_meta(const std::string& line) {
  KernelMeta m;
  std::istringstream in(line);
  std::string word;
  in >> word >> word >> word;  // "//" "kiln-meta" "v1"
  if (word != "v1") fail(KILN_ERR_INVALID, "cuda_ptx: source lacks a '// kiln-meta v1' first line");
  while (in >> word) {
    auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    std::string key = word.substr(0, eq), val = word.substr(eq + 1);
    if (key == "flat")
      m.flat = val == "1";
    else if (key == "pack")
      m.pack = uint32_t(std::stoul(val));
    else if (key == "params")
      m.n_params = uint32_t(std::stoul(val));
    else if (key == "vars")
      m.n_vars = uint32_t(std::stoul(val));
    else if (key == "local")
      m.local_bytes = std::stoull(val);
    else if (key == "maxntid")
      m.max_threads = uint32_t(std::stoul(val));
    else if (key == "written")
      for (char c : val) m.written.push_back(c == '1');
    else if (key.rfind("var", 0) == 0) {
      auto colon = val.find(':');
      m.var_min.push_back(std::stoll(val.substr(0, colon)));
      m.var_max.push_back(std::stoll(val.substr(colon + 1)));
    }
  }
  if (m.written.size() != m.n_params || m.var_min.size() != m.n_vars)
    fail(KILN_ERR_INVALID, "cuda_ptx: malformed kiln-meta line: " + line);
  return m;
}

std::string first_line(const char* s, size_t n) {
  const char* nl = static_cast<const char*>(std::memchr(s, '\n', n));
  return std::string(s, nl ? size_t(nl - s) : n);
}

template <class T>
void put(std::vector<char>& out, const T& v) {
  size_t at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

}  // namespace

std::string render(Device& dev, const kiln_kernel* kernel) {
  if (kernel == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: render: kernel is NULL");
  PtxTarget target;
  target.sm = dev.cc_major * 10 + dev.cc_minor;
  target.max_local_bytes = uint64_t(dev.shared_per_block);
  target.prefetch = dev.prefetch;
  target.prefetch_bytes = dev.prefetch_bytes;
  target.prefetch_whole = dev.prefetch_whole;
  target.stamps = dev.stamps;
  target.trigger = static_cast<PtxTarget::Trigger>(dev.trigger);
  return render_ptx(*kernel, target);
}

std::vector<char> compile(Device& dev, const char* source, size_t len) {
  if (source == nullptr) fail(KILN_ERR_INVALID, "cuda_ptx: compile: source is NULL");
  const std::string meta_line = first_line(source, len);
  parse_meta(meta_line);
  std::string ptx(source, len);  // NUL-terminated for the driver
  const Driver& d = *dev.drv;
  make_current(dev);
  std::vector<char> error_log(16384, 0), info_log(4096, 0);
  // KILN_DEBUG >= 5: the JIT's verbose log (registers, spills, shared memory per kernel)
  const bool verbose = dev.debug_level >= 5;
  int options[] = {CU_JIT_ERROR_LOG_BUFFER,   CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_INFO_LOG_BUFFER,    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_LOG_VERBOSE};
  void* values[] = {error_log.data(),
                    reinterpret_cast<void*>(error_log.size() - 1),
                    info_log.data(),
                    reinterpret_cast<void*>(info_log.size() - 1),
                    reinterpret_cast<void*>(uintptr_t{4}),
                    reinterpret_cast<void*>(uintptr_t{verbose})};
  CUlinkState link = nullptr;
  check(d, d.cuLinkCreate(6, options, values, &link), "cuLinkCreate", KILN_ERR_COMPILE);
  struct LinkGuard {
    const Driver& d;
    CUlinkState s;
    ~LinkGuard() { d.cuLinkDestroy(s); }
  } guard{d, link};
  CUresult r = d.cuLinkAddData(link, CU_JIT_INPUT_PTX, ptx.data(), ptx.size() + 1, "kiln.ptx", 0,
                               nullptr, nullptr);
  void* cubin = nullptr;
  size_t cubin_len = 0;
  if (r == CUDA_SUCCESS) r = d.cuLinkComplete(link, &cubin, &cubin_len);
  if (r != CUDA_SUCCESS)
    fail(KILN_ERR_COMPILE, "cuda_ptx: the driver's PTX JIT rejected the kernel (" +
                               describe(d, "cuLinkAddData", r) + "):\n" + error_log.data() +
                               (dev.debug_level >= 1 ? "\n--- PTX ---\n" + ptx : std::string()));
  if (dev.debug_level >= 5 && info_log[0])
    std::fprintf(stderr, "cuda_ptx JIT: %s\n", info_log.data());
  std::vector<char> blob(kBlobMagic, kBlobMagic + 8);
  put(blob, fnv(dev.compiler_id.data(), dev.compiler_id.size()));
  put(blob, uint64_t(meta_line.size()));
  blob.insert(blob.end(), meta_line.begin(), meta_line.end());
  put(blob, uint64_t(cubin_len));
  const char* c = static_cast<const char*>(cubin);
  blob.insert(blob.end(), c, c + cubin_len);
  put(blob, fnv(blob.data(), blob.size()));
  return blob;
}

Program* load_program(Device& dev, const void* blob, size_t len, const char* kernel_name) {
  if (blob == nullptr || kernel_name == nullptr)
    fail(KILN_ERR_INVALID, "cuda_ptx: load: blob or kernel name is NULL");
  auto* b = static_cast<const char*>(blob);
  auto bad = [&](const std::string& why) {
    fail(KILN_ERR_INVALID, "cuda_ptx: load '" + std::string(kernel_name) + "': " + why);
  };
  auto get64 = [&](size_t off) {
    uint64_t v;
    std::memcpy(&v, b + off, 8);
    return v;
  };
  if (len < 8 + 8 + 8 + 8 + 8 || std::memcmp(b, kBlobMagic, 8) != 0) bad("not a cuda_ptx blob");
  if (get64(len - 8) != fnv(b, len - 8)) bad("blob checksum mismatch (damaged or truncated)");
  if (get64(8) != fnv(dev.compiler_id.data(), dev.compiler_id.size()))
    bad("blob made by another compiler or GPU (this one is '" + dev.compiler_id + "')");
  uint64_t meta_len = get64(16);
  if (meta_len > len - 40) bad("truncated blob");
  std::string meta_line(b + 24, meta_len);
  uint64_t cubin_len = get64(24 + meta_len);
  if (cubin_len != len - 40 - meta_len) bad("truncated blob");
  const char* cubin = b + 32 + meta_len;

  auto prog = std::make_unique<Program>();
  prog->meta = parse_meta(meta_line);
  prog->name = kernel_name;
  const Driver& d = *dev.drv;
  std::lock_guard<std::mutex> lock(dev.mu);
  make_current(dev);
  std::vector<char> error_log(8192, 0);
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {error_log.data(), reinterpret_cast<void*>(error_log.size() - 1)};
  CUresult r = d.cuModuleLoadDataEx(&prog->module, cubin, 2, options, values);
  if (r != CUDA_SUCCESS)
    fail(KILN_ERR_COMPILE, "cuda_ptx: load '" + std::string(kernel_name) + "': " +
                               describe(d, "cuModuleLoadDataEx", r) + ": " + error_log.data());
  std::string entry = ptx_entry_name(kernel_name);
  r = d.cuModuleGetFunction(&prog->fn, prog->module, entry.c_str());
  if (r != CUDA_SUCCESS) {
    d.cuModuleUnload(prog->module);
    bad("the module has no kernel '" + entry + "' (" + describe(d, "cuModuleGetFunction", r) + ")");
  }
  Program* p = prog.release();
  dev.programs.insert(p);
  return p;
}

void unload_program(Device& dev, Program* prog) {
  std::lock_guard<std::mutex> lock(dev.mu);
  if (!dev.programs.count(prog))
    fail(KILN_ERR_INVALID, "cuda_ptx: unload: not a program of this device");
  if (prog->graph_refs > 0)
    fail(KILN_ERR_INVALID, "cuda_ptx: unload '" + prog->name + "': a live graph still launches it");
  make_current(dev);
  dev.programs.erase(prog);
  dev.drv->cuModuleUnload(prog->module);
  prog->magic = 0;
  delete prog;
}

}  // namespace kiln::cuda
