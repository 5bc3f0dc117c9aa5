// nn building blocks as Tensor graphs (so every device runs them as generated kernels).
#include "kiln/nn.h"

#include <cmath>

#include "graph/uop.h"
#include "tensor/tensor_internal.h"

namespace kiln::nn {

using detail::node_of;

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  node_of(x, "layer_norm");
  Tensor xf = detail::to_float(x).cast(compute_dtype(detail::to_float(x).dtype()));  // statistics in f32 for every input type
  Tensor mu = xf.mean({-1}, true);
  Tensor d = xf - mu;
  Tensor y = d * ((d * d).mean({-1}, true) + eps).rsqrt();
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y.cast(x.dtype());
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  node_of(x, "rms_norm");
  Tensor xf = detail::to_float(x).cast(compute_dtype(detail::to_float(x).dtype()));
  Tensor y = xf * ((xf * xf).mean({-1}, true) + eps).rsqrt();
  if (weight.defined()) y = y * weight;
  return y.cast(x.dtype());
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  node_of(x, "group_norm");
  if (x.ndim() < 2) throw Error("group_norm: input needs (N, C, ...), got " + shape_str(x.shape()));
  int64_t n = x.dim(0), c = x.dim(1);
  if (groups <= 0 || c % groups != 0)
    throw Error("group_norm: " + std::to_string(c) + " channels of " + shape_str(x.shape()) +
                " do not split into " + std::to_string(groups) + " groups");
  Tensor g = detail::to_float(x).cast(compute_dtype(detail::to_float(x).dtype())).reshape({n, groups, -1});
  Tensor mu = g.mean({-1}, true);
  Tensor d = g - mu;
  Tensor y = (d * ((d * d).mean({-1}, true) + eps).rsqrt()).reshape(x.shape());
  Shape cs(x.ndim(), 1);
  cs[1] = c;
  if (weight.defined()) y = y * weight.reshape(cs);
  if (bias.defined()) y = y + bias.reshape(cs);
  return y.cast(x.dtype());
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  node_of(x, "linear");
  node_of(weight, "linear");
  if (weight.ndim() != 2 || x.ndim() < 1 || x.dim(-1) != weight.dim(1))
    throw Error("linear: weight " + shape_str(weight.shape()) + " (out, in) does not fit input " +
                shape_str(x.shape()));
  Tensor y = x.matmul(weight.transpose(-1, -2));
  if (bias.defined()) y = y + bias;
  return y;
}

