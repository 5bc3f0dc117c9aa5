// Composite ops built from the primitives: matmul, softmax, cumsum, topk, gather, random.
#include <cmath>

#include "kiln/device_runtime.h"

#include "tensor/tensor_internal.h"

namespace kiln {

using namespace detail;

namespace {
// Large matmuls on CPUs: B is first copied into column panels (N/P, K, P) so the kernel
// streams each panel contiguously instead of striding a whole row of B per k (which also
// maps every load to the same L1 set). The copy is O(K*N) against O(M*N*K) of work.
Tensor packed_matmul(const Tensor& a, const Tensor& b, const Shape& batch, int64_t m, int64_t k,
                     int64_t n) {
  const int64_t P = 16;
  Device* d = a.device();
  bool cpu_like = d->caps().warp_size <= 1 && d->caps().preferred_vector_bytes >= 16;
  if (!cpu_like || !batch.empty() || a.ndim() != 2 || b.ndim() != 2 || m < 32 || k < 64 ||
      n < 64 || n % P != 0 || a.dtype() == DType::Bool || !is_float(a.dtype()))
    return Tensor();
  Tensor bp = b.reshape({k, n / P, P}).permute({1, 0, 2}).contiguous();  // (N/P, K, P)
  const int64_t R = 4;
  if (m % R != 0) {
    // out[m, j, l] = sum_k a[m, k] * bp[j, k, l]
    Tensor x = a.reshape({m, 1, 1, k}).expand({m, n / P, P, k});
    Tensor y = bp.permute({0, 2, 1}).reshape({1, n / P, P, k}).expand({m, n / P, P, k});
    return (x * y).sum({-1}).reshape({m, n});
  }
  // rows of A interleaved by R as well: ap[i, k, r] = a[i*R + r, k]
  Tensor ap = a.reshape({m / R, R, k}).permute({0, 2, 1}).contiguous();  // (M/R, K, R)
  Shape full = {m / R, R, n / P, P, k};
  Tensor x = ap.permute({0, 2, 1}).reshape({m / R, R, 1, 1, k}).expand(full);
  Tensor y = bp.permute({0, 2, 1}).reshape({1, 1, n / P, P, k}).expand(full);
  return (x * y).sum({-1}).reshape({m, n});
}
}  // namespace

Tensor Tensor::matmul(const Tensor& o) const {
  node_of(*this, "matmul");
  node_of(o, "matmul");
  Tensor a = *this, b = o;
  if (a.ndim() == 0 || b.ndim() == 0)
    throw Error("matmul: 0-d operand (shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) + ")");
  bool squeeze_a = a.ndim() == 1, squeeze_b = b.ndim() == 1;
  if (squeeze_a) a = a.unsqueeze(0);
  if (squeeze_b) b = b.unsqueeze(1);
  int64_t k = a.dim(-1);
  if (b.dim(-2) != k)
    throw Error("matmul: shapes " + shape_str(shape()) + " and " + shape_str(o.shape()) +
                " do not align (" + std::to_string(k) + " != " + std::to_string(b.dim(-2)) + ")");
  Shape ba(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(ba, bb, "matmul");
  } catch (const Error&) {
    throw Error("matmul: batch dims of " + shape_str(shape()) + " and " + shape_str(o.shape()) +
                " cannot be broadcast");
  }
  int64_t m = a.dim(-2), n = b.dim(-1);
  DType t = promote(a.dtype(), b.dtype());
  if (Tensor packed = packed_matmul(a.cast(t), b.cast(t), batch, m, k, n); packed.defined()) {
    if (squeeze_a) packed = packed.squeeze(-2);
    if (squeeze_b) packed = packed.squeeze(-1);
    return packed;
  }
  // (..., M, 1, K) * (..., 1, N, K) summed over K
  Shape sa = batch, sb = batch, full = batch;
  sa.insert(sa.end(), {m, 1, k});
  sb.insert(sb.end(), {1, n, k});
  full.insert(full.end(), {m, n, k});
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {m, k});
  eb.insert(eb.end(), {k, n});
  Tensor x = broadcast_to(a.cast(t), ea).reshape(sa).expand(full);
  Tensor y = broadcast_to(b.cast(t), eb).transpose(-1, -2).reshape(sb).expand(full);
  // integer products accumulate in i64 and wrap to the operand type, as torch does
  Tensor r = (x * y).sum({-1}).cast(t);
  if (squeeze_a) r = r.squeeze(-2);
  if (squeeze_b) r = r.squeeze(-1);
  return r;
}

