// Renderer + compiler + program loading: kernel IR -> LLVM text -> blob -> loaded kernel.
#include "blob.h"
#include "device.h"
#include "errors.h"
#include "ir_check.h"
#include "render_llvm.h"

namespace kiln::cpu {
namespace {

constexpr int64_t kMaxSlots = 4096;

bool is_c_identifier(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  for (const char* p = s; *p; ++p) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (p != s && c >= '0' && c <= '9');
    if (!ok || p - s > 200) return false;
  }
  return true;
}

}  // namespace

std::string render(Device&, const kiln_kernel* kernel) {
  if (kernel == nullptr) fail(KILN_ERR_INVALID, "cpu_llvm: render of a NULL kernel");
  return render_llvm(*kernel);  // core prints it at KILN_DEBUG >= 4
}

std::vector<char> compile(Device& dev, const char* source, size_t len) {
  if (source == nullptr || len == 0) fail(KILN_ERR_INVALID, "cpu_llvm: compile of empty source");
  std::string text(source, len);  // NUL-terminated copy for LLVM's lexer
  return wrap_blob(compile_to_object(text, dev.debug_level), dev.compiler_id);
}

Program* load_program(Device& dev, const void* blob, size_t len, const char* kernel_name) {
  if (!is_c_identifier(kernel_name))
    fail(KILN_ERR_INVALID, "cpu_llvm: kernel name is not a C identifier");
  ObjectView object = unwrap_blob(blob, len, dev.compiler_id);
  const std::string name = kernel_name;
  Jit::Loaded loaded =
      dev.jit->load(object.data, object.size, kernel_symbol(name), info_symbol(name));
  auto drop = [&](const std::string& why) {
    dev.jit->unload(loaded.handle);
    fail(KILN_ERR_INVALID, "cpu_llvm: kernel '" + name + "': " + why);
  };
  const int64_t* info = loaded.info;
  if (info[0] != kInfoMagic || info[1] != kKernelAbiVersion)
    drop("its info block has another magic or calling-convention version");
  if (info[2] < 0 || info[2] > kMaxSlots || info[3] < 0 || info[3] > kMaxSlots)
    drop("its info block has implausible slot counts");
  auto prog = std::make_unique<Program>();
  prog->fn = reinterpret_cast<KernelFn>(loaded.fn);
  prog->jit_handle = loaded.handle;
  prog->name = name;
  prog->n_params = uint32_t(info[2]);
  prog->n_vars = uint32_t(info[3]);
  prog->work_per_group = info[4] > 0 ? uint64_t(info[4]) : 1;
  const int64_t* flags = info + kInfoHeader;
  for (uint32_t p = 0; p < prog->n_params; ++p)
    if (flags[p] & PARAM_WRITTEN) prog->written.push_back(p);
  const int64_t* vmin = flags + prog->n_params;
  prog->var_min.assign(vmin, vmin + prog->n_vars);
  prog->var_max.assign(vmin + prog->n_vars, vmin + 2 * prog->n_vars);
  std::lock_guard<std::mutex> lock(dev.mu);
  dev.programs.insert(prog.get());
  return prog.release();
}

void unload_program(Device& dev, Program* prog) {
  std::lock_guard<std::mutex> lock(dev.mu);
  if (dev.programs.erase(prog) == 0) return;
  prog->magic = 0;  // launches refuse it from now on
  // A graph still holding it keeps the code mapped until the graph is destroyed.
  if (prog->graph_refs == 0) release_program(dev, prog);
}

void release_program(Device& dev, Program* prog) {
  dev.jit->unload(prog->jit_handle);
  prog->magic = 0;
  delete prog;
}

}  // namespace kiln::cpu