namespace {
std::vector<int64_t> per_axis(const std::vector<int64_t>& v, size_t n, const char* what) {
  if (v.size() == n) return v;
  if (v.size() == 1) return std::vector<int64_t>(n, v[0]);
  throw Error(std::string("conv: ") + what + " needs 1 or " + std::to_string(n) + " values");
}

Tensor conv_nd(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvOptions& o,
               size_t nsp, const char* name) {
  node_of(x, name);
  node_of(w, name);
  if (x.ndim() != static_cast<int>(nsp) + 2 || w.ndim() != static_cast<int>(nsp) + 2)
    throw Error(std::string(name) + ": input " + shape_str(x.shape()) + " and weight " +
                shape_str(w.shape()) + " need " + std::to_string(nsp + 2) + " dims");
  int64_t n = x.dim(0), cin = x.dim(1), cout = w.dim(0), g = o.groups;
  if (g <= 0 || cin % g != 0 || cout % g != 0 || w.dim(1) != cin / g)
    throw Error(std::string(name) + ": input " + shape_str(x.shape()) + ", weight " +
                shape_str(w.shape()) + " and groups=" + std::to_string(g) + " do not fit");
  auto stride = per_axis(o.stride, nsp, "stride");
  auto pad = per_axis(o.padding, nsp, "padding");
  auto dil = per_axis(o.dilation, nsp, "dilation");
  std::vector<int64_t> k;
  for (size_t i = 0; i < nsp; ++i) k.push_back(w.dim(2 + static_cast<int>(i)));
  std::vector<std::pair<int64_t, int64_t>> p(x.ndim(), {0, 0});
  for (size_t i = 0; i < nsp; ++i) p[2 + i] = {pad[i], pad[i]};
  Tensor xp = x.pad(p);
  // windows: (N, C, *out, *k) — the window axes appended one spatial axis at a time
  Tensor win = xp;
  std::vector<int64_t> outs;
  for (size_t i = 0; i < nsp; ++i) {
    int axis = 2 + static_cast<int>(i);
    int64_t L = win.dim(axis), span = dil[i] * (k[i] - 1) + 1;
    if (L < span)
      throw Error(std::string(name) + ": padded input " + shape_str(xp.shape()) +
                  " is smaller than the dilated kernel of weight " + shape_str(w.shape()));
    int64_t out = (L - span) / stride[i] + 1;
    outs.push_back(out);
    // index [o, j] = o*stride + j*dil, built as a gather-free view: stack k shifted slices
    std::vector<Tensor> taps;
    for (int64_t j = 0; j < k[i]; ++j)
      taps.push_back(win.slice(axis, j * dil[i], j * dil[i] + (out - 1) * stride[i] + 1, stride[i]));
    win = Tensor::stack(taps, -1);  // (..., out, ..., k_i)
  }
  // win: (N, Cin, *out, *k) ; group: (N, G, 1, Cin/G, *out, *k)
  Shape ws = {n, g, 1, cin / g};
  ws.insert(ws.end(), outs.begin(), outs.end());
  ws.insert(ws.end(), k.begin(), k.end());
  Tensor xw = win.reshape(ws);
  // weight (Cout, Cin/G, *k) -> (1, G, Cout/G, Cin/G, 1.., *k)
  Shape wsh = {1, g, cout / g, cin / g};
  for (size_t i = 0; i < nsp; ++i) wsh.push_back(1);
  wsh.insert(wsh.end(), k.begin(), k.end());
  Tensor ww = w.reshape(wsh);
  std::vector<int> red = {3};
  for (size_t i = 0; i < nsp; ++i) red.push_back(4 + static_cast<int>(nsp + i));
  Tensor y = (xw * ww).sum(red);  // (N, G, Cout/G, *out)
  Shape ys = {n, cout};
  ys.insert(ys.end(), outs.begin(), outs.end());
  y = y.reshape(ys);
  if (bias.defined()) {
    Shape bs(ys.size(), 1);
    bs[1] = cout;
    y = y + bias.reshape(bs);
  }
  return y;
}
}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& o) {
  return conv_nd(x, w, b, o, 1, "conv1d");
}
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const ConvOptions& o) {
  return conv_nd(x, w, b, o, 2, "conv2d");
}

Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                  std::vector<int64_t> padding) {
  node_of(x, "avg_pool2d");
  if (x.ndim() != 4) throw Error("avg_pool2d: input needs (N, C, H, W), got " + shape_str(x.shape()));
  auto k = per_axis(kernel, 2, "kernel");
  auto s = stride.empty() ? k : per_axis(stride, 2, "stride");
  auto p = per_axis(padding, 2, "padding");
  int64_t c = x.dim(1);
  // a depthwise conv with a constant 1/(kh*kw) kernel (count_include_pad=True)
  Tensor w = Tensor::full({c, 1, k[0], k[1]}, 1.0 / double(k[0] * k[1]), detail::to_float(x).dtype(), x.device());
  ConvOptions o;
  o.stride = s;
  o.padding = p;
  o.groups = c;
  return conv2d(detail::to_float(x), w, Tensor(), o).cast(is_float(x.dtype()) ? x.dtype() : DType::F32);
}

