// The weights of a Llama-family model as device tensors. Plain encodings (F32/F16/BF16) are
// uploaded as they are stored (matmuls cast them to F32 inside the kernel); GGUF Q8_0 and
// Q4_0 matrices stay block-quantized in device memory and are expressed as a lazy dequantize
// (Tensor::reinterpret of the blocks + elementwise ops) that the scheduler fuses into each
// matmul; other GGML types are dequantized at load (exactly, by kiln::dequantize).
#pragma once

#include <vector>

#include "hparams.h"
#include "kiln/tensor.h"

namespace kiln::llama {

struct LayerWeights {
  Tensor attn_norm, ffn_norm;
  Tensor wq, wk, wv, wo;  // (out, in)
  Tensor bq, bk, bv, bo;  // optional
  Tensor q_norm, k_norm;  // optional (Qwen3), (head_dim)
  Tensor w_gate, w_up, w_down;
};

struct Weights {
  Tensor embed;    // (vocab, hidden), a plain tensor for the row lookup
  Tensor lm_head;  // (vocab, hidden), possibly the (quantized) embedding when tied
  Tensor norm;
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight (llama3 scaling), else empty
  std::vector<LayerWeights> layers;
  uint64_t device_bytes = 0;
};

// Throws kiln::Error naming the tensor and file for missing tensors and wrong shapes.
Weights load_weights(const ModelSource& source, const Hparams& h, Device* device);

// The lazy dequantization of a GGUF Q8_0 / Q4_0 matrix held as raw blocks (exposed for tests).
Tensor quantized_matrix(const Tensor& blocks, WeightType type, int64_t rows, int64_t cols);

}  // namespace kiln::llama