Tensor Tensor::softmax(int axis) const {
  Tensor x = to_float(*this);
  Tensor e = (x - x.max({axis}, true)).exp();
  return e / e.sum({axis}, true);
}

Tensor Tensor::log_softmax(int axis) const {
  Tensor x = to_float(*this);
  Tensor s = x - x.max({axis}, true);
  return s - s.exp().sum({axis}, true).log();
}

Tensor Tensor::cumsum(int axis_in) const {
  const UOpRef& nd = node_of(*this, "cumsum");
  int axis = normalize_axis(axis_in, ndim(), "cumsum", nd->shape);
  int64_t n = nd->shape[axis];
  // out[i] = sum_j x[j] * (j <= i): x seen as (..., i, j) with a triangular mask
  Tensor x = dtype() == DType::Bool ? cast(DType::I32) : *this;
  Tensor moved = x.transpose(axis, -1);  // (..., n)
  Shape s = moved.shape();
  Shape e = s;
  e.insert(e.end() - 1, n);  // (..., n_i, n_j)
  Tensor xe = moved.unsqueeze(-2).expand(e);
  Tensor i = Tensor::arange(n, DType::I32, device());
  Tensor mask = i.reshape({1, n}).le(i.reshape({n, 1}));  // [i][j] = j <= i
  Tensor r = Tensor::where(mask, xe, xe.scalar_like(0)).sum({-1});
  return r.transpose(axis, -1);
}

std::pair<Tensor, Tensor> Tensor::topk(int64_t k, int axis_in) const {
  const UOpRef& nd = node_of(*this, "topk");
  int axis = normalize_axis(axis_in, ndim(), "topk", nd->shape);
  int64_t n = nd->shape[axis];
  if (k < 0 || k > n)
    throw Error("topk: k=" + std::to_string(k) + " out of range for axis " + std::to_string(axis) +
                " of shape " + shape_str(nd->shape));
  Tensor x = transpose(axis, -1);  // (..., n)
  Shape s = x.shape();
  Shape pair = s;
  pair.insert(pair.end() - 1, n);  // (..., n_i, n_j)
  // rank_i = #{j : x_j > x_i or (x_j == x_i and j < i)} — a stable descending order
  Tensor xi = x.unsqueeze(-1).expand(pair);
  Tensor xj = x.unsqueeze(-2).expand(pair);
  Tensor idx = Tensor::arange(n, DType::I32, device());
  Tensor jlt = idx.reshape({1, n}).lt(idx.reshape({n, 1}));
  Tensor before = xj.gt(xi).bitwise_or(xj.eq(xi).bitwise_and(jlt));
  Tensor rank = before.cast(DType::I32).sum({-1}).contiguous();  // (..., n)
  // value at rank r = sum_i x_i * (rank_i == r)
  Shape sel = s;
  sel.back() = k;
  sel.push_back(n);  // (..., k, n)
  Tensor r = Tensor::arange(k, DType::I32, device()).reshape({k, 1});
  Tensor hit = rank.unsqueeze(-2).expand(sel).eq(r);
  Tensor vals = Tensor::where(hit, x.unsqueeze(-2).expand(sel), x.scalar_like(0)).sum({-1});
  Tensor inds = Tensor::where(hit, idx.reshape({1, n}).expand(sel),
                              Tensor::full({}, 0, DType::I32, device())).sum({-1});
  return {vals.cast(dtype()).transpose(axis, -1), inds.cast(DType::I32).transpose(axis, -1)};
}

Tensor Tensor::gather(int axis_in, const Tensor& index) const {
  const UOpRef& nd = node_of(*this, "gather");
  node_of(index, "gather");
  int axis = normalize_axis(axis_in, ndim(), "gather", nd->shape);
  if (index.ndim() != ndim())
    throw Error("gather: index of shape " + shape_str(index.shape()) + " must have the rank of " + shape_str(nd->shape));
  if (!is_int(index.dtype()))
    throw Error(std::string("gather: index must be an integer tensor, got ") + dtype_name(index.dtype()));
  for (int i = 0; i < ndim(); ++i)
    if (i != axis && index.shape()[i] > nd->shape[i])
      throw Error("gather: index shape " + shape_str(index.shape()) + " exceeds " + shape_str(nd->shape) +
                  " off axis " + std::to_string(axis));
  return Tensor(make_gather(nd, index.node(), axis));
}