Tensor upsample_nearest2d(const Tensor& x, int64_t scale) {
  node_of(x, "upsample_nearest2d");
  if (x.ndim() != 4) throw Error("upsample_nearest2d: input needs (N, C, H, W), got " + shape_str(x.shape()));
  if (scale < 1) throw Error("upsample_nearest2d: scale must be >= 1");
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  return x.reshape({n, c, h, 1, w, 1}).expand({n, c, h, scale, w, scale}).reshape({n, c, h * scale, w * scale});
}

namespace {
// AttentionOptions::write_k / write_v: one query row, rows shaped like k / v's, and k / v memory
// the kernel may store into (an unpadded view of a realized buffer each, not a ring)
void check_attention_write(const Tensor& q, const Tensor& k, const Tensor& v,
                           const AttentionOptions& o) {
  if (!o.write_k.defined() || !o.write_v.defined())
    throw Error("attention: a K/V write needs both write_k and write_v");
  const int64_t b = q.dim(0), hk = k.dim(1);
  const Shape kr{b, hk, 1, k.dim(3)}, vr{b, hk, 1, v.dim(3)};
  if (q.dim(2) != 1)
    throw Error("attention: a K/V write needs one query row, got " + std::to_string(q.dim(2)));
  if (o.write_k.shape() != kr || o.write_v.shape() != vr)
    throw Error("attention: K/V write rows " + shape_str(o.write_k.shape()) + ", " +
                shape_str(o.write_v.shape()) + " do not fit " + shape_str(kr) + ", " +
                shape_str(vr));
  if (o.ring) throw Error("attention: a K/V write into a key ring is not supported");
  for (const Tensor* t : {&k, &v}) {
    if (!detail::writable_memory(t->node()))
      throw Error(
          "attention: a K/V write needs k and v to be realized memory (or an unpadded "
          "view of it), got a computed " +
          shape_str(t->shape()));
  }
}
}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& o) {
  node_of(q, "attention");
  node_of(k, "attention");
  node_of(v, "attention");
  if (q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4)
    throw Error("attention: q, k, v need (B, H, L, D); got " + shape_str(q.shape()) + ", " +
                shape_str(k.shape()) + ", " + shape_str(v.shape()));
  int64_t b = q.dim(0), hq = q.dim(1), lq = q.dim(2), d = q.dim(3);
  int64_t hk = k.dim(1), lk = k.dim(2);
  if (k.dim(0) != b || v.dim(0) != b || k.dim(3) != d || v.dim(1) != hk || v.dim(2) != lk ||
      hk == 0 || hq % hk != 0)
    throw Error("attention: shapes q " + shape_str(q.shape()) + ", k " + shape_str(k.shape()) +
                ", v " + shape_str(v.shape()) + " do not fit");
  (void)lq;
  detail::AttentionArgs args;
  args.scale = o.scale ? *o.scale : 1.0 / std::sqrt(static_cast<double>(d));
  args.causal = o.causal;
  args.window = o.sliding_window ? *o.sliding_window : 0;
  if (o.sliding_window && *o.sliding_window <= 0)
    throw Error("attention: sliding window must be positive, got " + std::to_string(*o.sliding_window));
  if (o.ring && (!o.causal || !o.sliding_window || *o.sliding_window > lk))
    throw Error(
        "attention: a key ring of " + std::to_string(lk) +
        " rows needs causal attention with a sliding window of at most that many positions");
  args.ring = o.ring;
  args.q_offset = o.q_offset;
  args.q_offset_var = o.q_offset_var;
  if (o.write_k.defined() || o.write_v.defined()) {
    check_attention_write(q, k, v, o);
    Tensor kn = o.write_k.cast(k.dtype()), vn = o.write_v.cast(v.dtype());
    Tensor out(
        detail::make_attention_writing(q.node(), k.node(), v.node(), kn.node(), vn.node(), args));
    return out.cast(q.dtype());
  }
  Tensor out(detail::make_attention(q.node(), k.node(), v.node(), args));
  return out.cast(q.dtype());
}

}  // namespace kiln::nn
