#include "weights.h"

#include "kiln/error.h"
#include "kiln/quant.h"

namespace kiln::llama {

namespace {

std::string layer_name(const Hparams& h, int64_t i, const std::string& hf, const std::string& gguf) {
  return h.naming == WeightNaming::Gguf ? "blk." + std::to_string(i) + "." + gguf
                                        : "model.layers." + std::to_string(i) + "." + hf;
}

class Loader {
 public:
  Loader(const ModelSource& s, Device* d) : source_(s), device_(d) {}

  const TensorRef* find(const std::string& name) const { return source_.tensors().find(name); }

  const TensorRef& require(const std::string& name) const {
    const TensorRef* r = find(name);
    if (!r) {
      std::string where = source_.tensors().files().empty() ? source_.path().string()
                                                            : source_.tensors().files().front();
      throw Error(where + ": tensor '" + name + "' is missing");
    }
    return *r;
  }

  void check(const TensorRef& r, const Shape& want) const {
    if (r.shape != want)
      throw Error(r.file + ": tensor '" + r.name + "' has shape " + shape_str(r.shape) + ", expected " +
                  shape_str(want));
  }

  // A plain upload, or F32 decoded on the host for types kept in no other form.
  Tensor plain(const TensorRef& r) {
    const WeightTypeInfo& info = weight_type_info(r.type);
    bytes_ += r.nbytes;
    if (info.dtype == KILN_DTYPE_F32 || info.dtype == KILN_DTYPE_F16 || info.dtype == KILN_DTYPE_BF16)
      return Tensor::from_host(r.data.data(), r.nbytes, static_cast<DType>(info.dtype), r.shape, device_);
    if (!info.to_float)
      throw Error(r.file + ": tensor '" + r.name + "' has type " + std::string(info.name) + " which cannot be decoded");
    std::vector<float> f = dequantize(r.type, r.data, r.elements);
    bytes_ += r.elements * 4 - r.nbytes;
    return Tensor::from_host(f.data(), f.size() * 4, DType::F32, r.shape, device_);
  }

  // A (rows, cols) matrix; Q8_0/Q4_0/Q4_1 stay quantized.
  Matrix matrix(const TensorRef& r) {
    if (kept_quantized(r.type) && r.shape.size() == 2) {
      Tensor bytes = Tensor::from_host(r.data.data(), r.nbytes, DType::U8, {static_cast<int64_t>(r.nbytes)}, device_);
      bytes_ += r.nbytes;
      Tensor blocks = quantized_blocks(bytes, r.type, r.shape[0], r.shape[1]);
      return Matrix{blocks.reshape({r.shape[0], r.shape[1]}), bytes, r.type};
    }
    return Matrix{plain(r), Tensor(), r.type};
  }

  // A vector used elementwise (norm weights, biases): always F32.
  Tensor vec(const TensorRef& r) {
    Tensor t = plain(r);
    return t.dtype() == DType::F32 ? t : t.cast(DType::F32).contiguous().realize();
  }

  Matrix get_matrix(const std::string& name, const Shape& want) {
    const TensorRef& r = require(name);
    check(r, want);
    return matrix(r);
  }
  Tensor get_vec(const std::string& name, int64_t n) {
    const TensorRef& r = require(name);
    check(r, {n});
    return vec(r);
  }
  Tensor opt_vec(const std::string& name, int64_t n) {
    const TensorRef* r = find(name);
    if (!r) return Tensor();
    check(*r, {n});
    return vec(*r);
  }

  uint64_t bytes() const { return bytes_; }

