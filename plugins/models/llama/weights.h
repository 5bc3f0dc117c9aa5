// The weights of a Llama-family model as device tensors. Plain encodings (F32/F16/BF16) are
// uploaded as they are stored (matmuls cast them to F32 inside the kernel); GGUF Q8_0, Q4_0,
// Q4_1, Q4_K and Q6_K matrices stay block-quantized in device memory and are expressed as a lazy
// dequantize (Tensor::reinterpret of the blocks + elementwise ops) that the scheduler fuses into
// each matmul; other GGML types are dequantized at load (exactly, by kiln::dequantize).
#pragma once

#include <vector>

#include "hparams.h"
#include "kiln/tensor.h"

namespace kiln::llama {

// A weight matrix (out, in): `w` is a plain tensor or, for block-quantized weights, the lazy
// dequantization of `bytes` (embedding rows gather from it). Matmuls read the blocks directly
// (apply(), quantized_matmul()): one reduce over (block, element) with the nibble halves kept
// apart, so the generated index math stays linear.
struct Matrix {
  Tensor w;
  Tensor bytes;  // the raw blocks (U8) of a quantized weight; undefined for plain weights
  WeightType type = WeightType::F32;
  Tensor table;  // Q4_K: each sub-block's d * scale and dmin * min, decoded once at load
};
// x (L, in) -> (L, out), plus bias when defined. `act` F16/BF16: a prefill (L a multiple of
// 16) with weights of that type rounds x to it first (tensor cores); F32 keeps x as it is.
Tensor apply(const Tensor& x, const Matrix& m, const Tensor& bias = Tensor(), DType act = DType::F32);

struct LayerWeights {
  Tensor attn_norm, ffn_norm;
  // Q, K and V stacked by rows (q_out + 2 kv_out, hidden) when their encodings agree; else
  // wqkv.w is undefined and wq/wk/wv hold them apart
  Matrix wqkv, wq, wk, wv, wo;
  Tensor bq, bk, bv, bo;  // optional
  Tensor q_norm, k_norm;  // optional (Qwen3), (head_dim)
  // gate and up stacked likewise (2 ffn, hidden), or apart in w_gate/w_up
  Matrix w_gate_up, w_gate, w_up, w_down;
};

struct Weights {
  Tensor embed;    // (vocab, hidden): plain, or the lazy dequantization of a quantized table
  Matrix lm_head;  // (vocab, hidden), possibly the (quantized) embedding when tied
  Tensor norm;
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight (llama3 scaling), else empty
  std::vector<LayerWeights> layers;
  uint64_t device_bytes = 0;
};

// Throws kiln::Error naming the tensor and file for missing tensors and wrong shapes.
Weights load_weights(const ModelSource& source, const Hparams& h, Device* device);

// Whether a GGML type stays block-quantized in device memory (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K).
bool kept_quantized(WeightType type);
// A kept_quantized() matrix over its raw bytes (U8 on the device), with any per-block
// tables it reads decoded once (Q4_K).
Matrix quantized_matrix(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols);
// The lazy dequantization of a GGUF block-quantized matrix held as raw bytes: (rows, cols)
// F32, equal to kiln::dequantize bit for bit (quant_matrix.cpp). `table`: Matrix::table, or
// undefined to decode Q4_K's packed scales in the kernel.
Tensor dequantized_matrix(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols,
                          const Tensor& table = Tensor());
// x (L, cols) -> (L, rows) reading the quantized blocks of m in place (decode GEMVs, prefill
// dot tiles).
Tensor quantized_matmul(const Tensor& x, const Matrix& m);

}  // namespace kiln::llama