Tensor Tensor::embedding(const Tensor& ids) const {
  const UOpRef& nd = node_of(*this, "embedding");
  node_of(ids, "embedding");
  if (ndim() != 2) throw Error("embedding: table must be 2-d (vocab, dim), got " + shape_str(nd->shape));
  if (!is_int(ids.dtype()))
    throw Error(std::string("embedding: ids must be integers, got ") + dtype_name(ids.dtype()));
  Shape s = ids.shape();
  int64_t v = nd->shape[0], d = nd->shape[1];
  // torch.gather over the vocab axis: table (S..., V, D), index (S..., 1, D)
  Shape ts(s.size(), 1), te = s, is = s, ie = s;
  ts.insert(ts.end(), {v, d});
  te.insert(te.end(), {v, d});
  is.insert(is.end(), {1, 1});
  ie.insert(ie.end(), {1, d});
  Tensor table = reshape(ts).expand(te);
  Tensor index = ids.reshape(is).expand(ie);
  Shape out = s;
  out.push_back(d);
  return Tensor(make_gather(table.node(), index.node(), static_cast<int>(s.size()))).reshape(out);
}

Tensor Tensor::one_hot(int64_t classes) const {
  node_of(*this, "one_hot");
  Shape s = shape();
  s.push_back(classes);
  Tensor c = Tensor::arange(classes, DType::I32, device());
  return unsqueeze(-1).expand(s).eq(c).cast(DType::I32);
}

namespace {
// murmur3's finalizer: a bijective u32 mixer
Tensor fmix32(Tensor h) {
  auto u = [&](double v) { return Tensor::full({}, v, DType::U32, h.device()); };
  h = h.bitwise_xor(h.shr(u(16)));
  h = h * u(0x85ebca6b);
  h = h.bitwise_xor(h.shr(u(13)));
  h = h * u(0xc2b2ae35);
  return h.bitwise_xor(h.shr(u(16)));
}

// One u32 per element from (seed, element counter + stream): same on every device.
Tensor random_bits(const Shape& shape, uint64_t seed, uint32_t stream, Device* device) {
  int64_t n = shape_numel(shape);
  Tensor c = Tensor::arange(n, DType::U32, device);
  auto u = [&](double v) { return Tensor::full({}, v, DType::U32, device); };
  uint32_t lo = static_cast<uint32_t>(seed), hi = static_cast<uint32_t>(seed >> 32);
  Tensor h = fmix32(c * u(0x9e3779b9) + u(double(hi ^ (stream * 0x632be5abu))));
  h = fmix32(h.bitwise_xor(u(lo)));
  return h.reshape(shape);
}

// Uniform [0, 1) with as many random bits as `t` holds exactly, so rounding to t never
// reaches 1.
Tensor uniform01(const Shape& shape, uint64_t seed, uint32_t stream, Device* device,
                 DType t = DType::F32) {
  int bits_kept = t == DType::F16 ? 11 : t == DType::BF16 ? 8 : 24;
  Tensor bits = random_bits(shape, seed, stream, device);
  Tensor top = bits.shr(Tensor::full({}, 32 - bits_kept, DType::U32, device));
  return top.cast(DType::F32) * std::ldexp(1.0, -bits_kept);
}
}  // namespace

Tensor Tensor::rand(const Shape& shape, uint64_t seed, DType dtype, Device* device) {
  if (!is_float(dtype)) throw Error(std::string("rand: dtype must be a float, got ") + dtype_name(dtype));
  return uniform01(shape, seed, 0, device, dtype).cast(dtype);
}

Tensor Tensor::randn(const Shape& shape, uint64_t seed, DType dtype, Device* device) {
  if (!is_float(dtype)) throw Error(std::string("randn: dtype must be a float, got ") + dtype_name(dtype));
  // Box-Muller over two independent streams; 1-u keeps the log argument in (0, 1]
  Tensor u1 = 1.0 - uniform01(shape, seed, 1, device);
  Tensor u2 = uniform01(shape, seed, 2, device);
  return ((-2.0 * u1.log()).sqrt() * (2.0 * 3.141592653589793 * u2).cos()).cast(dtype);
}

Tensor Tensor::randint(const Shape& shape, int64_t low, int64_t high, uint64_t seed, DType dtype,
                       Device* device) {
  if (high <= low) throw Error("randint: empty range [" + std::to_string(low) + ", " + std::to_string(high) + ")");
  if (!is_int(dtype)) throw Error(std::string("randint: dtype must be an integer, got ") + dtype_name(dtype));
  Tensor bits = random_bits(shape, seed, 3, device).cast(DType::U64);
  Tensor span = Tensor::full({}, double(high - low), DType::U64, device);
  Tensor r = bits.mod(span).cast(DType::I64) + Tensor::full({}, double(low), DType::I64, device);
  return r.cast(dtype);
}

}  // namespace kiln
