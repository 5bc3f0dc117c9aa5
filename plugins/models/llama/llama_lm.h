// kiln::llama::LlamaLM — one sequence of a Llama-family model as a kiln::CausalLM: the
// forward pass as Tensor ops over a per-layer KV cache, run by two captured kiln::Jit steps
// (a padded prefill chunk and a one-token decode) with symbolic positions, so after warmup
// no prompt length up to the context compiles a kernel.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "hparams.h"
#include "kiln/generate.h"
#include "kiln/jit.h"
#include "kiln/kv_cache.h"
#include "weights.h"

namespace kiln::llama {

struct LMOptions {
  Device* device = nullptr;  // nullptr: Device::default_device()
  int64_t context = 0;       // 0: min(the model's max_position_embeddings, 4096)
  // prompt tokens per prefill step; 0 = 64 on CPUs, 512 on GPUs (warp_size > 1), where a
  // longer chunk reads each weight once for more rows and feeds the tensor cores more tiles
  int64_t prefill_chunk = 0;
  // On devices with tensor cores (MMA) and F16/BF16 weights: prefill projections take their
  // input rounded to the weights' type and the KV cache holds that type, as a model run in it
  // does, so prefill matmuls and attention run on the tensor cores; decode GEMVs read their
  // input in that type too (half the input bytes). false keeps F32 throughout.
  bool half_activations = true;
  // Decode steps pick the greedy token on the device (an argmax kernel chain; forward_greedy
  // then reads 4 bytes). Unset: on devices without host-shared memory (GPUs).
  std::optional<bool> device_pick;
  // Steps read RoPE's cos/sin from a table of every position the context holds, computed at
  // load (and again when dynamic RoPE rescales), instead of computing their positions' rows in
  // a kernel of their own. Unset: on GPUs (warp_size > 1), where the table costs microseconds
  // at load; a CPU takes seconds for a 131072 context (KILN_LLAMA_ROPE_TABLE=1 / 0 sets this
  // default).
  std::optional<bool> rope_table;
  // Q8_0/Q4_0/Q4_1/Q4_K/Q6_K matmuls quantize their input to int8 blocks and take integer dot products,
  // as llama.cpp does (CPUs; int8_matmul.cpp). false: the weights are dequantized exactly
  // inside float matmuls (logits within 1e-4 of transformers on the same weights).
  bool int8_dot = true;
};

class LlamaLM final : public CausalLM {
 public:
  LlamaLM(const ModelSource& source, const LMOptions& options);
  ~LlamaLM() override;

  int64_t vocab_size() const override { return h_.vocab; }
  int64_t context_length() const override { return context_; }
  std::vector<float> forward(std::span<const int32_t> ids, int64_t start_pos) override;
  // a decode step picks its greedy token on the device: 4 bytes back instead of the logits
  int32_t forward_greedy(std::span<const int32_t> ids, int64_t start_pos) override;
  // pipelined greedy decoding where the device reads back without waiting (CUDA): each step
  // is fed with next_id_, which the step before it wrote. Where the host picks (shared
  // memory: the CPU) the calls keep their contract but run each step at once.
  bool pipelines_greedy() const override;
  bool reads_rope_table() const { return rope_table_; }  // LMOptions::rope_table as resolved
  void greedy_enqueue(std::optional<int32_t> first, int64_t pos) override;
  int32_t greedy_collect() override;
  void greedy_reset() override;

  // Mean of the final (normed) hidden states over `ids` (a fresh sequence): embeddings.
  std::vector<float> mean_hidden(std::span<const int32_t> ids);
  // Runs both steps once so every kernel is compiled (or fetched from the kernel cache).
  void warmup();

  const Hparams& hparams() const { return h_; }
  uint64_t weight_bytes() const { return w_.device_bytes; }
  uint64_t cache_bytes() const { return cache_.bytes(); }
  const nn::KVCache& cache() const { return cache_; }
  size_t decode_kernels() const;  // launches per decode step (after warmup)
  int64_t prefill_chunk() const { return chunk_; }

 private:
  std::vector<Tensor> step(const Tensor& ids, int64_t len, bool prefill);
  void check_ids(std::span<const int32_t> ids, int64_t start_pos) const;
  // Runs one chunk (1 <= n <= chunk) at start_pos; returns {logits, hidden sum} for a prefill
  // chunk, {logits, greedy token id} for a decode step.
  // capture_only: capture the prefill step without running it (warmup); returns nothing
  // One decode step of `ids` (1, 1) at `pos`: the captured decode Jit (eager with
  // KILN_LLAMA_NO_JIT).
  std::vector<Tensor> decode_step(const Tensor& ids, int64_t pos);
  // forward() up to its last chunk's outputs, left on the device; last_was_step: that chunk
  // was a decode step (outputs {logits, greedy token})
  std::vector<Tensor> forward_outputs(std::span<const int32_t> ids, int64_t start_pos, bool& last_was_step);
  std::vector<Tensor> run_chunk(std::span<const int32_t> ids, int64_t start_pos, bool need_sum,
                                bool capture_only = false);

  Hparams h_;
  Device* device_;
  int64_t context_ = 0, chunk_ = 64;
  // keys, values and prefill projection inputs: F32, or the weights' half type (act_dtype_for)
  DType act_dtype_ = DType::F32;
  // Dynamic RoPE: rewrites inv_freq_ for a forward call ending at sequence length `len`.
  void set_rope_length(int64_t len);

  Weights w_;
  nn::RopeTable rope_;
  Tensor inv_freq_;       // rope_.inv_freq on the device, read by the captured steps
  bool rope_table_ = false;  // LMOptions::rope_table
  // (2, context + chunk - 1, head_dim / 2) cos, sin of every position (rope_table_)
  Tensor rope_cs_;
  void fill_rope_table();
  int64_t rope_len_ = 0;  // the sequence length inv_freq_ was computed for (dynamic RoPE)
  nn::KVCache cache_;
  Variable pos_, last_;
  // Measured cost of one prefill chunk and of one decode step (seconds; 0 = not yet known):
  // a short remainder runs as decode steps when that is cheaper than a padded chunk.
  double chunk_s_ = 0, step_s_ = 0;
  std::unique_ptr<Jit> decode_, prefill_;
  bool device_pick_ = true;           // decode steps pick the greedy token on the device
  Tensor next_id_;                    // (1, 1) I32: the last decode step's greedy pick
  std::deque<PendingRead> pending_;  // picks of queued pipelined steps, oldest first
  std::deque<int32_t> host_picks_;   // the same where the host picks (!device_pick_)
  int32_t last_host_pick_ = -1;
};

}  // namespace kiln::llama
