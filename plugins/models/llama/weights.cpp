#include "weights.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>

#include "kiln/device_runtime.h"
#include "kiln/env.h"
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
  Loader(const ModelSource& s, Device* d, bool int8_dot) : source_(s), device_(d), int8_dot_(int8_dot) {}

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
  // The file's pages of a weight copied to the device need not stay resident as well (the
  // process would hold every weight twice at the peak of loading).
  static void release(const TensorRef& r) {
    if (r.mapping) r.mapping->release_resident(r.data);
  }

  Tensor plain(const TensorRef& r) {
    const WeightTypeInfo& info = weight_type_info(r.type);
    bytes_ += r.nbytes;
    if (info.dtype == KILN_DTYPE_F32 || info.dtype == KILN_DTYPE_F16 ||
        info.dtype == KILN_DTYPE_BF16) {
      Tensor t = Tensor::from_host(r.data.data(), r.nbytes, static_cast<DType>(info.dtype), r.shape,
                                   device_);
      release(r);
      return t;
    }
    if (!info.to_float)
      throw Error(r.file + ": tensor '" + r.name + "' has type " + std::string(info.name) + " which cannot be decoded");
    std::vector<float> f = dequantize(r.type, r.data, r.elements);
    release(r);
    bytes_ += r.elements * 4 - r.nbytes;
    return Tensor::from_host(f.data(), f.size() * 4, DType::F32, r.shape, device_);
  }

  // A (rows, cols) matrix; the kept_quantized() types stay quantized.
  Matrix matrix(const TensorRef& r) {
    if (kept_quantized(r.type) && r.shape.size() == 2) {
      Tensor bytes = Tensor::from_host(r.data.data(), r.nbytes, DType::U8, {static_cast<int64_t>(r.nbytes)}, device_);
      release(r);
      bytes_ += r.nbytes;
      return for_device(quantized_matrix(bytes, r.type, r.shape[0], r.shape[1]));
    }
    return Matrix{plain(r), Tensor(), r.type, Tensor(), {}};
  }

  // The int8 dot-product form where the device takes it; the blocks it was packed from (and
  // Q4_K's decoded scale table) are then dropped (an embedding table's rows are read from the
  // packed form: int8_rows).
  Matrix for_device(Matrix m) const {
    const int64_t rows = m.w.dim(0), cols = m.w.dim(1);
    if (!int8_dot_ || !int8_dot_enabled(device_, m.type, rows, cols)) return m;
    m.packed = int8_pack(m.bytes, m.type, rows, cols, m.table);
    m.w = Tensor();
    m.bytes = Tensor();
    m.table = Tensor();
    return m;
  }

  // Matrices read by the same input (Q/K/V, gate/up) stacked by rows into one upload, so one
  // kernel computes them all: rows stay whole blocks, so raw bytes stack for every encoding
  // kept as stored. Empty when the parts' encodings or column counts differ (mixed GGUF
  // quantizations): they then stay separate.
  std::optional<Matrix> stacked(const std::vector<const TensorRef*>& parts) {
    const WeightType type = parts[0]->type;
    if (!kept_quantized(type) && !is_plain(type)) return std::nullopt;  // decoded at load
    int64_t rows = 0;
    size_t nbytes = 0;
    for (const TensorRef* r : parts) {
      if (r->type != type || r->shape.size() != 2 || r->shape[1] != parts[0]->shape[1])
        return std::nullopt;
      rows += r->shape[0];
      nbytes += r->nbytes;
    }
    // each part goes to the device as it is stored and the stack is built there (no host copy
    // of the whole group; on a GPU the stacking is a device-to-device copy)
    const int64_t cols = parts[0]->shape[1];
    const bool quantized = kept_quantized(type);
    const auto dtype = quantized ? DType::U8 : static_cast<DType>(weight_type_info(type).dtype);
    std::vector<Tensor> uploaded;
    for (const TensorRef* r : parts) {
      const Shape shape = quantized ? Shape{static_cast<int64_t>(r->nbytes)} : Shape{r->shape[0], cols};
      uploaded.push_back(Tensor::from_host(r->data.data(), r->nbytes, dtype, shape, device_));
      release(*r);
    }
    Tensor all = Tensor::cat(uploaded, 0).contiguous().realize();
    bytes_ += nbytes;
    if (quantized) return for_device(quantized_matrix(all, type, rows, cols));
    return Matrix{all, Tensor(), type, Tensor(), {}};
  }

  // A vector used elementwise (norm weights, biases): always F32.
  Tensor vec(const TensorRef& r) {
    Tensor t = plain(r);
    return t.dtype() == DType::F32 ? t : t.cast(DType::F32).contiguous().realize();
  }

  // The tensor `name`, which must exist with shape `want`.
  const TensorRef& shaped(const std::string& name, const Shape& want) const {
    const TensorRef& r = require(name);
    check(r, want);
    return r;
  }
  Matrix get_matrix(const std::string& name, const Shape& want) { return matrix(shaped(name, want)); }
  Tensor get_vec(const std::string& name, int64_t n) { return vec(shaped(name, {n})); }
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
  bool int8_dot_;
  uint64_t bytes_ = 0;
};

}  // namespace

