// Tensor basics: creation, properties, realization, data transfer, assign.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <utility>

#include "kiln/device_runtime.h"
#include "runtime/capture.h"
#include "runtime/realize.h"
#include "tensor/tensor_internal.h"

namespace kiln {

using namespace detail;

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ",";
  os << ")";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

namespace detail {

const UOpRef& node_of(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": tensor is empty (undefined)");
  return t.node();
}

int normalize_axis(int axis, int ndim, const char* op, const Shape& shape) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    throw Error(std::string(op) + ": axis " + std::to_string(axis) + " out of range for shape " +
                shape_str(shape));
  return a;
}

std::vector<int> normalize_axes(std::vector<int> axes, int ndim, const char* op,
                                const Shape& shape) {
  if (axes.empty())
    for (int i = 0; i < ndim; ++i) axes.push_back(i);
  std::vector<int> out;
  for (int a : axes) {
    int n = normalize_axis(a, ndim, op, shape);
    for (int o : out)
      if (o == n)
        throw Error(std::string(op) + ": axis " + std::to_string(a) + " repeated for shape " +
                    shape_str(shape));
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                  " cannot be broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor apply_view(const Tensor& t, const ShapeTracker& st) { return Tensor(make_view(t.node(), st)); }

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  const Shape& s = t.shape();
  if (s == shape) return t;
  Shape padded(shape.size() - s.size(), 1);
  padded.insert(padded.end(), s.begin(), s.end());
  return t.reshape(padded).expand(shape);
}

Tensor alu(Op op, DType out, std::vector<Tensor> src) {
  std::vector<UOpRef> nodes;
  for (auto& s : src) nodes.push_back(s.node());
  return Tensor(make_alu(op, out, std::move(nodes)));
}

std::pair<Tensor, Tensor> binary_operands(const Tensor& a, const Tensor& b, const char* op) {
  node_of(a, op);
  node_of(b, op);
  DType t = promote(a.dtype(), b.dtype());
  Shape s = broadcast_shapes(a.shape(), b.shape(), op);
  return {broadcast_to(a.cast(t), s), broadcast_to(b.cast(t), s)};
}

Tensor to_float(const Tensor& t) { return is_float(t.dtype()) ? t : t.cast(DType::F32); }

}  // namespace detail

static Device* pick(Device* d) { return d ? d : Device::default_device(); }

Tensor Tensor::from_host(const void* data, size_t bytes, DType dtype, const Shape& shape,
                         Device* device) {
  for (auto d : shape)
    if (d < 0) throw Error("from_host: negative dimension in shape " + shape_str(shape));
  size_t need = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  if (bytes != need)
    throw Error("from_host: " + std::to_string(bytes) + " bytes given, shape " + shape_str(shape) +
                " of " + dtype_name(dtype) + " needs " + std::to_string(need));
  Device* dev = pick(device);
  auto buf = std::make_shared<DeviceBuffer>(dev, need);
  detail::keep_out_of_plan(buf.get());
  if (need) {
    char err[512] = {0};
    if (dev->api().copy_in(dev->handle(), buf->handle, 0, data, need, {err, sizeof err}) != KILN_OK)
      throw Error("from_host: copy to " + dev->spec() + " failed: " + err);
  }
  return Tensor(make_buffer_node(buf, dtype, shape));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device* device) {
  Device* dev = pick(device);
  for (auto d : shape)
    if (d < 0) throw Error("empty: negative dimension in shape " + shape_str(shape));
  auto buf = std::make_shared<DeviceBuffer>(dev, shape_numel(shape) * dtype_size(dtype));
  detail::keep_out_of_plan(buf.get());
  return Tensor(make_buffer_node(buf, dtype, shape));
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device* device) {
  for (auto d : shape)
    if (d < 0) throw Error("full: negative dimension in shape " + shape_str(shape));
  Tensor c(make_const(value, dtype, pick(device)));
  return broadcast_to(c, shape);
}
Tensor Tensor::zeros(const Shape& s, DType t, Device* d) { return full(s, 0, t, d); }
Tensor Tensor::ones(const Shape& s, DType t, Device* d) { return full(s, 1, t, d); }
Tensor Tensor::scalar(double v, DType t, Device* d) { return full({}, v, t, d); }

Tensor Tensor::arange(int64_t n, DType dtype, Device* device) {
  if (n < 0) throw Error("arange: negative length " + std::to_string(n));
  return Tensor(make_arange(n, dtype, pick(device)));
}

Tensor Tensor::arange(double start, double stop, double step, DType dtype, Device* device) {
  if (step == 0) throw Error("arange: step is zero");
  int64_t n = static_cast<int64_t>(std::ceil((stop - start) / step));
  if (n < 0) n = 0;
  Tensor i = arange(n, is_float(dtype) ? DType::F32 : DType::I64, device);
  return (i * step + start).cast(dtype);
}

Tensor Tensor::eye(int64_t n, DType dtype, Device* device) {
  Tensor i = arange(n, DType::I32, device);
  return i.reshape({n, 1}).eq(i.reshape({1, n})).cast(dtype);
}

