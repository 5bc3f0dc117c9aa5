#include "llama_lm.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <tuple>

#include "kiln/device_runtime.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "kiln/nn.h"

namespace kiln::llama {

namespace {

int64_t pick_context(const Hparams& h, int64_t requested) {
  if (requested < 0)
    throw Error("context length " + std::to_string(requested) + " must be positive");
  int64_t trained = h.max_positions;
  // dynamic RoPE exists to run past the trained context: by default up to factor times it
  if (nn::rope_depends_on_length(h.rope) && h.rope.factor && *h.rope.factor > 1)
    trained = static_cast<int64_t>(static_cast<double>(trained) * *h.rope.factor);
  int64_t ctx = requested > 0 ? requested : std::min<int64_t>(trained, 4096);
  return std::max<int64_t>(ctx, 1);
}

std::vector<float> scaled_inv_freq(const Hparams& h, const Weights& w, int64_t seq_len) {
  nn::RopeTable t = nn::rope_table(h.rope, h.head_dim, h.max_positions, seq_len);
  // GGUF llama3 models carry their frequency factors as a tensor
  if (!w.rope_freq_factors.empty())
    for (size_t i = 0; i < t.inv_freq.size(); ++i) t.inv_freq[i] /= w.rope_freq_factors[i];
  return t.inv_freq;
}

// LMOptions::half_activations: the weights' half type on devices with tensor cores (MMA) when
// the attention weights are F16/BF16, else F32.
DType act_dtype_for(const Device* device, const Weights& w, bool half_activations) {
  if (!half_activations || !device ||
      !(device->caps().has_tensor_cores & KILN_TENSOR_CORES_MMA_16816) || w.layers.empty())
    return DType::F32;
  const LayerWeights& l = w.layers[0];
  const Matrix& m = l.wqkv.present() ? l.wqkv : l.wq;
  if (m.bytes.defined() || !m.w.defined()) return DType::F32;
  return is_half(m.w.dtype()) ? m.w.dtype() : DType::F32;
}

// KILN_LLAMA_ROPE_INLINE=1 (to measure): the step's cos/sin computed inside the K/V write and
// attention instead of a table kernel of their own
bool rope_inline() {
  static const bool on = env::is_on("KILN_LLAMA_ROPE_INLINE");
  return on;
}

// LMOptions::rope_table: whether steps read cos/sin from a whole context's table rather than
// computing their rows in a kernel of their own (3.3 us of an H100 replay: +0.3% decode,
// docs/benchmarks.md session 17). KILN_LLAMA_ROPE_TABLE=1 / 0: the default where the options
// leave it unset.
bool rope_table_on(const Device& device, std::optional<bool> option) {
  static const std::optional<bool> from_env =
      env::is_on("KILN_LLAMA_ROPE_TABLE")    ? std::optional<bool>(true)
      : env::is_off("KILN_LLAMA_ROPE_TABLE") ? std::optional<bool>(false)
                                             : std::nullopt;
  return option.value_or(from_env.value_or(device.caps().warp_size > 1)) && !rope_inline();
}

}  // namespace

LlamaLM::LlamaLM(const ModelSource& source, const LMOptions& o)
    : h_(read_hparams(source)),
      device_(o.device ? o.device : Device::default_device()),
      context_(pick_context(h_, o.context)),
      chunk_(o.prefill_chunk > 0 ? std::max<int64_t>(2, o.prefill_chunk)
                                 : (device_->caps().warp_size > 1 ? 512 : 64)),
      w_(load_weights(source, h_, device_, o.int8_dot)),
      rope_(nn::rope_table(h_.rope, h_.head_dim, h_.max_positions)),
      pos_("start_pos", 0, context_ - 1),
      last_("last_index", 0, chunk_ - 1) {
  rope_.inv_freq = scaled_inv_freq(h_, w_, 0);
  rope_len_ = h_.max_positions;
  rope_table_ = rope_table_on(*device_, o.rope_table);
  inv_freq_ =
      Tensor::from_vector(rope_.inv_freq, {static_cast<int64_t>(rope_.inv_freq.size())}, device_)
          .realize();
  fill_rope_table();
  std::vector<nn::KVLayerSpec> specs;
  for (int64_t i = 0; i < h_.layers; ++i)
    specs.push_back({h_.kv_heads, h_.head_dim, h_.sliding_window[i]});
  // the longest write is a padded prefill chunk; sliding-window layers keep a ring
  act_dtype_ = act_dtype_for(device_, w_, o.half_activations);
  cache_ = nn::KVCache(specs, 1, context_, chunk_, act_dtype_, device_);
  // a discrete GPU picks greedy tokens itself (4 bytes back instead of the logits); where host
  // and device share memory, reading the logits costs less than the argmax kernels
  device_pick_ = o.device_pick.value_or(device_->caps().unified_memory == 0);
  next_id_ = Tensor::zeros({1, 1}, DType::I32, device_).contiguous().realize();
  decode_ = std::make_unique<Jit>(
      [this](const std::vector<Tensor>& in) { return step(in[0], 1, false); });
  prefill_ = std::make_unique<Jit>(
      [this](const std::vector<Tensor>& in) { return step(in[0], chunk_, true); });
}

LlamaLM::~LlamaLM() = default;

namespace {

// A layer's projection input after an RMSNorm; the projections of one input share its int8
// quantization (`q8`).
struct Normed {
  Tensor in;
  mutable Int8InputCache q8 = {};
  bool nest = true;  // read lazily by its projections where KILN_LLAMA_LAZY_GEMV says so
};

// KILN_FUSE_MLP_HALVES=1 (read by the scheduler too, which fuses only on GPUs): a GPU decode
// step leaves its stacked gate/up GEMV lazy for the kernel that combines its halves
bool fuse_mlp_halves(const Device& device) {
  static const bool v = env::is_on("KILN_FUSE_MLP_HALVES");
  return v && device.caps().warp_size > 1;
}

// Decode GEMV inputs read as expressions, not kernel outputs (KILN_LLAMA_LAZY_GEMV, bits):
// 1 the layers' norms (a GPU nests each norm's mean square in its projection's kernel: 32
// kernels a step fewer), 2 the final norm under lm_head, 4 silu(gate) * up under down
// (computed again by every warp of the GEMV), 8 with 1: the attention norm a kernel of its own
// after all (QKV's few blocks expose their nested norm; to measure, e.g. 9).
int lazy_gemv_bits() {
  static const int v = env::integer("KILN_LLAMA_LAZY_GEMV", 1);
  return v;
}

// A decode step's attention kernel stores the new key and value rows itself
// (KVCache::write_and_attend) instead of a K/V write kernel before it: 16 kernels a step fewer,
// +1.6% decode on an H100 (983.0 against 967.7 tok/s, docs/benchmarks.md session 17).
// KILN_LLAMA_FUSED_KV_WRITE=0 restores the write kernel of its own.
bool fused_kv_write() {
  static const bool on = !env::is_off("KILN_LLAMA_FUSED_KV_WRITE");
  return on;
}

// apply / apply_shared (`shared`: the product is a kernel of its own) on a normed input
Tensor project(const Normed& n, const Matrix& m, const Tensor& bias, DType act,
               bool shared = false) {
  const bool lazy = (lazy_gemv_bits() & 1) && n.nest;
  Tensor y = shared ? apply_shared(n.in, m, act, &n.q8, lazy)
                    : apply(n.in, m, Tensor(), act, &n.q8, false, lazy);
  return bias.defined() ? y + bias : y;
}

}  // namespace

std::vector<Tensor> LlamaLM::step(const Tensor& ids, int64_t L, bool prefill) {
  const int64_t D = h_.head_dim, Hq = h_.heads, Hk = h_.kv_heads;
  const double eps = h_.rms_eps;
  // activations stay 2-d (L, features): prefill projections are (L, in) x (out, in) dot tiles
  // (L, H); rows from a packed table are their own kernel, so their gathers and decoding are
  // not recomputed by each consumer (the first norm and the residual)
  Tensor x = w_.embed_packed.words.defined()
                 ? int8_rows(w_.embed_packed, ids.reshape({L})).contiguous()
                 : w_.embed.embedding(ids.reshape({L})).cast(DType::F32);
  Tensor cos, sin;
  if (rope_table_) {
    // the rows of positions pos .. pos + L - 1 of the whole context's table
    const int64_t rows = rope_cs_.dim(1), half = rope_cs_.dim(2);
    cos = rope_cs_.slice(0, 0, 1).reshape({rows, half}).shrink_at(0, pos_, L);
    sin = rope_cs_.slice(0, 1, 2).reshape({rows, half}).shrink_at(0, pos_, L);
  } else {
    Tensor positions =
        Tensor::arange(L, DType::I32, device_) + Tensor::from_variable(pos_, device_);
    std::tie(cos, sin) = nn::rope_cos_sin(positions, inv_freq_, rope_.attention_factor);
    // the step's (L, head_dim / 2) cos and sin computed once, in one kernel: fused into every
    // layer's q/k RoPE they were sin/cos routines per head and layer (CPU, 1B, 512-token
    // prefill: attention 364 -> 326 ms; decode K/V writes 40 -> 18 us a layer)
    // Realized here, so it is the step's first kernel: a graph's first kernel cannot overlap
    // the previous replay, and this one is tiny, while QKV behind it prefetches its weights
    // (left to the schedule it ran between QKV and the K/V write, one more link in the chain)
    if (!rope_inline()) {
      const Shape shape = cos.shape();
      Tensor cs = Tensor::cat({cos.unsqueeze(0), sin.unsqueeze(0)}, 0).contiguous().realize();
      cos = cs.slice(0, 0, 1).reshape(shape);
      sin = cs.slice(0, 1, 2).reshape(shape);
    }
  }
  for (int64_t i = 0; i < h_.layers; ++i) {
    const LayerWeights& lw = w_.layers[i];
    const Normed hn{nn::rms_norm(x, lw.attn_norm, eps), {}, !(lazy_gemv_bits() & 8)};
    Tensor q, k, v;
    if (lw.wqkv.present()) {
      // one GEMV/GEMM for all three; biases (Qwen2) added to the parts
      Tensor qkv = project(hn, lw.wqkv, Tensor(), act_dtype_, true);
      q = qkv.slice(-1, 0, Hq * D);
      k = qkv.slice(-1, Hq * D, (Hq + Hk) * D);
      v = qkv.slice(-1, (Hq + Hk) * D, (Hq + 2 * Hk) * D);
      if (lw.bq.defined()) q = q + lw.bq;
      if (lw.bk.defined()) k = k + lw.bk;
      if (lw.bv.defined()) v = v + lw.bv;
    } else {
      q = project(hn, lw.wq, lw.bq, act_dtype_);
      k = project(hn, lw.wk, lw.bk, act_dtype_);
      v = project(hn, lw.wv, lw.bv, act_dtype_);
    }
    q = q.reshape({1, L, Hq, D});
    k = k.reshape({1, L, Hk, D});
    v = v.reshape({1, L, Hk, D});
    if (lw.q_norm.defined()) q = nn::rms_norm(q, lw.q_norm, eps);
    if (lw.k_norm.defined()) k = nn::rms_norm(k, lw.k_norm, eps);
    q = nn::apply_rope(q.permute({0, 2, 1, 3}), cos, sin, h_.rope_style);
    k = nn::apply_rope(k.permute({0, 2, 1, 3}), cos, sin, h_.rope_style);
    // (1, Hq, L, D) in the activation type: the projection reads it where attention wrote it
    // (a prefill chunk's rows are written by a kernel of their own: write_and_attend's
    // fallback for several query rows)
    const size_t layer = static_cast<size_t>(i);
    const Tensor qa = q.cast(act_dtype_), ka = k.cast(act_dtype_),
                 va = v.permute({0, 2, 1, 3}).cast(act_dtype_);
    Tensor a;
    if (fused_kv_write()) {
      a = cache_.write_and_attend(layer, 0, pos_, qa, ka, va);
    } else {
      cache_.write(layer, 0, pos_, ka, va);
      a = cache_.attend(layer, 0, pos_, qa);
    }
    a = a.permute({0, 2, 1, 3}).reshape({L, Hq * D});
    x = (x + apply(a, lw.wo, lw.bo, act_dtype_)).contiguous();
    const Normed hf{nn::rms_norm(x, lw.ffn_norm, eps)};
    Tensor g;
    if (lw.w_gate_up.present()) {
      // KILN_FUSE_MLP_HALVES=1: a GPU decode step leaves the stacked GEMV lazy, and the
      // scheduler puts both halves' reduces in the kernel that combines them (one kernel a
      // layer fewer, no faster on an H100: docs/benchmarks.md session 14)
      const bool lazy = L == 1 && fuse_mlp_halves(*device_);
      Tensor gu = project(hf, lw.w_gate_up, Tensor(), act_dtype_, !lazy);
      g = gu.slice(-1, 0, h_.ffn).silu() * gu.slice(-1, h_.ffn, 2 * h_.ffn);
    } else {
      g = project(hf, lw.w_gate, Tensor(), act_dtype_).silu() *
          project(hf, lw.w_up, Tensor(), act_dtype_);
    }
    x = (x + apply(g, lw.w_down, Tensor(), act_dtype_, nullptr, false, lazy_gemv_bits() & 4))
            .contiguous();
  }
  Tensor hn = nn::rms_norm(x, w_.norm, eps);  // (L, H)
  Tensor last = prefill ? hn.shrink_at(0, last_, 1) : hn;
  // (1, vocab): a 2-d GEMV gets dot tiles. Realized as its own boundary so that the argmax
  // below and the step's logits output read one GEMV (left a lazy reduce, the Jit's output
  // made a second copy of the lm_head: +25% per CPU decode step)
  Tensor logits =
      apply(last, w_.lm_head, Tensor(), act_dtype_, nullptr, false, lazy_gemv_bits() & 2)
          .contiguous();
  if (!prefill) {
    if (!device_pick_) return {logits};
    // the greedy pick, kept on the device: forward_greedy reads it back, a pipelined step is fed
    // with it (greedy_enqueue)
    next_id_.assign(logits.argmax(1).reshape({1, 1}));
    return {logits, next_id_};
  }
  // sum of the real (unpadded) positions' hidden states, for mean-pooled embeddings
  Tensor keep = Tensor::arange(L, DType::I32, device_).le(Tensor::from_variable(last_, device_));
  Tensor sum = (hn * keep.cast(DType::F32).reshape({L, 1})).sum({0});
  return {logits, sum};
}

void LlamaLM::check_ids(std::span<const int32_t> ids, int64_t start_pos) const {
  if (ids.empty()) throw Error("llama: forward needs at least one token");
  if (start_pos < 0 || start_pos + static_cast<int64_t>(ids.size()) > context_)
    throw Error("llama: " + std::to_string(ids.size()) + " tokens at position " +
                std::to_string(start_pos) + " exceed the context length " +
                std::to_string(context_));
  for (int32_t id : ids)
    if (id < 0 || id >= h_.vocab)
      throw Error("llama: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                  std::to_string(h_.vocab - 1) + ")");
}

namespace {
bool no_jit() {  // KILN_LLAMA_NO_JIT: every step eager, a debugging aid
  static const bool v = env::value("KILN_LLAMA_NO_JIT") != nullptr;
  return v;
}
}  // namespace

std::vector<Tensor> LlamaLM::decode_step(const Tensor& ids, int64_t pos) {
  pos_.bind(pos);
  cache_.set_position(pos, 1);
  return no_jit() ? step(ids, 1, false) : (*decode_)({ids});
}

std::vector<Tensor> LlamaLM::run_chunk(std::span<const int32_t> ids, int64_t start_pos,
                                       bool need_sum, bool capture_only) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n == 1 && !need_sum)
    return decode_step(
        Tensor::from_vector(std::vector<int32_t>(ids.begin(), ids.end()), {1, 1}, device_)
            .realize(),
        start_pos);
  pos_.bind(start_pos);
  cache_.set_position(start_pos, chunk_);
  std::vector<int32_t> padded(ids.begin(), ids.end());
  padded.resize(static_cast<size_t>(chunk_), 0);
  last_.bind(n - 1);
  Tensor t = Tensor::from_vector(padded, {1, chunk_}, device_).realize();
  if (capture_only && !no_jit() && !prefill_->captured()) {
    prefill_->capture({t});
    return {};
  }
  return no_jit() ? step(t, chunk_, true) : (*prefill_)({t});
}

