// A small builder for kernel IR arrays, so tests can write kernels by hand, plus a wrapper of
// the cpu_llvm plugin's C API (load the .so, open the device, build/launch kernels).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/device.h"
#include "kiln/kernel_ir.h"
#include "kiln/plugin_loader.h"

namespace kt {

class IrBuilder {
 public:
  explicit IrBuilder(std::string name) : name_(std::move(name)) {}

  int32_t add(kiln_ir_op op, kiln_dtype dt, std::vector<int32_t> srcs = {}, int64_t arg = 0,
              uint8_t vcount = 1, uint32_t flags = 0);

  int32_t param(kiln_dtype dt, int64_t slot);
  int32_t var(kiln_dtype dt, int64_t slot, int64_t min, int64_t max);
  int32_t local(kiln_dtype dt, int64_t count) { return add(KILN_IR_LOCAL, dt, {}, count); }
  int32_t ci(kiln_dtype dt, int64_t v, uint8_t lanes = 1);   // integer / bool constant
  int32_t cf(kiln_dtype dt, double v, uint8_t lanes = 1);    // float constant
  int32_t gid(int axis) { return add(KILN_IR_SPECIAL, KILN_DTYPE_I32, {}, axis); }
  int32_t range(int32_t from, int32_t to, uint32_t flags = 0);
  void end_range(int32_t r) { add(KILN_IR_ENDRANGE, KILN_DTYPE_VOID, {r}); }
  void if_(int32_t cond) { ifs_.push_back(add(KILN_IR_IF, KILN_DTYPE_VOID, {cond})); }
  void end_if() { add(KILN_IR_ENDIF, KILN_DTYPE_VOID, {ifs_.back()}); ifs_.pop_back(); }
  int32_t load(int32_t buf, int32_t idx, uint8_t lanes = 1, int32_t gate = -1, int32_t alt = -1,
               uint32_t flags = 0);
  void store(int32_t buf, int32_t idx, int32_t value, uint8_t lanes = 1, int32_t gate = -1,
             uint32_t flags = 0);
  int32_t acc(int32_t init);
  void assign(int32_t acc, int32_t value) { add(KILN_IR_ASSIGN, KILN_DTYPE_VOID, {acc, value}); }
  int32_t alu(kiln_ir_op op, int32_t a, int32_t b = -1, int32_t c = -1);  // dtype/lanes from a
  int32_t cmp(kiln_ir_op op, int32_t a, int32_t b);                       // bool result
  int32_t cast(kiln_dtype to, int32_t v);
  int32_t bitcast(kiln_dtype to, int32_t v);
  int32_t vectorize(const std::vector<int32_t>& lanes);
  int32_t gep(int32_t v, int64_t lane);

  kiln_ir_inst& inst(int32_t i) { return insts_[i]; }
  kiln_dtype dtype(int32_t i) const { return static_cast<kiln_dtype>(insts_[i].dtype); }
  uint8_t lanes(int32_t i) const { return insts_[i].vcount ? insts_[i].vcount : 1; }

  // The kernel; valid while the builder lives and is not modified.
  kiln_kernel kernel() const;

  uint32_t n_params = 0;
  uint32_t n_vars = 0;

 private:
  std::string name_;
  std::vector<kiln_ir_inst> insts_;
  std::vector<int32_t> operands_;
  std::vector<int32_t> ifs_;
};

// The cpu_llvm plugin, opened once per test process.
class Cpu {
 public:
  static Cpu& get();
  explicit Cpu(const char* threads_env = nullptr);  // KILN_THREADS override for this device
  ~Cpu();

  const kiln_device_api& api() const { return *api_; }
  kiln_device* dev() const { return dev_; }

  kiln_buffer* alloc(size_t bytes);
  template <class T>
  kiln_buffer* upload(const std::vector<T>& v) {
    kiln_buffer* b = alloc(v.size() * sizeof(T));
    put(b, v.data(), v.size() * sizeof(T));
    return b;
  }
  void put(kiln_buffer* b, const void* src, size_t bytes);
  template <class T>
  std::vector<T> download(kiln_buffer* b, size_t n) {
    std::vector<T> v(n);
    get(b, v.data(), n * sizeof(T));
    return v;
  }
  void get(kiln_buffer* b, void* dst, size_t bytes);
  void free(kiln_buffer* b) { api_->free(dev_, b); }

  // render + compile + load; fails the test on error.
  kiln_program* build(const IrBuilder& b);
  // The status of render+compile+load and its error text.
  kiln_status try_build(const IrBuilder& b, std::string* error, kiln_program** out = nullptr);
  kiln_status launch(kiln_program* p, const std::vector<kiln_buffer*>& bufs,
                     const std::vector<int64_t>& vars, uint32_t gx, uint32_t gy = 1,
                     uint32_t gz = 1, std::string* error = nullptr, double* time_s = nullptr);
  void run(kiln_program* p, const std::vector<kiln_buffer*>& bufs,
           const std::vector<int64_t>& vars, uint32_t gx, uint32_t gy = 1, uint32_t gz = 1);
  std::string render(const IrBuilder& b);

 private:
  kiln::PluginHandle handle_;
  const kiln_device_api* api_ = nullptr;
  kiln_device* dev_ = nullptr;
};

}  // namespace kt
