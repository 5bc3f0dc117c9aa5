// Q8_0 / Q4_0 / Q4_1 matmuls as int8 dot products (ggml's vec_dot_q*_q8_0 scheme) on CPUs:
// activations are quantized to int8 blocks of 32 per call, weights are repacked once at load so
// that 16 output columns sit side by side in the 16 i32 lanes of a vector, and each block's
// integer dot product is a chain of Tensor::dot4 (kernel IR DOT4: VPDPBUSD) before its scales
// are applied once. Everything here is a Tensor expression: the scheduler and code generator
// make the kernels.
#include <cstdlib>
#include <string>

#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "kiln/quant.h"
#include "weights.h"

namespace kiln::llama {

namespace {

constexpr int64_t kLanes = 16;   // output columns a packed group holds (one i32 lane each)

// The weight's unsigned byte = value code + offset: Q8_0 stores q + 128 (q is signed), the
// nibble types their nibble; the dot's offset * sum(x) term is subtracted in integers.
int32_t byte_offset(WeightType t) { return t == WeightType::Q8_0 ? 128 : t == WeightType::Q4_0 ? 8 : 0; }

Tensor i32(const Tensor& like, int64_t v) { return like.scalar_like(static_cast<double>(v)); }

// An f16 field of each block as (G, nb, 16) F16, the column groups' lanes last.
Tensor packed_half(const Tensor& bytes, int64_t rows, int64_t nb, int64_t block_bytes, int64_t at) {
  return bytes.reinterpret(DType::U16, {rows, nb, block_bytes / 2})
      .slice(-1, at, at + 1)
      .reshape({rows / kLanes, kLanes, nb})
      .permute({0, 2, 1})
      .bitcast(DType::F16)
      .contiguous()
      .realize();
}

}  // namespace

bool int8_dot_enabled(const Device* device, WeightType type, int64_t rows, int64_t cols) {
  static const bool off = [] {
    const char* e = std::getenv("KILN_INT8_DOT");
    return e && std::string(e) == "0";
  }();
  if (off || !device || device->caps().warp_size > 1) return false;  // CPUs (GPUs: float path)
  if (type != WeightType::Q8_0 && type != WeightType::Q4_0 && type != WeightType::Q4_1) return false;
  return rows % kLanes == 0 && cols % quant::QK == 0;
}

Int8Pack int8_pack(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols) {
  const int64_t nb = cols / quant::QK, G = rows / kLanes;
  const int64_t block_bytes = type == WeightType::Q8_0 ? 34 : type == WeightType::Q4_0 ? 18 : 20;
  const int64_t qbytes = type == WeightType::Q8_0 ? 32 : 16, words = qbytes / 4;
  Tensor qs = bytes.reinterpret(DType::U8, {rows, nb, block_bytes}).slice(-1, block_bytes - qbytes, block_bytes);
  if (type == WeightType::Q8_0) qs = qs.bitwise_xor(qs.scalar_like(128));  // q + 128 as u8
  Int8Pack p;
  p.type = type;
  // word w of column c of group g: bytes 4w..4w+3 of the block, at (g, b, w, c)
  p.words = qs.reshape({G, kLanes, nb, words, 4})
                .permute({0, 2, 3, 1, 4})
                .contiguous()
                .realize()
                .reinterpret(DType::I32, {G, nb, words, kLanes});
  p.d = packed_half(bytes, rows, nb, block_bytes, 0);
  if (type == WeightType::Q4_1) p.m = packed_half(bytes, rows, nb, block_bytes, 1);
  return p;
}

// x (L, K) F32 quantized per block of 32 as ggml's quantize_row_q8_0 does: d = max|x| / 127
// rounded to f16, q = round(x * 127 / max|x|) (halves away from zero). `words` (L, K / 32, 8)
// I32 hold the 32 int8 q of a block four to a word (lowest byte first); `meta` (L, K / 32, 2)
// I32 their sum and d's F32 bits. Three small kernels: the block maxima, the codes (a
// vectorized elementwise pass) and the per-block sums and scales.
struct Q8Activations {
  Tensor words, meta;
};

Q8Activations quantize_q8_blocks(const Tensor& x) {
  const int64_t L = x.dim(0), nb = x.dim(1) / quant::QK;
  Tensor xb = x.reshape({L, nb, quant::QK});
  Tensor amax = xb.abs().max({-1}, true).contiguous();  // (L, nb, 1)
  Tensor zero = amax.scalar_like(0);
  Tensor inv = Tensor::where(amax.gt(zero), amax.scalar_like(127) / amax, zero);
  Tensor v = xb * inv;
  Tensor q = (v + Tensor::where(v.lt(zero), v.scalar_like(-0.5), v.scalar_like(0.5))).trunc().cast(DType::I8);
  Q8Activations a;
  a.words = q.contiguous().realize().reinterpret(DType::I32, {L, nb, 8});
  // sum(q) as dot products with bytes of one: no second reduce over the block
  Tensor ones = i32(a.words, 0x01010101), sum = i32(a.words, 0);
  for (int w = 0; w < 8; ++w) sum = Tensor::dot4(ones, a.words.slice(-1, w, w + 1), sum);
  Tensor d = (amax / 127.0).cast(DType::F16).cast(DType::F32).bitcast(DType::I32);
  a.meta = Tensor::cat({sum, d}, -1).contiguous();
  return a;
}

Tensor int8_matmul(const Tensor& x, const Int8Pack& p) {
  const int64_t L = x.dim(0), K = x.dim(1), nb = K / quant::QK;
  const int64_t G = p.words.dim(0), words = p.words.dim(2), N = G * kLanes;
  if (p.words.dim(1) != nb) throw Error("int8 matmul: input has " + std::to_string(K) + " columns, weights " + std::to_string(p.words.dim(1) * quant::QK));
  Q8Activations xq = quantize_q8_blocks(x);
  // A GEMV puts the column groups in the output's row position, so the code generator's
  // register tiles hold several groups (independent dot chains); a prefill puts the
  // activation rows there, so each weight vector loaded serves several rows.
  const bool gemv = L == 1;
  auto wv = [&](int64_t w) {  // (G, nb, 16) as (A, B, nb, 16)
    Tensor t = p.words.slice(2, w, w + 1).reshape({G, nb, kLanes});
    return gemv ? t.reshape({1, G, nb, kLanes}) : t.reshape({G, 1, nb, kLanes});
  };
  auto xv = [&](int64_t w) {  // word w of each block (8, 9: the sum and scale) as (A, B, nb, 1)
    Tensor t = (w < 8 ? xq.words.slice(2, w, w + 1) : xq.meta.slice(2, w - 8, w - 7)).reshape({L, nb});
    return gemv ? t.reshape({L, 1, nb, 1}) : t.reshape({1, L, nb, 1});
  };
  Tensor chain[2];
  auto step = [&](int c, const Tensor& w, const Tensor& xw) {
    chain[c] = Tensor::dot4(w, xw, chain[c].defined() ? chain[c] : i32(w, 0));
  };
  if (words == 8) {  // Q8_0: word w pairs with activation word w
    for (int64_t w = 0; w < 8; ++w) step(int(w % 2), wv(w), xv(w));
  } else {  // nibbles: low ones are elements 0..15 (words 0..3), high ones 16..31 (words 4..7)
    for (int64_t w = 0; w < 4; ++w) {
      Tensor packed = wv(w), mask = i32(packed, 0x0F0F0F0F);
      step(0, packed.bitwise_and(mask), xv(w));
      step(1, packed.shr(i32(packed, 4)).bitwise_and(mask), xv(w + 4));
    }
  }
  Tensor isum = chain[0] + chain[1];
  Tensor qsum = xv(8), dx = xv(9).bitcast(DType::F32);
  auto cols = [&](const Tensor& t) {  // (G, nb, 16) F16 as (A, B, nb, 16) F32
    Tensor f = t.cast(DType::F32);
    return gemv ? f.reshape({1, G, nb, kLanes}) : f.reshape({G, 1, nb, kLanes});
  };
  Tensor term;
  if (p.type == WeightType::Q4_1) {  // d q + m: d dx sum(q x) + m dx sum(x)
    term = cols(p.d) * dx * isum.cast(DType::F32) + cols(p.m) * (dx * qsum.cast(DType::F32));
  } else {  // d (q - offset): (d dx) (sum(u x) - offset sum(x)), exact in integers
    const int32_t off = byte_offset(p.type);
    term = cols(p.d) * dx * (isum - qsum * i32(qsum, off)).cast(DType::F32);
  }
  Tensor y = term.sum({2});  // (A, B, 16)
  return gemv ? y.reshape({1, N}) : y.permute({1, 0, 2}).reshape({L, N});
}

}  // namespace kiln::llama