Tensor Tensor::from_variable(const Variable& v, Device* device) {
  return Tensor(make_var(v, pick(device)));
}

const Shape& Tensor::shape() const { return node_of(*this, "shape")->shape; }
int Tensor::ndim() const { return static_cast<int>(shape().size()); }
int64_t Tensor::dim(int axis) const {
  return shape()[normalize_axis(axis, ndim(), "dim", shape())];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return node_of(*this, "dtype")->dtype; }
Device* Tensor::device() const { return node_of(*this, "device")->device; }

Tensor& Tensor::realize() {
  realize_nodes({node_of(*this, "realize")});
  return *this;
}

void realize_all(std::vector<Tensor*> tensors) {
  std::vector<UOpRef> nodes;
  for (auto* t : tensors) nodes.push_back(node_of(*t, "realize_all"));
  realize_nodes(nodes);
}

namespace {
// a node that owns contiguous memory once scheduled: realized, a buffer, a pending contiguous, or
// an attention (always its own kernel)
bool is_boundary(const UOp* n) {
  return n->realized() || n->op == Op::Buffer || n->op == Op::Contiguous || n->op == Op::Attention;
}
}  // namespace

Tensor Tensor::contiguous() const {
  const UOpRef& n = node_of(*this, "contiguous");
  // already a boundary (realized, or a pending contiguous): a second one would only copy it
  if (is_boundary(n.get())) return *this;
  // a row-major view of one (a reshape, a permute of unit axes) already lies contiguous in it:
  // copying it would cost a kernel (e.g. attention's (1, H, 1, D) output read as (1, H * D))
  if (n->op == Op::View && n->st.is_contiguous() && is_boundary(n->src[0].get())) return *this;
  return Tensor(make_contiguous(n));
}

Tensor Tensor::to(Device* device) const {
  const UOpRef& n = node_of(*this, "to");
  if (device == n->device) return *this;
  return Tensor(make_copy(n, device));
}

namespace {
// `x` in device memory: itself when realized (or a buffer), else computed into one
Tensor realized_for_read(const Tensor& x, const char* what) {
  Tensor t = x;
  const UOpRef& n = node_of(t, what);
  if (!(n->realized() || n->op == Op::Buffer)) t = t.contiguous();
  t.realize();
  return t;
}
}  // namespace

void Tensor::copy_to_host(void* dst, size_t bytes) const {
  const Tensor t = realized_for_read(*this, "copy_to_host");
  const UOpRef& n = t.node();
  size_t need = n->numel() * dtype_size(n->dtype);
  if (bytes != need)
    throw Error("copy_to_host: " + std::to_string(bytes) + " bytes given, tensor " +
                shape_str(n->shape) + " of " + dtype_name(n->dtype) + " has " + std::to_string(need));
  if (!need) return;
  char err[512] = {0};
  Device* d = n->device;
  if (d->api().copy_out(d->handle(), dst, n->buffer->handle, 0, need, {err, sizeof err}) != KILN_OK)
    throw Error("copy_to_host: copy from " + d->spec() + " failed: " + err);
}

PendingRead Tensor::read_begin() const {
  const Tensor t = realized_for_read(*this, "read_begin");
  const UOpRef& n = t.node();
  PendingRead r;
  r.size_ = n->numel() * dtype_size(n->dtype);
  Device* d = n->device;
  if (r.size_ == 0 || !d->reads_async()) {
    r.bytes_.resize(r.size_);
    copy_to_host(r.bytes_.data(), r.size_);
    return r;
  }
  char err[512] = {0};
  if (d->api().read_begin(d->handle(), n->buffer->handle, 0, r.size_, &r.ticket_, {err, sizeof err}) != KILN_OK)
    throw Error("read_begin: read-back from " + d->spec() + " failed: " + err);
  r.device_ = d;
  return r;
}

PendingRead& PendingRead::operator=(PendingRead&& o) noexcept {
  if (this != &o) {
    if (device_) (void)wait_discarding();
    device_ = std::exchange(o.device_, nullptr);
    ticket_ = o.ticket_;
    size_ = o.size_;
    bytes_ = std::move(o.bytes_);
  }
  return *this;
}

PendingRead::~PendingRead() {
  if (device_) (void)wait_discarding();
}

bool PendingRead::wait_discarding() noexcept {
  try {
    wait();
    return true;
  } catch (...) {
    return false;  // the device failed; the error was (or will be) reported where it is used
  }
}

std::vector<unsigned char> PendingRead::wait() {
  if (!device_) return std::move(bytes_);
  Device* d = std::exchange(device_, nullptr);
  std::vector<unsigned char> out(size_);
  char err[512] = {0};
  if (d->api().read_end(d->handle(), ticket_, out.data(), size_, {err, sizeof err}) != KILN_OK)
    throw Error("read-back from " + d->spec() + " failed: " + err);
  return out;
}

