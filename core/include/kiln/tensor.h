// kiln::Tensor — a lazy tensor. Operations build a graph; realize() (or reading data) schedules
// it into fused kernels, generates kernel IR and runs it on the tensor's device. Movement ops
// (reshape, permute, expand, pad, shrink, flip, slice) are views: index math, never copies.
// Bad shapes, axes or dtypes throw kiln::Error naming the shapes involved.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/dtypes.h"
#include "kiln/error.h"

namespace kiln {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "(2, 3, 4)"
int64_t shape_numel(const Shape& s);

namespace detail {
struct UOp;
}
using UOpRef = std::shared_ptr<const detail::UOp>;

class Device;  // runtime/device: a device plugin instance (kiln/device_runtime.h)

// A symbolic integer (e.g. the decode position). Kernels are compiled once with the variable
// and receive its current value at launch.
class Variable {
 public:
  Variable(std::string name, int64_t min_value, int64_t max_value);
  const std::string& name() const;
  int64_t min_value() const;
  int64_t max_value() const;
  void bind(int64_t value);  // value must lie in [min, max]
  int64_t value() const;
  int id() const;            // process-unique id
  bool operator==(const Variable& o) const { return id() == o.id(); }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

enum class ReduceOp : uint8_t { Sum, Max, Min, Prod };

class PendingRead;

class Tensor {
 public:
  Tensor() = default;  // an empty handle; most calls on it throw

