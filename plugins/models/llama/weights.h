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

// Q8_0 / Q4_0 / Q4_1 / Q4_K / Q6_K repacked for int8 dot products (int8_matmul.cpp): `words`
// (G, nb, W, 16) I32 holds word w (four bytes) of block b (32 elements) of the 16 columns of
// group g side by side (Q8_0: q + 128 and Q6_K: its 6-bit code, W = 8; the nibble types in
// Q4_0's nibble order, W = 4). `d` and (Q4_1) `m` (G, nb, 16) F16; Q4_K: `d` = d * sc and `m`
// = dmin * m (G, nb, 16) F32 per sub-block; Q6_K: `d` (G, nb / 8, 16) F32 per super-block and
// `sc` (G, nb, 2, 16) I8 per 16 elements.
struct Int8Pack {
  Tensor words, d, m, sc;
  WeightType type = WeightType::F32;
};

// x (L, K) F32 quantized per block of 32 as ggml's quantize_row_q8_0 does (int8_matmul.cpp):
// `words` (L, K / 32, 8) I32 four codes each, `meta` (L, K / 32, 3) I32 the half blocks' code
// sums and the scale's F32 bits.
struct Q8Input {
  Tensor words, meta;
};
Q8Input quantize_int8_input(const Tensor& x);
// x (L, cols) F32 -> (L, rows): x quantized to int8 blocks, then integer dot products.
Tensor int8_matmul(const Tensor& x, const Int8Pack& p);
Tensor int8_matmul(const Q8Input& x, const Int8Pack& p);
// One input's quantized form, shared by the int8 matmuls that read it (a layer's Q, K and V
// when their types differ and are not stacked: Q4_K_M keeps some V in Q6_K), so it is
// quantized once rather than once per matmul. `key` is the input it was made from.
struct Int8InputCache {
  Tensor key;
  Q8Input q;
};

// A weight matrix (out, in): `w` is a plain tensor or, for block-quantized weights, the lazy
// dequantization of `bytes` (embedding rows gather from it). Matmuls read the blocks directly
// (apply(), quantized_matmul()): one reduce over (block, element) with the nibble halves kept
// apart, so the generated index math stays linear.
struct Matrix {
  Tensor w;
  Tensor bytes;  // the raw blocks (U8) of a quantized weight; undefined for plain weights
  WeightType type = WeightType::F32;
  Tensor table;  // Q4_K: each sub-block's d * scale and dmin * min, decoded once at load
  Int8Pack packed;  // CPUs: the int8 dot-product form, which matmuls then use (w, bytes and
                    // table are then dropped)
  bool present() const { return w.defined() || packed.words.defined(); }
};
// x (L, in) -> (L, out), plus bias when defined. `act` F16/BF16: a prefill (L a multiple of
// 16) with weights of that type rounds x to it first (tensor cores); F32 keeps x as it is.
// `lazy_gemv`: a half decode GEMV (L = 1) reads x as the expression it is, not a kernel's
// output (a GPU's scheduler nests a norm's mean square in the GEMV's kernel).
Tensor apply(const Tensor& x, const Matrix& m, const Tensor& bias = Tensor(),
             DType act = DType::F32, Int8InputCache* q8 = nullptr, bool round_out = false,
             bool lazy_gemv = false);
// apply() for a product several consumers read (stacked Q/K/V, gate/up): its own kernel's
// output, so slices of it do not each run the matmul again. A tensor-core prefill stores it
// rounded to `act` (as the reference's half Linear does): half the bytes written and read back.
Tensor apply_shared(const Tensor& x, const Matrix& m, DType act = DType::F32,
                    Int8InputCache* q8 = nullptr, bool lazy_gemv = false);
// x (L, K) @ w^T for w (N, K), as `s` products over slices of K (one batched kernel) and their
// lazy sum: a GPU prefill's narrow projections (weights.cpp, split_k)
Tensor split_k_product(const Tensor& x, const Tensor& w, int64_t s);

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
  Int8Pack embed_packed;  // or, where the table took the int8 form, its packed rows
  Matrix lm_head;  // (vocab, hidden), possibly the (quantized) embedding when tied
  Tensor norm;
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight (llama3 scaling), else empty
  std::vector<LayerWeights> layers;
  uint64_t device_bytes = 0;
};

// Throws kiln::Error naming the tensor and file for missing tensors and wrong shapes.
// `int8_dot`: Q8_0/Q4_0/Q4_1/Q4_K/Q6_K matrices may take the int8 dot-product form where the device
// takes it (int8_dot_enabled); false keeps every matmul on the exactly dequantized weights.
Weights load_weights(const ModelSource& source, const Hparams& h, Device* device, bool int8_dot = true);

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

// A Q6_K matrix's parts in element order: `codes` (rows, cols) I32 0..63, `scales` (rows,
// cols / 16) I8 and `d` (rows, cols / 256) F32; element e is d * scales[e / 16] * (code - 32).
struct Q6KCodes {
  Tensor codes, scales, d;
};
Q6KCodes q6k_codes(const Tensor& bytes, int64_t rows, int64_t cols);
// A Q4_K matrix with its sub-blocks of 32 in Q4_0's nibble order: `bytes` (rows, cols / 32, 16)
// U8, `scale` and `min` (rows, cols / 32) F32 (d * sc, dmin * m); element = scale q - min.
struct Q4KNibbles {
  Tensor bytes, scale, min;
};
Q4KNibbles q4k_nibbles(const Tensor& bytes, int64_t rows, int64_t cols, const Tensor& table);

// Whether a (rows, cols) matrix of `type` takes the int8 dot-product form on `device`: CPUs
// with a native DOT4 (caps.fast_dot4: VNNI), Q8_0/Q4_0/Q4_1/Q4_K/Q6_K, rows a multiple of 16
// (KILN_INT8_DOT=0 turns it off).
bool int8_dot_enabled(const Device* device, WeightType type, int64_t rows, int64_t cols);
// The repacked form of a matrix's raw blocks (a generated copy kernel, run at load).
// `table`: Matrix::table (Q4_K's decoded sub-block scales), else undefined.
Int8Pack int8_pack(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols,
                   const Tensor& table = Tensor());
// Rows `ids` (T) of the packed matrix, dequantized: (T, cols) F32 equal to kiln::dequantize's
// (an embedding table kept only in its packed form).
Tensor int8_rows(const Int8Pack& p, const Tensor& ids);

}  // namespace kiln::llama