 private:
  const ModelSource& source_;
  Device* device_;
  uint64_t bytes_ = 0;
};

}  // namespace

bool kept_quantized(WeightType type) {
  return type == WeightType::Q8_0 || type == WeightType::Q4_0 || type == WeightType::Q4_1;
}

Tensor quantized_blocks(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols) {
  const int64_t qk = quant::QK;
  if (cols % qk != 0)
    throw Error("quantized matrix: " + std::to_string(cols) + " columns are not whole blocks of " + std::to_string(qk));
  const int64_t nb = cols / qk;
  auto half = [&](int64_t u16_per_block, int64_t at) {
    return bytes.reinterpret(DType::U16, {rows, nb, u16_per_block}).slice(-1, at, at + 1).bitcast(DType::F16).cast(DType::F32);
  };
  auto nibbles = [&](int64_t block_bytes) {
    // 16 bytes of nibbles at the block's end: low nibbles are elements 0..15, high 16..31
    Tensor qs = bytes.reinterpret(DType::U8, {rows, nb, block_bytes}).slice(-1, block_bytes - 16, block_bytes);
    return Tensor::cat({qs.bitwise_and(qs.scalar_like(15)), qs.shr(qs.scalar_like(4))}, -1).cast(DType::F32);
  };
  switch (type) {
    case WeightType::Q8_0:  // f16 d, 32 x i8 q; value = d * q
      return bytes.reinterpret(DType::I8, {rows, nb, 34}).slice(-1, 2, 34).cast(DType::F32) * half(17, 0);
    case WeightType::Q4_0:  // f16 d, nibbles; value = d * (q - 8)
      return (nibbles(18) - 8.0) * half(9, 0);
    case WeightType::Q4_1:  // f16 d, f16 m, nibbles; value = d * q + m
      return nibbles(20) * half(10, 0) + half(10, 1);
    default:
      throw Error("quantized matrix: type " + std::string(weight_type_name(type)) + " is not kept quantized");
  }
}

namespace {

// y[o] = sum over blocks b and elements j of x[b, j] * w[o, b, j] for one row x (1, in),
// reading the quantized blocks in place.
Tensor block_gemv(const Tensor& x, const Matrix& m) {
  const int64_t rows = m.w.dim(0), cols = m.w.dim(1), nb = cols / quant::QK;
  Tensor xr = x.contiguous();  // computed once, not inside every output's reduce
  auto half = [&](int64_t u16_per_block, int64_t at) {
    return m.bytes.reinterpret(DType::U16, {rows, nb, u16_per_block}).slice(-1, at, at + 1).bitcast(DType::F16).cast(DType::F32);
  };
  if (m.type == WeightType::Q8_0) {
    Tensor q = m.bytes.reinterpret(DType::I8, {rows, nb, 34}).slice(-1, 2, 34).cast(DType::F32);
    return (q * half(17, 0) * xr.reshape({1, nb, 32})).sum({-2, -1}).reshape({1, rows});
  }
  const int64_t block_bytes = m.type == WeightType::Q4_0 ? 18 : 20;
  Tensor qs = m.bytes.reinterpret(DType::U8, {rows, nb, block_bytes}).slice(-1, block_bytes - 16, block_bytes);
  Tensor lo = qs.bitwise_and(qs.scalar_like(15)).cast(DType::F32), hi = qs.shr(qs.scalar_like(4)).cast(DType::F32);
  Tensor xb = xr.reshape({nb, 2, 16});
  Tensor x_lo = xb.slice(1, 0, 1).reshape({1, nb, 16}), x_hi = xb.slice(1, 1, 2).reshape({1, nb, 16});
  Tensor wl, wh;
  if (m.type == WeightType::Q4_0) {
    Tensor d = half(9, 0);
    wl = (lo - 8.0) * d;
    wh = (hi - 8.0) * d;
  } else {
    Tensor d = half(10, 0), mn = half(10, 1);
    wl = lo * d + mn;
    wh = hi * d + mn;
  }
  return (wl * x_lo + wh * x_hi).sum({-2, -1}).reshape({1, rows});
}

}  // namespace

Tensor apply(const Tensor& x, const Matrix& m, const Tensor& bias) {
  Tensor y = m.bytes.defined() && x.dim(0) == 1 ? block_gemv(x, m) : x.matmul(m.w.transpose(-1, -2));
  return bias.defined() ? y + bias : y;
}

Weights load_weights(const ModelSource& source, const Hparams& h, Device* device) {
  Loader L(source, device);
  const bool gg = h.naming == WeightNaming::Gguf;
  Weights w;
  const int64_t H = h.hidden, q_out = h.heads * h.head_dim, kv_out = h.kv_heads * h.head_dim;
  const TensorRef& emb = L.require(gg ? "token_embd.weight" : "model.embed_tokens.weight");
  L.check(emb, {h.vocab, H});
  w.embed = L.plain(emb);
  const TensorRef* head = L.find(gg ? "output.weight" : "lm_head.weight");
  if (head) {
    L.check(*head, {h.vocab, H});
    w.lm_head = L.matrix(*head);
  } else if (h.tied_embeddings) {
    w.lm_head = kept_quantized(emb.type) ? L.matrix(emb) : Matrix{w.embed, Tensor(), emb.type};
  } else {
    L.require("lm_head.weight");  // throws: untied model without an output matrix
  }
  w.norm = L.get_vec(gg ? "output_norm.weight" : "model.norm.weight", H);
  if (gg) {
    if (const TensorRef* f = L.find("rope_freqs.weight")) {
      L.check(*f, {h.head_dim / 2});
      w.rope_freq_factors = dequantize(f->type, f->data, f->elements);
    }
  }
  for (int64_t i = 0; i < h.layers; ++i) {
    auto n = [&](const char* hf, const char* g) { return layer_name(h, i, hf, g); };
    LayerWeights lw;
    lw.attn_norm = L.get_vec(n("input_layernorm.weight", "attn_norm.weight"), H);
    lw.ffn_norm = L.get_vec(n("post_attention_layernorm.weight", "ffn_norm.weight"), H);
    lw.wq = L.get_matrix(n("self_attn.q_proj.weight", "attn_q.weight"), {q_out, H});
    lw.wk = L.get_matrix(n("self_attn.k_proj.weight", "attn_k.weight"), {kv_out, H});
    lw.wv = L.get_matrix(n("self_attn.v_proj.weight", "attn_v.weight"), {kv_out, H});
    lw.wo = L.get_matrix(n("self_attn.o_proj.weight", "attn_output.weight"), {H, q_out});
    lw.bq = L.opt_vec(n("self_attn.q_proj.bias", "attn_q.bias"), q_out);
    lw.bk = L.opt_vec(n("self_attn.k_proj.bias", "attn_k.bias"), kv_out);
    lw.bv = L.opt_vec(n("self_attn.v_proj.bias", "attn_v.bias"), kv_out);
    lw.bo = L.opt_vec(n("self_attn.o_proj.bias", "attn_output.bias"), H);
    lw.q_norm = L.opt_vec(n("self_attn.q_norm.weight", "attn_q_norm.weight"), h.head_dim);
    lw.k_norm = L.opt_vec(n("self_attn.k_norm.weight", "attn_k_norm.weight"), h.head_dim);
    if (h.architecture == "Qwen3ForCausalLM" || h.architecture == "qwen3") {
      if (!lw.q_norm.defined()) L.require(n("self_attn.q_norm.weight", "attn_q_norm.weight"));
      if (!lw.k_norm.defined()) L.require(n("self_attn.k_norm.weight", "attn_k_norm.weight"));
    }
    lw.w_gate = L.get_matrix(n("mlp.gate_proj.weight", "ffn_gate.weight"), {h.ffn, H});
    lw.w_up = L.get_matrix(n("mlp.up_proj.weight", "ffn_up.weight"), {h.ffn, H});
    lw.w_down = L.get_matrix(n("mlp.down_proj.weight", "ffn_down.weight"), {H, h.ffn});
    w.layers.push_back(std::move(lw));
  }
  w.device_bytes = L.bytes();
  return w;
}

}  // namespace kiln::llama
