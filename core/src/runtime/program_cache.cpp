#include "runtime/program_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

#include "kiln/env.h"
#include "kiln/error.h"
#include "runtime/debug.h"
#include "runtime/stats.h"

namespace fs = std::filesystem;

namespace kiln::detail {

Program::~Program() {
  if (handle && device) device->api().unload(device->handle(), handle);
}

std::string kernel_cache_dir() {
  if (env::is_on("KILN_DISABLE_CACHE")) return "";
  if (const char* d = env::value("KILN_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/kiln";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/kiln";
  return "";
}

namespace {

uint64_t fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

fs::path cache_file(Device* d, uint64_t ir_hash) {
  std::string dir = kernel_cache_dir();
  if (dir.empty()) return {};
  std::string dev_key = d->plugin_name() + "|" + d->caps().arch + "|" + d->compiler_id();
  return fs::path(dir) / "kernels" / hex(fnv(dev_key)) / (hex(ir_hash) + ".blob");
}

bool read_file(const fs::path& p, std::string& out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

void write_file_atomic(const fs::path& p, const void* data, size_t n) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  if (ec) return;  // a cache we cannot write is not an error
  fs::path tmp = p;
  tmp += ".tmp" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f) return;
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) return;
  }
  fs::rename(tmp, p, ec);
  if (ec) fs::remove(tmp, ec);
}

ProgramRef load_blob(Device* d, const void* blob, size_t len, const std::string& name,
                     std::string* error) {
  char err[4096] = {0};
  kiln_program* prog = nullptr;
  if (d->api().load(d->handle(), blob, len, name.c_str(), &prog, {err, sizeof err}) != KILN_OK) {
    if (error) *error = err;
    return nullptr;
  }
  auto p = std::make_shared<Program>();
  p->device = d;
  p->handle = prog;
  p->name = name;
  return p;
}

}  // namespace

ProgramRef get_program(Device* d, const LoweredKernel& k) {
  static std::mutex mu;
  static auto* memory = new std::map<std::pair<Device*, uint64_t>, ProgramRef>();
  uint64_t h = k.ir_hash();
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(d, h);
  if (auto it = memory->find(key); it != memory->end()) return it->second;

  kiln_kernel kv = k.view();
  if (debug_level() >= 3) std::cerr << format_ir(kv);

  fs::path file = cache_file(d, h);
  if (!file.empty()) {
    std::string blob;
    if (read_file(file, blob)) {
      if (auto p = load_blob(d, blob.data(), blob.size(), k.name, nullptr)) {
        stats().kernels_from_disk++;
        (*memory)[key] = p;
        return p;
      }
    }
  }

  char err[16384] = {0};
  char* src = nullptr;
  size_t src_len = 0;
  if (d->api().render(d->handle(), &kv, &src, &src_len, {err, sizeof err}) != KILN_OK)
    throw Error("device " + d->spec() + ": cannot render kernel " + k.name + ": " + err +
                "\n" + format_ir(kv));
  std::string source(src, src_len);
  d->api().free_text(d->handle(), src);
  if (debug_level() >= 4) std::cerr << "--- " << k.name << " source ---\n" << source << "\n";
  void* blob = nullptr;
  size_t blob_len = 0;
  if (d->api().compile(d->handle(), source.data(), source.size(), &blob, &blob_len,
                       {err, sizeof err}) != KILN_OK)
    throw Error("device " + d->spec() + ": cannot compile kernel " + k.name + ": " + err +
                "\n" + format_ir(kv));
  stats().kernels_compiled++;
  std::string load_error;
  ProgramRef p = load_blob(d, blob, blob_len, k.name, &load_error);
  if (p && !file.empty()) write_file_atomic(file, blob, blob_len);
  d->api().free_blob(d->handle(), blob);
  if (!p) throw Error("device " + d->spec() + ": cannot load kernel " + k.name + ": " + load_error);
  (*memory)[key] = p;
  return p;
}

}  // namespace kiln::detail