// Plain (unquantized) weights of the half activation type `act` (tensor-core devices, see
// LMOptions::half_activations)
static bool half_weights(const Matrix& m, DType act) {
  return act != DType::F32 && !m.bytes.defined() && m.w.defined() && m.w.dtype() == act;
}

// A prefill whose input is rounded to the weights' half type: the MMA kernels read it as is.
static bool half_prefill(const Tensor& x, const Matrix& m, DType act) {
  return half_weights(m, act) && x.dim(0) >= 16 && x.dim(0) % 16 == 0;
}

// A decode GEMV (one row) on half activations reads its input rounded to the weights' half
// type too: a GPU GEMV warp reads as many input bytes as weight bytes, not twice as many
// (KILN_LLAMA_HALF_GEMV=0 keeps f32 inputs)
static bool half_gemv(const Tensor& x, const Matrix& m, DType act) {
  static const bool off = env::is_off("KILN_LLAMA_HALF_GEMV");
  return !off && half_weights(m, act) && !m.packed.words.defined() && x.dim(0) == 1;
}

// The CPU lowerer's outer-product tiles take this prefill product once x is transposed: 32
// vector registers of 16 floats, rows in pairs of 16, a reduce short enough for the weights'
// stage (lowerer.cpp, outer_plan)
static bool outer_tiles(const kiln_device_caps& caps, int64_t rows, int64_t in) {
  static const bool off = env::is_off("KILN_OUTER_TILE");
  return !off && caps.warp_size <= 1 && caps.preferred_vector_bytes >= 64 && rows % 32 == 0 &&
         in % 16 == 0 && in <= 32768;
}

static bool int8_prefill(const Tensor& x, const Matrix& m) {
  return m.packed.words.defined() && x.dim(0) > 1;
}

// Slices of the reduce axis a half prefill's product is split into: a narrow product (the o and
// down projections, 2048 columns) has too few MMA tiles of 64 x 32 to fill an H100 (512 for a
// 512-row chunk: ~4 warps an SM); S slices make S times as many, each over K / S (at least
// 1024), summed afterwards. KILN_LLAMA_SPLIT_K=0 keeps one slice.
static int64_t split_k(int64_t rows, int64_t cols, int64_t k) {
  static const bool off = env::is_off("KILN_LLAMA_SPLIT_K");
  int64_t s = 1;
  if (off) return s;
  const int64_t tiles = std::max<int64_t>(1, rows / 64) * std::max<int64_t>(1, cols / 32);
  while (tiles * s < 2048 && k % (2 * s * 32) == 0 && k / (2 * s) >= 1024) s *= 2;
  return s;
}

// x (L, K) @ w^T (N, K) as S products over slices of K, one batched kernel (S, L, N), and their
// sum, left lazy for the consumer (a residual add takes it in its kernel)
Tensor split_k_product(const Tensor& x, const Tensor& w, int64_t s) {
  const int64_t L = x.dim(0), K = x.dim(1), N = w.dim(0), ks = K / s;
  Tensor xs = x.cast(DType::F32).reshape({L, s, ks}).permute({1, 0, 2}).reshape({s, L, 1, ks});
  Tensor ws = w.cast(DType::F32).reshape({N, s, ks}).permute({1, 0, 2}).reshape({s, 1, N, ks});
  return (xs * ws).sum({-1}).contiguous().sum({0});
}