  // ---- creation ----
  // Copies `bytes` of host data (elements of dtype, row-major) onto the device.
  static Tensor from_host(const void* data, size_t bytes, DType dtype, const Shape& shape,
                          Device* device = nullptr);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            Device* device = nullptr);
  // A constant (no memory: folded into the kernels that read it).
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device* device = nullptr);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device* device = nullptr);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device* device = nullptr);
  static Tensor scalar(double value, DType dtype = DType::F32, Device* device = nullptr);
  // 0, 1, ..., n-1 (start + i*step for arange(start, stop, step)).
  static Tensor arange(int64_t n, DType dtype = DType::I32, Device* device = nullptr);
  static Tensor arange(double start, double stop, double step, DType dtype = DType::F32,
                       Device* device = nullptr);
  static Tensor eye(int64_t n, DType dtype = DType::F32, Device* device = nullptr);
  // An uninitialised realized buffer (e.g. a KV cache to assign into).
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device* device = nullptr);
  // Counter-based random numbers: the same (seed, shape, dtype) give the same values on every
  // device. rand: uniform [0, 1); randn: standard normal; randint: [low, high).
  static Tensor rand(const Shape& shape, uint64_t seed, DType dtype = DType::F32,
                     Device* device = nullptr);
  static Tensor randn(const Shape& shape, uint64_t seed, DType dtype = DType::F32,
                      Device* device = nullptr);
  static Tensor randint(const Shape& shape, int64_t low, int64_t high, uint64_t seed,
                        DType dtype = DType::I32, Device* device = nullptr);
  // The value of a symbolic variable as a 0-d I32 tensor (read at launch time).
  static Tensor from_variable(const Variable& v, Device* device = nullptr);

  // ---- properties ----
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int axis) const;  // negative axes count from the end
  int ndim() const;
  int64_t numel() const;
  DType dtype() const;
  Device* device() const;

  // ---- realization and data ----
  Tensor& realize();          // run the kernels that compute this tensor
  Tensor contiguous() const;  // a realized, row-major copy boundary
  // Copies the values out (realizing first), converted to T.
  template <class T>
  std::vector<T> to_vector() const;
  void copy_to_host(void* dst, size_t bytes) const;  // raw bytes in dtype(), row-major
  // The same bytes, read back behind the device's queued work without waiting for it: the
  // PendingRead's wait() returns them. Devices without asynchronous read-back
  // (Device::reads_async) copy at once.
  class PendingRead read_begin() const;
  double item() const;                               // the single value of a 1-element tensor
  Tensor to(Device* device) const;                   // copy to another device

  // In-place write into a realized tensor or a view (slice) of one: this = value (broadcast,
  // cast). Used for KV caches: cache.slice(...).assign(new_kv).
  Tensor& assign(const Tensor& value);

  // ---- elementwise ----
  Tensor operator-() const;
  Tensor neg() const { return -*this; }
  Tensor exp() const;
  Tensor exp2() const;
  Tensor log() const;
  Tensor log2() const;
  Tensor sin() const;
  Tensor cos() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor reciprocal() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor silu() const;
  Tensor gelu_tanh() const;
  Tensor gelu_erf() const;
  Tensor erf() const;
  Tensor trunc() const;
  Tensor floor() const;
  Tensor logical_not() const;  // bool
  Tensor bitwise_not() const;  // ints
  Tensor pow(const Tensor& e) const;
  Tensor pow(double e) const;
  Tensor maximum(const Tensor& o) const;
  Tensor minimum(const Tensor& o) const;
  Tensor clamp(double lo, double hi) const;
  Tensor idiv(const Tensor& o) const;  // integer division truncating toward zero
  Tensor mod(const Tensor& o) const;   // integer remainder, sign of the dividend
  Tensor bitwise_and(const Tensor& o) const;  // logical on bool
  Tensor bitwise_or(const Tensor& o) const;
  Tensor bitwise_xor(const Tensor& o) const;
  Tensor shl(const Tensor& o) const;
  Tensor shr(const Tensor& o) const;
  Tensor lt(const Tensor& o) const;  // comparisons give bool
  Tensor le(const Tensor& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor ge(const Tensor& o) const;
  Tensor eq(const Tensor& o) const;
  Tensor ne(const Tensor& o) const;
  // cond ? a : b with broadcasting (cond is cast to bool).
  static Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
  Tensor where(const Tensor& a, const Tensor& b) const { return where(*this, a, b); }
  // Byte dot products (I32 tensors, broadcast together): each element of a and b holds four
  // bytes (byte 0 the lowest); the result is acc + the sum over the bytes of
  // unsigned(byte of a) * signed(byte of b), wrapping. It reaches devices as kernel IR DOT4
  // (VPDPBUSD, dp4a): int8 dot products of block-quantized weights and activations.
  static Tensor dot4(const Tensor& a, const Tensor& b, const Tensor& acc);
  Tensor cast(DType dtype) const;
  Tensor bitcast(DType dtype) const;  // same element size
  // The same memory seen as other elements (zero-copy): this must be realized memory (a
  // buffer, not a view); shape x dtype must cover exactly its bytes. Quantized weight blocks
  // are read this way (e.g. Q8_0 bytes as u16 scales and i8 quants).
  Tensor reinterpret(DType dtype, const Shape& shape) const;

  // ---- reductions (axes may be negative; empty axes = all) ----
  Tensor sum(std::vector<int> axes = {}, bool keepdim = false) const;
  Tensor max(std::vector<int> axes = {}, bool keepdim = false) const;
  Tensor min(std::vector<int> axes = {}, bool keepdim = false) const;
  Tensor prod(std::vector<int> axes = {}, bool keepdim = false) const;
  Tensor mean(std::vector<int> axes = {}, bool keepdim = false) const;
  Tensor var(std::vector<int> axes = {}, bool keepdim = false, int64_t correction = 1) const;
  Tensor argmax(int axis, bool keepdim = false) const;  // I32 indices, first maximum wins
  Tensor argmin(int axis, bool keepdim = false) const;
  Tensor reduce(ReduceOp op, std::vector<int> axes, bool keepdim) const;

  // ---- movement (views) ----
  Tensor reshape(const Shape& shape) const;  // one dim may be -1
  Tensor permute(const std::vector<int>& order) const;
  Tensor transpose(int a = -2, int b = -1) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a dim
  // (before, after) per axis; values outside read as `value`.
  Tensor pad(const std::vector<std::pair<int64_t, int64_t>>& padding, double value = 0) const;
  Tensor shrink(const std::vector<std::pair<int64_t, int64_t>>& bounds) const;  // [lo, hi)
  Tensor flip(const std::vector<int>& axes) const;
  // [start, start + length) along axis where start is a Variable: one compiled kernel serves
  // every position (KV cache writes and reads at start_pos). start.max + length must fit.
  Tensor shrink_at(int axis, const Variable& start, int64_t length) const;
  // Python-style slice along one axis: negative indices count from the end, step may be
  // negative; bounds are clamped like Python's.
  Tensor slice(int axis, std::optional<int64_t> start, std::optional<int64_t> stop,
               int64_t step = 1) const;
  Tensor squeeze(std::optional<int> axis = std::nullopt) const;
  Tensor unsqueeze(int axis) const;
  Tensor flatten(int start_axis = 0, int end_axis = -1) const;
  Tensor repeat(const std::vector<int64_t>& times) const;  // like torch.Tensor.repeat
  static Tensor cat(const std::vector<Tensor>& tensors, int axis = 0);
  static Tensor stack(const std::vector<Tensor>& tensors, int axis = 0);

  // ---- composite ----
  Tensor matmul(const Tensor& o) const;  // batched, broadcasting like numpy
  Tensor softmax(int axis = -1) const;
  Tensor log_softmax(int axis = -1) const;
  Tensor cumsum(int axis) const;
  // values and I32 indices of the k largest along axis, sorted descending.
  std::pair<Tensor, Tensor> topk(int64_t k, int axis = -1) const;
  // out[i][j] = self[index[i][j]][j] for axis 0, etc. (torch.gather); fused as indexed loads.
  Tensor gather(int axis, const Tensor& index) const;
  // Rows of this (vocab, dim) table selected by integer ids of any shape -> ids.shape + (dim).
  Tensor embedding(const Tensor& ids) const;
  Tensor one_hot(int64_t classes) const;

  // ---- operators ----
  friend Tensor operator+(const Tensor& a, const Tensor& b);
  friend Tensor operator-(const Tensor& a, const Tensor& b);
  friend Tensor operator*(const Tensor& a, const Tensor& b);
  friend Tensor operator/(const Tensor& a, const Tensor& b);  // true division (ints -> float)
  friend Tensor operator+(const Tensor& a, double b);
  friend Tensor operator-(const Tensor& a, double b);
  friend Tensor operator*(const Tensor& a, double b);
  friend Tensor operator/(const Tensor& a, double b);
  friend Tensor operator+(double a, const Tensor& b);
  friend Tensor operator-(double a, const Tensor& b);
  friend Tensor operator*(double a, const Tensor& b);
  friend Tensor operator/(double a, const Tensor& b);

  // A scalar with this tensor's dtype (or promoted to float for an int tensor and a
  // non-integral value) and device, for mixing in ops.
  Tensor scalar_like(double value) const;

  // ---- internals (for core and tests) ----
  explicit Tensor(UOpRef node) : node_(std::move(node)) {}
  const UOpRef& node() const { return node_; }

 private:
  UOpRef node_;
};

// Realizes several tensors in one schedule (shared subgraphs computed once).
void realize_all(std::vector<Tensor*> tensors);

// A read-back in flight (Tensor::read_begin). Movable; a read never waited for is waited for
// and dropped when the object goes.
class PendingRead {
 public:
  PendingRead() = default;
  PendingRead(PendingRead&& o) noexcept { *this = std::move(o); }
  PendingRead& operator=(PendingRead&& o) noexcept;
  PendingRead(const PendingRead&) = delete;
  PendingRead& operator=(const PendingRead&) = delete;
  ~PendingRead();

  bool valid() const { return device_ != nullptr || !bytes_.empty(); }
  // The tensor's bytes (row-major, its dtype); waits for the copy. Once.
  std::vector<unsigned char> wait();

 private:
  friend class Tensor;
  bool wait_discarding() noexcept;
  Device* device_ = nullptr;  // set while the plugin holds a ticket
  uint64_t ticket_ = 0;
  size_t size_ = 0;
  std::vector<unsigned char> bytes_;  // read at once (no asynchronous read-back)
};

}  // namespace kiln