namespace {
template <class T>
void convert_out(const std::vector<unsigned char>& raw, DType t, std::vector<T>& out) {
  size_t n = out.size();
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* p = raw.data() + i * dtype_size(t);
    double v = 0;
    switch (t) {
      case DType::Bool: v = *p != 0; break;
      case DType::I8: { int8_t x; std::memcpy(&x, p, 1); v = x; break; }
      case DType::U8: v = *p; break;
      case DType::I16: { int16_t x; std::memcpy(&x, p, 2); v = x; break; }
      case DType::U16: { uint16_t x; std::memcpy(&x, p, 2); v = x; break; }
      case DType::I32: { int32_t x; std::memcpy(&x, p, 4); v = x; break; }
      case DType::U32: { uint32_t x; std::memcpy(&x, p, 4); v = x; break; }
      case DType::I64: {
        int64_t x; std::memcpy(&x, p, 8);
        if constexpr (std::is_integral_v<T>) { out[i] = static_cast<T>(x); continue; }
        v = static_cast<double>(x); break;
      }
      case DType::U64: {
        uint64_t x; std::memcpy(&x, p, 8);
        if constexpr (std::is_integral_v<T>) { out[i] = static_cast<T>(x); continue; }
        v = static_cast<double>(x); break;
      }
      case DType::F16: { uint16_t x; std::memcpy(&x, p, 2); v = f16_to_f32(x); break; }
      case DType::BF16: { uint16_t x; std::memcpy(&x, p, 2); v = bf16_to_f32(x); break; }
      case DType::F32: { float x; std::memcpy(&x, p, 4); v = x; break; }
      case DType::F64: { double x; std::memcpy(&x, p, 8); v = x; break; }
    }
    out[i] = static_cast<T>(v);
  }
}
}  // namespace

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::U8;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::I16;
  else if constexpr (std::is_same_v<T, uint16_t>) return DType::U16;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
  else if constexpr (std::is_same_v<T, uint32_t>) return DType::U32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::I64;
  else return DType::U64;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  size_t n = static_cast<size_t>(numel());
  if (dtype() == dtype_of<T>()) {  // no conversion: straight into the result (a decode step's logits)
    std::vector<T> out(n);
    copy_to_host(out.data(), n * sizeof(T));
    return out;
  }
  std::vector<unsigned char> raw(n * dtype_size(dtype()));
  copy_to_host(raw.data(), raw.size());
  std::vector<T> out(n);
  convert_out(raw, dtype(), out);
  return out;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device* device) {
  const DType t = dtype_of<T>();
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw Error("from_vector: " + std::to_string(values.size()) + " values for shape " +
                shape_str(shape));
  return from_host(values.data(), values.size() * sizeof(T), t, shape, device);
}

#define KILN_INSTANTIATE(T)                                                               \
  template std::vector<T> Tensor::to_vector<T>() const;                                  \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device*);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
KILN_INSTANTIATE(int8_t)
KILN_INSTANTIATE(uint8_t)
KILN_INSTANTIATE(int16_t)
KILN_INSTANTIATE(uint16_t)
KILN_INSTANTIATE(int32_t)
KILN_INSTANTIATE(uint32_t)
KILN_INSTANTIATE(int64_t)
KILN_INSTANTIATE(uint64_t)
#undef KILN_INSTANTIATE

Tensor Tensor::reinterpret(DType t, const Shape& s) const {
  const UOpRef& n = node_of(*this, "reinterpret");
  if (!(n->realized() || n->op == Op::Buffer))
    throw Error("reinterpret: tensor of shape " + shape_str(n->shape) +
                " is not realized memory (realize or contiguous() it first)");
  size_t have = n->numel() * dtype_size(n->dtype), want = shape_numel(s) * dtype_size(t);
  if (have != want)
    throw Error("reinterpret: " + shape_str(n->shape) + " " + dtype_name(n->dtype) + " holds " +
                std::to_string(have) + " bytes, " + shape_str(s) + " " + dtype_name(t) + " needs " +
                std::to_string(want));
  return Tensor(make_buffer_node(n->buffer, t, s));
}

double Tensor::item() const {
  if (numel() != 1)
    throw Error("item: tensor of shape " + shape_str(shape()) + " has " +
                std::to_string(numel()) + " elements, not 1");
  return to_vector<double>()[0];
}

Tensor& Tensor::assign(const Tensor& value_in) {
  const UOpRef& target = node_of(*this, "assign");
  node_of(value_in, "assign");
  // the target must be memory: a realized tensor or a view (without padding) of one
  if (view_base(target) != target && target->st.has_mask())
    throw Error("assign: target view " + target->st.str() + " is padded, cannot be written");
  if (!writable_memory(target))
    throw Error("assign: target of shape " + shape_str(shape()) +
                " is not a realized tensor (realize it or use empty())");
  if (broadcast_shapes(value_in.shape(), shape(), "assign") != shape())
    throw Error("assign: value of shape " + shape_str(value_in.shape()) +
                " does not fit target of shape " + shape_str(shape()));
  Tensor value = broadcast_to(value_in.cast(dtype()), shape());
  run_assign(target, value.node());
  return *this;
}

}  // namespace kiln
