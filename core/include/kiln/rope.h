// Rotary position embeddings (RoPE) for LLM plugins: the inverse frequencies of every RoPE
// variant transformers knows for decoder LLMs (default, linear, dynamic, yarn, llama3) and
// the rotation itself as Tensor ops, so positions may be symbolic (decode replays).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/llm_config.h"
#include "kiln/tensor.h"

namespace kiln::nn {

// The inverse frequencies (rotary_dim / 2 values) and the factor cos/sin are scaled by
// (yarn's attention factor; 1 otherwise), computed like transformers'
// ROPE_INIT_FUNCTIONS. `max_position_embeddings` is the model's configured context (yarn's
// fallback for original_max_position_embeddings). `seq_len` matters only to "dynamic"
// (dynamic NTK): up to max_position_embeddings it gives the unscaled frequencies, past it the
// base is rescaled to base * (factor * seq_len / max_pos - (factor - 1)) ^ (d / (d - 2)).
// transformers takes seq_len = the highest position of the current forward call + 1, and
// cached keys keep the rotation they were written with.
// Unknown rope types (longrope, ...) are kiln::Errors naming the config field and the type.
struct RopeTable {
  std::vector<float> inv_freq;
  double attention_factor = 1.0;
};
RopeTable rope_table(const RopeParameters& params, int64_t head_dim,
                     int64_t max_position_embeddings, int64_t seq_len = 0);
// True when the frequencies depend on the sequence length ("dynamic").
bool rope_depends_on_length(const RopeParameters& params);

// Which dimensions rotate together: NeoX / Hugging Face pairs i with i + d/2 ("rotate_half");
// GPT-J / llama.cpp's "normal" mode pairs 2i with 2i + 1 (GGUF llama weights have Q/K rows
// permuted by convert_hf_to_gguf so that this mode reproduces the Hugging Face model).
enum class RopeStyle { Half, Interleaved };

// cos and sin of positions x inv_freq, each (positions.numel(), d/2) F32, times the
// attention factor. `positions` is an integer tensor (e.g. arange + a start Variable).
std::pair<Tensor, Tensor> rope_cos_sin(const Tensor& positions, const RopeTable& table,
                                       Device* device = nullptr);
// The same from a realized inv_freq tensor (d/2 F32 values): a captured step reads its
// current contents at each replay, so a caller may rewrite it between steps (dynamic RoPE).
std::pair<Tensor, Tensor> rope_cos_sin(const Tensor& positions, const Tensor& inv_freq,
                                       double attention_factor = 1.0);

// Rotates x (..., L, D) with cos/sin (L, D/2) in the given style; the result has x's dtype.
Tensor apply_rope(const Tensor& x, const Tensor& cos, const Tensor& sin, RopeStyle style);

}  // namespace kiln::nn