void LlamaLM::set_rope_length(int64_t len) {
  if (!nn::rope_depends_on_length(h_.rope)) return;
  // transformers rescales from the highest position of each forward call; up to the trained
  // context the frequencies are the unscaled ones
  len = std::max(len, h_.max_positions);
  if (len == rope_len_) return;
  rope_.inv_freq = scaled_inv_freq(h_, w_, len);
  inv_freq_.assign(Tensor::from_vector(rope_.inv_freq, inv_freq_.shape(), device_));
  rope_len_ = len;
  fill_rope_table();
}

void LlamaLM::fill_rope_table() {
  if (!rope_table_) return;
  // every position a step may rotate: a padded prefill chunk at the context's last position
  const int64_t n = context_ + chunk_ - 1;
  auto [c, s] =
      nn::rope_cos_sin(Tensor::arange(n, DType::I32, device_), inv_freq_, rope_.attention_factor);
  Tensor table = Tensor::cat({c.unsqueeze(0), s.unsqueeze(0)}, 0);
  if (rope_cs_.defined())
    rope_cs_.assign(
        table);  // in place (computed by the assign's kernel): the captured steps read it
  else
    rope_cs_ = table.contiguous().realize();
}

std::vector<Tensor> LlamaLM::forward_outputs(std::span<const int32_t> ids, int64_t start_pos,
                                             bool& last_was_step) {
  check_ids(ids, start_pos);
  // every chunk of this call rotates with the table of its whole length, as transformers'
  // prefill does; keys already cached keep their rotation
  set_rope_length(start_pos + static_cast<int64_t>(ids.size()));
  std::vector<Tensor> out;
  size_t off = 0;
  while (off < ids.size()) {
    size_t n = std::min(ids.size() - off, static_cast<size_t>(chunk_));
    // a few leftover tokens: single steps when they cost less than one padded chunk
    if (n < static_cast<size_t>(chunk_) && chunk_s_ > 0 && step_s_ > 0 &&
        double(n) * step_s_ < chunk_s_)
      n = 1;
    auto t0 = std::chrono::steady_clock::now();
    out = run_chunk(ids.subspan(off, n), start_pos + static_cast<int64_t>(off), false);
    last_was_step = n == 1;
    if (n > 1 && chunk_s_ == 0) {
      // the first prefill replay times a chunk (warmup only captures it: a second warmup
      // chunk would cost as much as a whole short prompt)
      device_->synchronize();
      chunk_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    off += n;
  }
  return out;
}

std::vector<float> LlamaLM::forward(std::span<const int32_t> ids, int64_t start_pos) {
  bool step = false;
  return forward_outputs(ids, start_pos, step)[0].to_vector<float>();
}

int32_t LlamaLM::forward_greedy(std::span<const int32_t> ids, int64_t start_pos) {
  bool step = false;
  std::vector<Tensor> out = forward_outputs(ids, start_pos, step);
  if (!step || !device_pick_) return greedy_token(out[0].to_vector<float>());  // picked on the host
  return out[1].to_vector<int32_t>().at(0);
}

std::vector<float> LlamaLM::mean_hidden(std::span<const int32_t> ids) {
  check_ids(ids, 0);
  set_rope_length(static_cast<int64_t>(ids.size()));
  Tensor total;
  for (size_t off = 0; off < ids.size(); off += static_cast<size_t>(chunk_)) {
    size_t n = std::min(ids.size() - off, static_cast<size_t>(chunk_));
    std::vector<Tensor> out = run_chunk(ids.subspan(off, n), static_cast<int64_t>(off), true);
    // the Jit reuses its output buffer: take the values before the next replay
    Tensor part = Tensor::from_vector(out[1].to_vector<float>(), {h_.hidden}, device_);
    total = total.defined() ? (total + part).contiguous().realize() : part;
  }
  return (total / static_cast<double>(ids.size())).to_vector<float>();
}

bool LlamaLM::pipelines_greedy() const {
  // KILN_PIPELINE_GREEDY=0: one step at a time (for comparing)
  static const bool off = env::is_off("KILN_PIPELINE_GREEDY");
  return !off && device_pick_ && device_->reads_async();
}

void LlamaLM::greedy_enqueue(std::optional<int32_t> first, int64_t pos) {
  if (!device_pick_) {  // picks on the host: the same contract, each step run at once
    if (first)
      host_picks_.clear();
    else if (last_host_pick_ < 0)
      throw Error("llama: a pipelined step with no step before it to feed it");
    const int32_t fed = first ? *first : last_host_pick_;
    last_host_pick_ = forward_greedy(std::span<const int32_t>(&fed, 1), pos);
    host_picks_.push_back(last_host_pick_);
    return;
  }
  if (first) {
    check_ids(std::span<const int32_t>(&*first, 1), pos);
    pending_.clear();
    next_id_.assign(Tensor::from_vector(std::vector<int32_t>{*first}, {1, 1}, device_));
  } else if (pos < 0 || pos + 1 > context_) {
    throw Error("llama: a decode step at position " + std::to_string(pos) +
                " exceeds the context length " + std::to_string(context_));
  }
  set_rope_length(pos + 1);
  std::vector<Tensor> out = decode_step(next_id_, pos);
  pending_.push_back(out[1].read_begin());  // queued behind the step, before the next one
}

int32_t LlamaLM::greedy_collect() {
  if (!device_pick_) {
    if (host_picks_.empty()) throw Error("llama: greedy_collect with no decode step queued");
    const int32_t id = host_picks_.front();
    host_picks_.pop_front();
    return id;
  }
  if (pending_.empty()) throw Error("llama: greedy_collect with no decode step queued");
  PendingRead r = std::move(pending_.front());
  pending_.pop_front();
  const std::vector<unsigned char> bytes = r.wait();
  int32_t id = 0;
  std::memcpy(&id, bytes.data(), sizeof id);
  return id;
}

void LlamaLM::greedy_reset() {
  pending_.clear();
  host_picks_.clear();
  last_host_pick_ = -1;
}

void LlamaLM::warmup() {
  std::vector<int32_t> one{0};
  std::vector<int32_t> two{0, 0};
  // each Jit captures on its first call (every kernel compiled or loaded) and replays from the
  // second; the prefill step is captured without running it, one decode replay is timed here
  // and a prefill chunk at its first real use (forward)
  using Clock = std::chrono::steady_clock;
  // dynamic RoPE: compile the table rewrite now, then leave the unscaled table in place
  set_rope_length(h_.max_positions + 1);
  set_rope_length(h_.max_positions);
  run_chunk(one, 0, false)[0].to_vector<float>();
  run_chunk(two, 0, true, /*capture_only=*/true);  // a whole chunk's work saved at start-up
  auto t0 = Clock::now();
  run_chunk(one, 0, false)[0].to_vector<float>();
  step_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
}

size_t LlamaLM::decode_kernels() const {
  return decode_->kernel_count();
}

}  // namespace kiln::llama
