#include "ir_builder.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>

namespace kt {

int32_t IrBuilder::add(kiln_ir_op op, kiln_dtype dt, std::vector<int32_t> srcs, int64_t arg,
                       uint8_t vcount, uint32_t flags) {
  kiln_ir_inst in{};
  in.op = uint16_t(op);
  in.dtype = uint8_t(dt);
  in.vcount = vcount;
  in.flags = flags;
  for (int j = 0; j < KILN_IR_MAX_SRC; ++j) in.src[j] = j < int(srcs.size()) ? srcs[j] : -1;
  in.arg = arg;
  insts_.push_back(in);
  return int32_t(insts_.size() - 1);
}

int32_t IrBuilder::param(kiln_dtype dt, int64_t slot) {
  if (uint32_t(slot) >= n_params) n_params = uint32_t(slot) + 1;
  return add(KILN_IR_PARAM, dt, {}, slot);
}

int32_t IrBuilder::var(kiln_dtype dt, int64_t slot, int64_t min, int64_t max) {
  if (uint32_t(slot) >= n_vars) n_vars = uint32_t(slot) + 1;
  int32_t v = add(KILN_IR_VAR, dt, {}, slot);
  insts_[v].imm.i = min;
  insts_[v].arg2 = max;
  return v;
}

int32_t IrBuilder::ci(kiln_dtype dt, int64_t v, uint8_t lanes) {
  int32_t c = add(KILN_IR_CONST, dt, {}, 0, lanes);
  insts_[c].imm.i = v;
  return c;
}

int32_t IrBuilder::cf(kiln_dtype dt, double v, uint8_t lanes) {
  int32_t c = add(KILN_IR_CONST, dt, {}, 0, lanes);
  insts_[c].imm.f = v;
  return c;
}

int32_t IrBuilder::range(int32_t from, int32_t to, uint32_t flags) {
  return add(KILN_IR_RANGE, dtype(from), {from, to}, 0, 1, flags);
}

int32_t IrBuilder::load(int32_t buf, int32_t idx, uint8_t lanes, int32_t gate, int32_t alt,
                        uint32_t flags) {
  std::vector<int32_t> srcs = {buf, idx};
  if (gate >= 0) srcs.push_back(gate);
  if (alt >= 0) srcs.push_back(alt);
  return add(KILN_IR_LOAD, dtype(buf), srcs, 0, lanes, flags);
}

void IrBuilder::store(int32_t buf, int32_t idx, int32_t value, uint8_t lanes, int32_t gate,
                      uint32_t flags) {
  std::vector<int32_t> srcs = {buf, idx, value};
  if (gate >= 0) srcs.push_back(gate);
  add(KILN_IR_STORE, dtype(buf), srcs, 0, lanes, flags);
}

int32_t IrBuilder::acc(int32_t init) {
  return add(KILN_IR_ACC, dtype(init), {init}, 0, lanes(init));
}

int32_t IrBuilder::alu(kiln_ir_op op, int32_t a, int32_t b, int32_t c) {
  std::vector<int32_t> srcs = {a};
  if (b >= 0) srcs.push_back(b);
  if (c >= 0) srcs.push_back(c);
  // WHERE takes its type from the values, not the condition.
  int32_t like = op == KILN_IR_WHERE ? b : a;
  uint8_t n = lanes(like);
  for (int32_t s : srcs) n = std::max<uint8_t>(n, lanes(s));
  return add(op, dtype(like), srcs, 0, n);
}

int32_t IrBuilder::cmp(kiln_ir_op op, int32_t a, int32_t b) {
  return add(op, KILN_DTYPE_BOOL, {a, b}, 0, std::max(lanes(a), lanes(b)));
}

int32_t IrBuilder::cast(kiln_dtype to, int32_t v) { return add(KILN_IR_CAST, to, {v}, 0, lanes(v)); }

int32_t IrBuilder::bitcast(kiln_dtype to, int32_t v) {
  return add(KILN_IR_BITCAST, to, {v}, 0, lanes(v));
}

int32_t IrBuilder::vectorize(const std::vector<int32_t>& lanes_src) {
  int32_t first = int32_t(operands_.size());
  for (int32_t s : lanes_src) operands_.push_back(s);
  return add(KILN_IR_VECTORIZE, dtype(lanes_src[0]), {first}, 0, uint8_t(lanes_src.size()));
}

int32_t IrBuilder::gep(int32_t v, int64_t lane) { return add(KILN_IR_GEP, dtype(v), {v}, lane); }

kiln_kernel IrBuilder::kernel() const {
  kiln_kernel k{};
  k.ir_version = KILN_IR_VERSION;
  k.name = name_.c_str();
  k.insts = insts_.data();
  k.n_insts = uint32_t(insts_.size());
  k.operands = operands_.empty() ? nullptr : operands_.data();
  k.n_operands = uint32_t(operands_.size());
  k.n_params = n_params;
  k.n_vars = n_vars;
  for (int i = 0; i < 3; ++i) k.global_size[i] = k.local_size[i] = 1;
  return k;
}

// ---- Cpu ----

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
