// GGUF block-quantized matrices as lazy tensor expressions over their raw bytes: the full
// dequantization (prefill matmuls, embedding rows) and a decode GEMV that reads the blocks in
// place. Both are ordinary Tensor ops, so the scheduler fuses the decoding into the consuming
// kernel on every device and the weights stay quantized in memory.
#include "kiln/error.h"
#include "kiln/quant.h"
#include "weights.h"

namespace kiln::llama {

namespace {

constexpr int64_t kQ6KBytes = 210;  // ql[128] qh[64] scales[16] d (f16)

// A per-block f16 field as F32: u16 number `at` of each `u16_per_block`-halfword block.
Tensor block_half(const Tensor& bytes, int64_t rows, int64_t blocks, int64_t u16_per_block,
                  int64_t at) {
  return bytes.reinterpret(DType::U16, {rows, blocks, u16_per_block})
      .slice(-1, at, at + 1)
      .bitcast(DType::F16)
      .cast(DType::F32);
}

// Q6_K's parts, each viewed so that element e of super-block b is
// (half h = e / 128, quarter j = e / 32 % 4, l = e % 32) with l split as (l / 16, l % 16):
//   ql (rows, nsb, 2 h, 2 j%2, 2, 16): the low 4 bits, j < 2 in the low nibble, j >= 2 high;
//   qh (rows, nsb, 2 h, 2, 16): 2 bits of each quarter j at bit 2j;
//   sc (rows, nsb, 2 h, 4 j, 2): int8 scale per 16 elements; d (rows, nsb, 1): f16 scale.
struct Q6KParts {
  Tensor ql, qh, sc, d;
};

Q6KParts q6k_parts(const Tensor& bytes, int64_t rows, int64_t nsb) {
  Tensor blk = bytes.reinterpret(DType::U8, {rows, nsb, kQ6KBytes});
  Q6KParts p;
  p.ql = blk.slice(-1, 0, 128).reshape({rows, nsb, 2, 2, 2, 16});
  p.qh = blk.slice(-1, 128, 192).reshape({rows, nsb, 2, 2, 16});
  p.sc = bytes.reinterpret(DType::I8, {rows, nsb, kQ6KBytes})
             .slice(-1, 192, 208)
             .reshape({rows, nsb, 2, 4, 2});
  p.d = block_half(bytes, rows, nsb, kQ6KBytes / 2, 104);
  return p;
}

// The signed 6-bit value of quarter j = 2 * hi + lo: (rows, nsb, 2 h, 2, 16) as I32 in -32..31.
Tensor q6k_quarter(const Q6KParts& p, int hi, int lo) {
  const int64_t rows = p.ql.dim(0), nsb = p.ql.dim(1);
  Tensor ql = p.ql.slice(3, lo, lo + 1).reshape({rows, nsb, 2, 2, 16}).cast(DType::I32);
  Tensor low = hi ? ql.shr(ql.scalar_like(4)) : ql.bitwise_and(ql.scalar_like(15));
  Tensor qh = p.qh.cast(DType::I32);
  Tensor high = qh.shr(qh.scalar_like(2 * (2 * hi + lo))).bitwise_and(qh.scalar_like(3));
  return low.bitwise_or(high.shl(high.scalar_like(4))) - 32;
}

// d * scale of quarter j for each 16 elements: (rows, nsb, 2 h, 2, 1)
Tensor q6k_scale(const Q6KParts& p, int j) {
  const int64_t rows = p.sc.dim(0), nsb = p.sc.dim(1);
  Tensor sc = p.sc.slice(3, j, j + 1).reshape({rows, nsb, 2, 2, 1}).cast(DType::F32);
  return p.d.reshape({rows, nsb, 1, 1, 1}) * sc;
}

// (rows, cols) F32 in ggml's order of operations ((d * scale) * q), bit for bit
Tensor q6k_dequantize(const Tensor& bytes, int64_t rows, int64_t cols) {
  const int64_t nsb = cols / quant::QK_K;
  Q6KParts p = q6k_parts(bytes, rows, nsb);
  std::vector<Tensor> quarters;
  for (int j = 0; j < 4; ++j)
    quarters.push_back((q6k_scale(p, j) * q6k_quarter(p, j / 2, j % 2).cast(DType::F32))
                           .reshape({rows, nsb, 2, 1, 32}));
  return Tensor::cat(quarters, 3).reshape({rows, cols});
}

// y (L, rows) = x (L, cols) . dequant(W)^T, one reduce over (super-block, half, 16-group,
// element) summing the four quarters, so every index stays linear in the loop counters
Tensor q6k_matmul(const Tensor& x, const Matrix& m) {
  const int64_t rows = m.w.dim(0), cols = m.w.dim(1), nsb = cols / quant::QK_K, L = x.dim(0);
  Q6KParts p = q6k_parts(m.bytes, rows, nsb);
  Tensor xq = x.contiguous().reshape({L, 1, nsb, 2, 4, 2, 16});
  Tensor total;
  for (int j = 0; j < 4; ++j) {
    Tensor xj = xq.slice(4, j, j + 1).reshape({L, 1, nsb, 2, 2, 16});
    Tensor term = (q6k_quarter(p, j / 2, j % 2).cast(DType::F32) * q6k_scale(p, j))
                      .reshape({1, rows, nsb, 2, 2, 16}) *
                  xj;
    total = total.defined() ? total + term : term;
  }
  return total.sum({2, 3, 4, 5}).reshape({L, rows});
}

constexpr int64_t kQ4KBytes = 144;  // d, dmin (f16), scales[12], qs[128]

// Q4_K's parts, element e of super-block b seen as (pair p = e / 64, nibble half h = e / 32 % 2,
// l = e % 32): byte qs[32 p + l] holds h = 0 in its low nibble, h = 1 in its high one, and
// sub-block j = 2 p + h has a 6-bit scale and min packed in `scales` (ggml's
// get_scale_min_k4). `scale` and `min` are d * sc and dmin * m: (rows, nsb, 4 p, 2 h) F32.
struct Q4KParts {
  Tensor qs, scale, min;
};

// (rows, nsb, 4 p, 2 h, 2): d * sc and dmin * m of every sub-block (exact in F32)
Tensor q4k_table(const Tensor& bytes, int64_t rows, int64_t nsb) {
  Tensor blk = bytes.reinterpret(DType::U8, {rows, nsb, kQ4KBytes});
  Tensor sc = blk.slice(-1, 4, 16).cast(DType::I32);
  auto part = [&](int64_t at) { return sc.slice(-1, at, at + 4); };
  Tensor a = part(0), b = part(4), c = part(8);
  auto low6 = [](const Tensor& t) { return t.bitwise_and(t.scalar_like(63)); };
  auto top2 = [](const Tensor& t) { return t.shr(t.scalar_like(6)).shl(t.scalar_like(4)); };
  // sub-blocks 0..3 use the low 6 bits; 4..7 a nibble of `c` plus the top 2 bits of a / b
  Tensor scales = Tensor::cat({low6(a), c.bitwise_and(c.scalar_like(15)).bitwise_or(top2(a))}, -1);
  Tensor mins = Tensor::cat({low6(b), c.shr(c.scalar_like(4)).bitwise_or(top2(b))}, -1);
  Tensor d = block_half(bytes, rows, nsb, kQ4KBytes / 2, 0),
         dmin = block_half(bytes, rows, nsb, kQ4KBytes / 2, 1);
  Tensor scale = (d * scales.cast(DType::F32)).reshape({rows, nsb, 4, 2, 1});
  Tensor min = (dmin * mins.cast(DType::F32)).reshape({rows, nsb, 4, 2, 1});
  return Tensor::cat({scale, min}, -1);
}

// `table`: q4k_table realized once at load (decoding the packed 6-bit fields inside every
// GEMV step cost 3x the time), or undefined to decode them in the kernel
Q4KParts q4k_parts(const Tensor& bytes, int64_t rows, int64_t nsb, Tensor table = Tensor()) {
  if (!table.defined()) table = q4k_table(bytes, rows, nsb);
  Q4KParts p;
  p.qs = bytes.reinterpret(DType::U8, {rows, nsb, kQ4KBytes})
             .slice(-1, 16, kQ4KBytes)
             .reshape({rows, nsb, 4, 32});
  p.scale = table.slice(-1, 0, 1).reshape({rows, nsb, 4, 2});
  p.min = table.slice(-1, 1, 2).reshape({rows, nsb, 4, 2});
  return p;
}

// The weights of nibble half h: (rows, nsb, 4 p, 32 l), ggml's d1 * q - m1
Tensor q4k_half(const Q4KParts& p, int h) {
  const int64_t rows = p.qs.dim(0), nsb = p.qs.dim(1);
  Tensor q = h ? p.qs.shr(p.qs.scalar_like(4)) : p.qs.bitwise_and(p.qs.scalar_like(15));
  Tensor scale = p.scale.slice(3, h, h + 1), min = p.min.slice(3, h, h + 1);
  return scale.reshape({rows, nsb, 4, 1}) * q.cast(DType::F32) - min.reshape({rows, nsb, 4, 1});
}

Tensor q4k_dequantize(const Tensor& bytes, int64_t rows, int64_t cols, const Tensor& table) {
  const int64_t nsb = cols / quant::QK_K;
  Q4KParts p = q4k_parts(bytes, rows, nsb, table);
  Tensor halves = Tensor::cat({q4k_half(p, 0).reshape({rows, nsb, 4, 1, 32}),
                               q4k_half(p, 1).reshape({rows, nsb, 4, 1, 32})},
                              3);
  return halves.reshape({rows, cols});
}

// y (L, rows) = x . dequant(W)^T over (super-block, pair, element), the two nibble halves apart
Tensor q4k_matmul(const Tensor& x, const Matrix& m) {
  const int64_t rows = m.w.dim(0), cols = m.w.dim(1), nsb = cols / quant::QK_K, L = x.dim(0);
  Q4KParts p = q4k_parts(m.bytes, rows, nsb, m.table);
  Tensor xq = x.contiguous().reshape({L, 1, nsb, 4, 2, 32});
  Tensor total;
  for (int h = 0; h < 2; ++h) {
    Tensor xh = xq.slice(4, h, h + 1).reshape({L, 1, nsb, 4, 32});
    Tensor term = q4k_half(p, h).reshape({1, rows, nsb, 4, 32}) * xh;
    total = total.defined() ? total + term : term;
  }
  return total.sum({2, 3, 4}).reshape({L, rows});
}

// Q8_0/Q4_0/Q4_1 decoded in block layout: Q8_0 `whole` (rows, nb, 32); Q4 `lo` and `hi`
// (rows, nb, 16), the low nibbles (elements 0..15 of each block) and the high ones (16..31).
// Every value is a small integer times an f16 scale, exact in F32, so this order of the
// operations (q * d + (-8 d) for Q4_0: one FMA per element) still gives ggml's bits.
struct Block32 {
  Tensor whole, lo, hi;
};

// A Q4_0/Q4_1 block's parts: the nibbles as F32 0..15, `lo` (rows, nb, 16) the low ones
// (elements 0..15), `hi` the high ones (16..31); the scale d and, for Q4_1, the min m
// (rows, nb, 1). A value is d * (q - 8) (Q4_0) or d * q + m (Q4_1).
struct Q4Parts {
  Tensor lo, hi, d, m;
};

Q4Parts q4_parts(const Tensor& bytes, WeightType type, int64_t rows, int64_t nb) {
  const int64_t block_bytes = type == WeightType::Q4_0 ? 18 : 20;
  Tensor qs = bytes.reinterpret(DType::U8, {rows, nb, block_bytes})
                  .slice(-1, block_bytes - 16, block_bytes);
  Q4Parts p;
  p.lo = qs.bitwise_and(qs.scalar_like(15)).cast(DType::F32);
  p.hi = qs.shr(qs.scalar_like(4)).cast(DType::F32);
  p.d = block_half(bytes, rows, nb, block_bytes / 2, 0);
  if (type == WeightType::Q4_1) p.m = block_half(bytes, rows, nb, block_bytes / 2, 1);
  return p;
}

Block32 block32_decoded(const Tensor& bytes, WeightType type, int64_t rows, int64_t nb) {
  if (type == WeightType::Q8_0) {  // f16 d, 32 x i8 q; value = d * q
    Tensor q = bytes.reinterpret(DType::I8, {rows, nb, 34}).slice(-1, 2, 34).cast(DType::F32);
    return {q * block_half(bytes, rows, nb, 17, 0), Tensor(), Tensor()};
  }
  Q4Parts p = q4_parts(bytes, type, rows, nb);
  Tensor off = p.m.defined() ? p.m : p.d * -8.0;
  return {Tensor(), p.lo * p.d + off, p.hi * p.d + off};
}

// A Q4_0/Q4_1 GEMV (one row of x) with each block's scales applied to its sum of products,
// not to every weight: y = sum_b d_b (sum_e q_e x_e - 8 sum_e x_e) for Q4_0 and
// sum_b d_b sum_e q_e x_e + m_b sum_e x_e for Q4_1, the x sums shared by all rows. One
// multiply per element fewer than decoding each weight (1B decode on a Sapphire Rapids, 2
// threads: Q4_0 14.2 -> 17.0 tok/s). Q8_0 (one multiply either way: 14.3 -> 14.0) keeps its
// decoded form, and so do prefill tiles, which share each decoded weight among their rows
// (this form halved their speed).
Tensor block32_gemv(const Tensor& xr, const Matrix& m, int64_t rows, int64_t nb) {
  Q4Parts p = q4_parts(m.bytes, m.type, rows, nb);
  Tensor xb = xr.reshape({1, 1, nb, 2, 16});
  Tensor x_lo = xb.slice(3, 0, 1).reshape({1, 1, nb, 16}),
         x_hi = xb.slice(3, 1, 2).reshape({1, 1, nb, 16});
  Tensor dot = p.lo.reshape({1, rows, nb, 16}) * x_lo + p.hi.reshape({1, rows, nb, 16}) * x_hi;
  Tensor d = p.d.reshape({1, rows, nb, 1});
  Tensor term = p.m.defined() ? d * dot + p.m.reshape({1, rows, nb, 1}) * (x_lo + x_hi)
                              : d * (dot - (x_lo + x_hi) * 8.0);
  return term.sum({-2, -1}).reshape({1, rows});
}

// Q8_0/Q4_0/Q4_1: one reduce over (block, element) with the nibble halves kept apart
Tensor block32_matmul(const Tensor& x, const Matrix& m) {
  const int64_t rows = m.w.dim(0), cols = m.w.dim(1), nb = cols / quant::QK, L = x.dim(0);
  Tensor xr = x.contiguous();  // computed once, not inside every output's reduce
  if (L == 1 && m.type != WeightType::Q8_0) return block32_gemv(xr, m, rows, nb);
  Block32 w = block32_decoded(m.bytes, m.type, rows, nb);
  if (w.whole.defined())
    return (w.whole.reshape({1, rows, nb, 32}) * xr.reshape({L, 1, nb, 32})).sum({-2, -1}).reshape({L, rows});
  Tensor xb = xr.reshape({L, 1, nb, 2, 16});
  Tensor x_lo = xb.slice(3, 0, 1).reshape({L, 1, nb, 16}),
         x_hi = xb.slice(3, 1, 2).reshape({L, 1, nb, 16});
  return (w.lo.reshape({1, rows, nb, 16}) * x_lo + w.hi.reshape({1, rows, nb, 16}) * x_hi)
      .sum({-2, -1})
      .reshape({L, rows});
}

}  // namespace

// One elementwise pass over (rows, nsb, 2 h, 4 j, 32 l) without a cat (whose branches each
// element would evaluate): quarter j reads ql byte (h, j % 2, l) at nibble j / 2 and qh byte
// (h, l) at bits 2j, 2j + 1 (views with a zero stride along the j they do not depend on).
Q6KCodes q6k_codes(const Tensor& bytes, int64_t rows, int64_t cols) {
  const int64_t nsb = cols / quant::QK_K;
  Q6KParts p = q6k_parts(bytes, rows, nsb);
  Device* dev = bytes.device();
  const Shape full{rows, nsb, 2, 4, 32};
  Tensor ql = p.ql.reshape({rows, nsb, 2, 1, 2, 32}).expand({rows, nsb, 2, 2, 2, 32}).reshape(full).cast(DType::I32);
  Tensor qh = p.qh.reshape({rows, nsb, 2, 1, 32}).expand(full).cast(DType::I32);
  Tensor nib_shift = Tensor::from_vector(std::vector<int32_t>{0, 0, 4, 4}, {1, 1, 1, 4, 1}, dev);
  Tensor hi_shift = Tensor::from_vector(std::vector<int32_t>{0, 2, 4, 6}, {1, 1, 1, 4, 1}, dev);
  Tensor low = ql.shr(nib_shift).bitwise_and(ql.scalar_like(15));
  Tensor high = qh.shr(hi_shift).bitwise_and(qh.scalar_like(3));
  Q6KCodes c;
  c.codes = low.bitwise_or(high.shl(high.scalar_like(4))).reshape({rows, cols});
  c.scales = p.sc.reshape({rows, cols / 16});
  c.d = p.d.reshape({rows, nsb});
  return c;
}

// Sub-block j = 2p + h holds its 32 elements in one nibble half h of the 32 bytes of pair p;
// byte i of a Q4_0-ordered block is element i's nibble | element (16 + i)'s nibble << 4.
Q4KNibbles q4k_nibbles(const Tensor& bytes, int64_t rows, int64_t cols, const Tensor& table) {
  const int64_t nsb = cols / quant::QK_K, nb = cols / quant::QK;
  Q4KParts p = q4k_parts(bytes, rows, nsb, table);
  Tensor qs = p.qs.cast(DType::I32);  // (rows, nsb, 4 p, 32 l)
  const Shape halves{rows, nsb, 4, 2, 16};
  Tensor lo = qs.slice(-1, 0, 16).reshape({rows, nsb, 4, 1, 16}).expand(halves);
  Tensor hi = qs.slice(-1, 16, 32).reshape({rows, nsb, 4, 1, 16}).expand(halves);
  Tensor shift = Tensor::from_vector(std::vector<int32_t>{0, 4}, {1, 1, 1, 2, 1}, bytes.device());
  Tensor mask = qs.scalar_like(15);
  Q4KNibbles n;
  n.bytes = lo.shr(shift).bitwise_and(mask).bitwise_or(hi.shr(shift).bitwise_and(mask).shl(qs.scalar_like(4)))
                .reshape({rows, nb, 16})
                .cast(DType::U8);
  n.scale = p.scale.reshape({rows, nb});
  n.min = p.min.reshape({rows, nb});
  return n;
}

bool kept_quantized(WeightType type) {
  return type == WeightType::Q8_0 || type == WeightType::Q4_0 || type == WeightType::Q4_1 ||
         type == WeightType::Q4_K || type == WeightType::Q6_K;
}

Matrix quantized_matrix(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols) {
  Matrix m{Tensor(), bytes, type, Tensor(), {}};
  if (type == WeightType::Q4_K && cols % quant::QK_K == 0)
    m.table = q4k_table(bytes, rows, cols / quant::QK_K).contiguous().realize();
  m.w = dequantized_matrix(bytes, type, rows, cols, m.table);
  return m;
}

Tensor dequantized_matrix(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols,
                          const Tensor& table) {
  const int64_t block =
      type == WeightType::Q6_K || type == WeightType::Q4_K ? quant::QK_K : quant::QK;
  if (cols % block != 0)
    throw Error("quantized matrix: " + std::to_string(cols) + " columns are not whole blocks of " +
                std::to_string(block) + " (" + std::string(weight_type_name(type)) + ")");
  switch (type) {
    case WeightType::Q8_0:
    case WeightType::Q4_0:
    case WeightType::Q4_1: {
      const int64_t nb = cols / quant::QK;
      Block32 w = block32_decoded(bytes, type, rows, nb);
      return (w.whole.defined() ? w.whole : Tensor::cat({w.lo, w.hi}, -1)).reshape({rows, cols});
    }
    case WeightType::Q4_K:
      return q4k_dequantize(bytes, rows, cols, table);
    case WeightType::Q6_K:
      return q6k_dequantize(bytes, rows, cols);
    default:
      throw Error("quantized matrix: type " + std::string(weight_type_name(type)) +
                  " is not kept quantized");
  }
}

Tensor quantized_matmul(const Tensor& x, const Matrix& m) {
  if (m.type == WeightType::Q6_K) return q6k_matmul(x, m);
  if (m.type == WeightType::Q4_K) return q4k_matmul(x, m);
  return block32_matmul(x, m);
}

}  // namespace kiln::llama
