// The Cpu test fixture: failures are Catch2 failures.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "ir_builder.h"

namespace kt {

Cpu& Cpu::get() {
  static Cpu cpu;
  return cpu;
}

Cpu::Cpu(const char* threads_env) {
  handle_ = kiln::load_plugin(KILN_PLUGIN_DIR "/cpu_llvm.so", KILN_PLUGIN_DEVICE);
  api_ = static_cast<const kiln_device_api*>(handle_.api());
  char err[1024] = "";
  std::string saved;
  const char* old = std::getenv("KILN_THREADS");
  if (old) saved = old;
  if (threads_env) setenv("KILN_THREADS", threads_env, 1);
  kiln_status st = api_->open(0, &dev_, {err, sizeof err});
  if (threads_env) {
    if (old) setenv("KILN_THREADS", saved.c_str(), 1);
    else unsetenv("KILN_THREADS");
  }
  if (st != KILN_OK) FAIL("open failed: " << err);
}

Cpu::~Cpu() {
  if (dev_) api_->close(dev_);
}

kiln_buffer* Cpu::alloc(size_t bytes) {
  kiln_buffer* b = nullptr;
  char err[512] = "";
  kiln_status st = api_->alloc(dev_, bytes, &b, {err, sizeof err});
  if (st != KILN_OK) FAIL("alloc failed: " << err);
  return b;
}

void Cpu::put(kiln_buffer* b, const void* src, size_t bytes) {
  char err[512] = "";
  if (api_->copy_in(dev_, b, 0, src, bytes, {err, sizeof err}) != KILN_OK) FAIL("copy_in: " << err);
}

void Cpu::get(kiln_buffer* b, void* dst, size_t bytes) {
  char err[512] = "";
  if (api_->copy_out(dev_, dst, b, 0, bytes, {err, sizeof err}) != KILN_OK) FAIL("copy_out: " << err);
}

std::string Cpu::render(const IrBuilder& b) {
  kiln_kernel k = b.kernel();
  char* text = nullptr;
  size_t len = 0;
  std::vector<char> err(1 << 16);
  kiln_status st = api_->render(dev_, &k, &text, &len, {err.data(), err.size()});
  if (st != KILN_OK) FAIL("render failed: " << err.data());
  std::string out(text, len);
  api_->free_text(dev_, text);
  return out;
}

kiln_status Cpu::try_build(const IrBuilder& b, std::string* error, kiln_program** out) {
  kiln_kernel k = b.kernel();
  std::vector<char> err(1 << 18);
  kiln_error_buf eb{err.data(), err.size()};
  char* text = nullptr;
  size_t len = 0;
  kiln_status st = api_->render(dev_, &k, &text, &len, eb);
  if (st == KILN_OK) {
    void* blob = nullptr;
    size_t blob_len = 0;
    st = api_->compile(dev_, text, len, &blob, &blob_len, eb);
    api_->free_text(dev_, text);
    if (st == KILN_OK) {
      kiln_program* p = nullptr;
      st = api_->load(dev_, blob, blob_len, k.name, &p, eb);
      api_->free_blob(dev_, blob);
      if (out) *out = p;
      else if (p) api_->unload(dev_, p);
    }
  }
  if (error) *error = err.data();
  return st;
}

kiln_program* Cpu::build(const IrBuilder& b) {
  std::string error;
  kiln_program* p = nullptr;
  kiln_status st = try_build(b, &error, &p);
  if (st != KILN_OK) FAIL("build failed (" << st << "): " << error);
  return p;
}

kiln_status Cpu::launch(kiln_program* p, const std::vector<kiln_buffer*>& bufs,
                        const std::vector<int64_t>& vars, uint32_t gx, uint32_t gy, uint32_t gz,
                        std::string* error, double* time_s) {
  kiln_launch l{};
  l.program = p;
  l.buffers = bufs.data();
  l.n_buffers = uint32_t(bufs.size());
  l.vars = vars.empty() ? nullptr : vars.data();
  l.n_vars = uint32_t(vars.size());
  l.global_size[0] = gx;
  l.global_size[1] = gy;
  l.global_size[2] = gz;
  l.local_size[0] = l.local_size[1] = l.local_size[2] = 1;
  char err[2048] = "";
  kiln_status st = api_->launch(dev_, &l, time_s, {err, sizeof err});
  if (error) *error = err;
  return st;
}

void Cpu::run(kiln_program* p, const std::vector<kiln_buffer*>& bufs,
              const std::vector<int64_t>& vars, uint32_t gx, uint32_t gy, uint32_t gz) {
  std::string error;
  kiln_status st = launch(p, bufs, vars, gx, gy, gz, &error);
  if (st != KILN_OK) FAIL("launch failed (" << st << "): " << error);
}

}  // namespace kt