Tensor apply(const Tensor& x_in, const Matrix& m, const Tensor& bias, DType act, Int8InputCache* q8,
             bool round_out, bool lazy_gemv) {
  // the input computed once (a norm, silu * up), not again inside every output's reduce
  const bool half_x = half_prefill(x_in, m, act);
  const bool half_vec = half_gemv(x_in, m, act);
  // (a view of a kernel's output is read in place; a half input is widened inside the reduce)
  const Tensor x = half_vec && lazy_gemv ? x_in.cast(m.w.dtype())
                   : half_x || half_vec  ? x_in.cast(m.w.dtype()).contiguous()
                                         : x_in.contiguous().cast(DType::F32);
  const int64_t slices = half_x ? split_k(x.dim(0), m.w.dim(0), m.w.dim(1)) : 1;
  Tensor y;
  if (m.packed.words.defined()) {
    if (q8 && !(q8->key.defined() && q8->key.node() == x_in.node())) {
      q8->q = quantize_int8_input(x);
      q8->key = x_in;
    }
    y = q8 ? int8_matmul(q8->q, m.packed) : int8_matmul(x, m.packed);
  } else if (m.bytes.defined()) {
    y = quantized_matmul(x, m);
  } else if (x.dim(0) == 1) {
    y = x.cast(DType::F32).matmul(m.w.transpose(-1, -2));
  } else if (slices > 1) {
    y = split_k_product(x, m.w, slices);
  } else {
    // (L, 1, in) * (1, out, in) summed over in: both operands stream along the reduce axis, which
    // the CPU lowers as dot tiles reading the weights where they lie (no panel copy per call).
    // With 32 vector registers, x goes transposed (one small kernel), so that 16 of its rows
    // are one vector: the lowerer's outer-product tiles (docs/compiler.md)
    const int64_t L = x.dim(0), out = m.w.dim(0), in = m.w.dim(1);
    Tensor xf = x.cast(DType::F32);
    if (outer_tiles(x.device()->caps(), L, in))
      xf = xf.transpose(0, 1).contiguous().transpose(0, 1);
    y = (xf.reshape({L, 1, in}) * m.w.cast(DType::F32).reshape({1, out, in}))
            .sum({-1})
            .reshape({L, out});
  }
  // a (rows, out) kernel boundary for prefill: later ops read the product, not its reduce. The
  // int8 form's prefill product is a permuted view of its reduce, which the scheduler already
  // makes a kernel of its own: consumers read it in place rather than through a copy. A split
  // product's sum is left to its consumer's kernel.
  // (KILN_LLAMA_HALF_SHARED=0: shared products stay f32)
  static const bool keep_f32 = env::is_off("KILN_LLAMA_HALF_SHARED");
  if (round_out && half_x && slices == 1 && !keep_f32) y = y.cast(act);
  if (x.dim(0) > 1 && !int8_prefill(x, m) && slices == 1) y = y.contiguous();
  return bias.defined() ? y + bias : y;
}

Tensor apply_shared(const Tensor& x, const Matrix& m, DType act, Int8InputCache* q8,
                    bool lazy_gemv) {
  Tensor y = apply(x, m, Tensor(), act, q8, true, lazy_gemv);
  return int8_prefill(x, m) ? y : y.contiguous();
}

Weights load_weights(const ModelSource& source, const Hparams& h, Device* device, bool int8_dot) {
  Loader L(source, device, int8_dot);
  const bool gg = h.naming == WeightNaming::Gguf;
  Weights w;
  const int64_t H = h.hidden, q_out = h.heads * h.head_dim, kv_out = h.kv_heads * h.head_dim;
  const TensorRef& emb = L.require(gg ? "token_embd.weight" : "model.embed_tokens.weight");
  L.check(emb, {h.vocab, H});
  // a quantized table stays quantized: the row lookup gathers from its lazy dequantization, or
  // from its int8 packed form (int8_rows) where it took one
  Matrix emb_matrix = L.matrix(emb);
  w.embed = emb_matrix.w;
  w.embed_packed = emb_matrix.packed;
  const TensorRef* head = L.find(gg ? "output.weight" : "lm_head.weight");
  if (head) {
    L.check(*head, {h.vocab, H});
    w.lm_head = L.matrix(*head);
  } else if (h.tied_embeddings) {
    w.lm_head = emb_matrix;
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
    const TensorRef& rq = L.shaped(n("self_attn.q_proj.weight", "attn_q.weight"), {q_out, H});
    const TensorRef& rk = L.shaped(n("self_attn.k_proj.weight", "attn_k.weight"), {kv_out, H});
    const TensorRef& rv = L.shaped(n("self_attn.v_proj.weight", "attn_v.weight"), {kv_out, H});
    if (std::optional<Matrix> qkv = L.stacked({&rq, &rk, &rv})) {
      lw.wqkv = std::move(*qkv);
    } else {
      lw.wq = L.matrix(rq);
      lw.wk = L.matrix(rk);
      lw.wv = L.matrix(rv);
    }
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
    const TensorRef& rg = L.shaped(n("mlp.gate_proj.weight", "ffn_gate.weight"), {h.ffn, H});
    const TensorRef& ru = L.shaped(n("mlp.up_proj.weight", "ffn_up.weight"), {h.ffn, H});
    if (std::optional<Matrix> gu = L.stacked({&rg, &ru})) {
      lw.w_gate_up = std::move(*gu);
    } else {
      lw.w_gate = L.matrix(rg);
      lw.w_up = L.matrix(ru);
    }
    lw.w_down = L.get_matrix(n("mlp.down_proj.weight", "ffn_down.weight"), {H, h.ffn});
    w.layers.push_back(std::move(lw));
  }
  w.device_bytes = L.bytes();
  return w;
}

}  // namespace kiln::llama
