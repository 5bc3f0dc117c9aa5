// Q8_0 / Q4_0 / Q4_1 / Q4_K / Q6_K matmuls as int8 dot products (ggml's vec_dot_*_q8 scheme) on CPUs:
// activations are quantized to int8 blocks of 32 per call, weights are repacked once at load so
// that 16 output columns sit side by side in the 16 i32 lanes of a vector, and each half block's
// integer dot product is a chain of Tensor::dot4 (kernel IR DOT4: VPDPBUSD) before its scales
// are applied once. Everything here is a Tensor expression: the scheduler and code generator
// make the kernels.
#include <cstdlib>
#include <string>

#include "kiln/device_runtime.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "kiln/quant.h"
#include "weights.h"

namespace kiln::llama {

namespace {

constexpr int64_t kLanes = 16;  // output columns a packed group holds (one i32 lane each)

// The weight's unsigned byte = value code + offset: Q8_0 stores q + 128 (q is signed), Q4_0 its
// nibble (value q - 8), Q6_K its 6-bit code (value code - 32); the dot's offset * sum(x) term is
// subtracted in integers. Q4_1's and Q4_K's nibbles are the code itself (d q + m, scale q - min).
int32_t byte_offset(WeightType t) {
  switch (t) {
    case WeightType::Q8_0: return 128;
    case WeightType::Q4_0: return 8;
    case WeightType::Q6_K: return 32;
    default: return 0;
  }
}

Tensor i32(const Tensor& like, int64_t v) { return like.scalar_like(static_cast<double>(v)); }

// (rows, n, ...) per-row data as (G, n, ..., 16): the column groups' lanes last, realized
Tensor lanes_last(const Tensor& t) {
  const Shape& s = t.shape();
  Shape grouped{s[0] / kLanes, kLanes};
  grouped.insert(grouped.end(), s.begin() + 1, s.end());
  std::vector<int> order{0};
  for (int a = 2; a < static_cast<int>(grouped.size()); ++a) order.push_back(a);
  order.push_back(1);
  return t.reshape(grouped).permute(order).contiguous().realize();
}

// (rows, nb, 4 words) bytes (U8) as (G, nb, words, 16) I32: word w of block b of column c. The
// bytes are first gathered into whole rows, so the permute moves words, not bytes (4x fewer
// elements; 1B Q4_0 warm Ready 3.1 -> 2.2 s).
Tensor packed_words(const Tensor& bytes, int64_t rows, int64_t nb, int64_t words) {
  return lanes_last(bytes.contiguous().realize().reinterpret(DType::I32, {rows, nb, words}));
}

// An f16 field of each block as (G, nb, 16) F16.
Tensor packed_half(const Tensor& bytes, int64_t rows, int64_t nb, int64_t block_bytes, int64_t at) {
  return lanes_last(bytes.reinterpret(DType::U16, {rows, nb, block_bytes / 2})
                        .slice(-1, at, at + 1)
                        .reshape({rows, nb})
                        .bitcast(DType::F16));
}

}  // namespace

bool int8_dot_enabled(const Device* device, WeightType type, int64_t rows, int64_t cols) {
  static const bool off = env::is_off("KILN_INT8_DOT");
  // CPUs whose DOT4 is native (VNNI); GPUs keep the float path, tuned for their bf16 models
  if (off || !device || device->caps().warp_size > 1 || !device->caps().fast_dot4) return false;
  if (rows % kLanes != 0) return false;
  switch (type) {
    case WeightType::Q8_0: case WeightType::Q4_0: case WeightType::Q4_1: return cols % quant::QK == 0;
    case WeightType::Q4_K: case WeightType::Q6_K: return cols % quant::QK_K == 0;
    default: return false;
  }
}

Int8Pack int8_pack(const Tensor& bytes, WeightType type, int64_t rows, int64_t cols, const Tensor& table) {
  const int64_t nb = cols / quant::QK;
  Int8Pack p;
  p.type = type;
  if (type == WeightType::Q4_K) {  // nibbles reordered as Q4_0's; d * sc and dmin * m per 32
    Q4KNibbles n = q4k_nibbles(bytes, rows, cols, table);
    p.words = packed_words(n.bytes, rows, nb, 4);
    p.d = lanes_last(n.scale);
    p.m = lanes_last(n.min);
    return p;
  }
  if (type == WeightType::Q6_K) {  // codes widened to bytes; scales per 16 and per 256
    Q6KCodes c = q6k_codes(bytes, rows, cols);
    p.words = packed_words(c.codes.cast(DType::U8), rows, nb, 8);
    p.sc = lanes_last(c.scales.reshape({rows, nb, 2}));
    p.d = lanes_last(c.d);
    return p;
  }
  const int64_t block_bytes = type == WeightType::Q8_0 ? 34 : type == WeightType::Q4_0 ? 18 : 20;
  const int64_t qbytes = type == WeightType::Q8_0 ? 32 : 16;
  Tensor qs = bytes.reinterpret(DType::U8, {rows, nb, block_bytes}).slice(-1, block_bytes - qbytes, block_bytes);
  if (type == WeightType::Q8_0) qs = qs.bitwise_xor(qs.scalar_like(128));  // q + 128 as u8
  p.words = packed_words(qs, rows, nb, qbytes / 4);
  p.d = packed_half(bytes, rows, nb, block_bytes, 0);
  if (type == WeightType::Q4_1) p.m = packed_half(bytes, rows, nb, block_bytes, 1);
  return p;
}

namespace {

// Lane ids % 16 of the packed rows `g` = ids / 16 of `t` (G, ...n..., 16): (T, ...n...)
Tensor packed_lane(const Tensor& t, const Tensor& ids) {
  const Shape& s = t.shape();
  Shape inner(s.begin() + 1, s.end() - 1);
  const int64_t T = ids.dim(0), per_group = shape_numel(inner) * kLanes;
  Tensor g = ids.idiv(ids.scalar_like(kLanes)), lane = ids.mod(ids.scalar_like(kLanes));
  Shape rows{T};
  rows.insert(rows.end(), inner.begin(), inner.end());
  Shape picked_shape = rows, idx_shape = rows, lane_shape(rows.size() + 1, 1);
  picked_shape.push_back(kLanes);
  idx_shape.push_back(1);
  lane_shape[0] = T;
  Tensor picked = t.reshape({s[0], per_group}).embedding(g).reshape(picked_shape);
  return picked.gather(static_cast<int>(rows.size()), lane.reshape(lane_shape).expand(idx_shape)).reshape(rows);
}

}  // namespace

Tensor int8_rows(const Int8Pack& p, const Tensor& ids_in) {
  Tensor ids = ids_in.cast(DType::I32);
  const int64_t T = ids.dim(0), nb = p.words.dim(1), cols = nb * quant::QK;
  Tensor words = packed_lane(p.words, ids);  // (T, nb, W)
  Tensor shifts = Tensor::from_vector(std::vector<int32_t>{0, 8, 16, 24}, {1, 1, 1, 4}, words.device());
  Tensor bytes = words.reshape({T, nb, words.dim(2), 1}).shr(shifts).bitwise_and(i32(words, 255));
  if (p.type == WeightType::Q6_K) {  // (d sc) (code - 32), exact products rounded once
    Tensor sc = packed_lane(p.sc, ids).cast(DType::F32);  // (T, nb, 2)
    Tensor d = packed_lane(p.d, ids);                     // (T, nb / 8)
    Tensor scale = d.reshape({T, nb / 8, 1, 1}).expand({T, nb / 8, 8, 2}).reshape({T, nb, 2, 1}) *
                   sc.reshape({T, nb, 2, 1});
    Tensor codes = (bytes - 32).cast(DType::F32).reshape({T, nb, 2, 16});
    return (scale * codes).reshape({T, cols});
  }
  Tensor d = packed_lane(p.d, ids).cast(DType::F32).reshape({T, nb, 1, 1});  // (T, nb, 1, 1)
  Tensor q;
  if (p.type == WeightType::Q8_0) {
    q = (bytes - 128).reshape({T, nb, 1, 32});
  } else {  // nibbles: the low ones are elements 0..15, the high ones 16..31
    Tensor b = bytes.reshape({T, nb, 1, 16});
    q = Tensor::cat({b.bitwise_and(i32(b, 15)), b.shr(i32(b, 4))}, 2);
    if (p.type == WeightType::Q4_0) q = q - 8;
  }
  Tensor v = q.cast(DType::F32) * d;
  if (p.type == WeightType::Q4_1) v = v + packed_lane(p.m, ids).cast(DType::F32).reshape({T, nb, 1, 1});
  if (p.type == WeightType::Q4_K) v = v - packed_lane(p.m, ids).reshape({T, nb, 1, 1});
  return v.reshape({T, cols});
}

// d = max|x| / 127 rounded to f16, q = round(x * 127 / max|x|) (halves away from zero); a
// block's 32 int8 q four to a word, lowest byte first. Three small kernels: the block maxima,
// the codes (a vectorized elementwise pass) and the sums and scales.
Q8Input quantize_int8_input(const Tensor& x) {
  const int64_t L = x.dim(0), nb = x.dim(1) / quant::QK;
  Tensor xb = x.reshape({L, nb, quant::QK});
  Tensor amax = xb.abs().max({-1}, true).contiguous();  // (L, nb, 1)
  Tensor zero = amax.scalar_like(0);
  Tensor inv = Tensor::where(amax.gt(zero), amax.scalar_like(127) / amax, zero);
  Tensor v = xb * inv;
  Tensor q = (v + Tensor::where(v.lt(zero), v.scalar_like(-0.5), v.scalar_like(0.5))).trunc().cast(DType::I8);
  Q8Input a;
  a.words = q.contiguous().realize().reinterpret(DType::I32, {L, nb, 8});
  // the sums as dot products with bytes of one: no second reduce over the block
  Tensor ones = i32(a.words, 0x01010101);
  Tensor sums[2];
  for (int h = 0; h < 2; ++h) {
    sums[h] = i32(a.words, 0);
    for (int w = 4 * h; w < 4 * h + 4; ++w) sums[h] = Tensor::dot4(ones, a.words.slice(-1, w, w + 1), sums[h]);
  }
  Tensor d = (amax / 127.0).cast(DType::F16).cast(DType::F32).bitcast(DType::I32);
  a.meta = Tensor::cat({sums[0], sums[1], d}, -1).contiguous();
  return a;
}

Tensor int8_matmul(const Tensor& x, const Int8Pack& p) {
  if (x.dim(1) != p.words.dim(1) * quant::QK)
    throw Error("int8 matmul: input has " + std::to_string(x.dim(1)) + " columns, weights " +
                std::to_string(p.words.dim(1) * quant::QK));
  return int8_matmul(quantize_int8_input(x), p);
}

Tensor int8_matmul(const Q8Input& xq, const Int8Pack& p) {
  const int64_t L = xq.words.dim(0), nb = xq.words.dim(1);
  const int64_t G = p.words.dim(0), words = p.words.dim(2), N = G * kLanes;
  if (p.words.dim(1) != nb)
    throw Error("int8 matmul: input has " + std::to_string(nb * quant::QK) + " columns, weights " +
                std::to_string(p.words.dim(1) * quant::QK));
  // The reduce over blocks is the sources' first axis, so the output keeps (A, B, 16) with B in
  // the row position of the code generator's register tiles (rows x 16 lanes). A GEMV puts the
  // column groups there (independent dot chains), a prefill the activation rows (each weight
  // vector loaded serves several rows).
  const bool gemv = L == 1;
  auto by_column = [&](const Tensor& t) {  // (G, nb, 16) as (nb, A, B, 16)
    Tensor u = t.permute({1, 0, 2});
    return gemv ? u.reshape({nb, 1, G, kLanes}) : u.reshape({nb, G, 1, kLanes});
  };
  auto wv = [&](int64_t w) { return by_column(p.words.slice(2, w, w + 1).reshape({G, nb, kLanes})); };
  auto xv = [&](const Tensor& t, int64_t w) {  // word w of each block as (nb, A, B, 1)
    Tensor r = t.slice(2, w, w + 1).reshape({L, nb}).permute({1, 0});
    return gemv ? r.reshape({nb, L, 1, 1}) : r.reshape({nb, 1, L, 1});
  };
  // the two half blocks (elements 0..15, 16..31) each a chain of four dot4
  Tensor half[2];
  auto step = [&](int h, const Tensor& w, const Tensor& xw) {
    half[h] = Tensor::dot4(w, xw, half[h].defined() ? half[h] : i32(w, 0));
  };
  if (words == 8) {  // a byte per element: word w holds elements 4w..4w+3
    for (int64_t w = 0; w < 8; ++w) step(int(w / 4), wv(w), xv(xq.words, w));
  } else {  // nibbles: the low ones are elements 0..15, the high ones 16..31
    for (int64_t w = 0; w < 4; ++w) {
      Tensor packed = wv(w), mask = i32(packed, 0x0F0F0F0F);
      step(0, packed.bitwise_and(mask), xv(xq.words, w));
      step(1, packed.shr(i32(packed, 4)).bitwise_and(mask), xv(xq.words, w + 4));
    }
  }
  Tensor qsum[2] = {xv(xq.meta, 0), xv(xq.meta, 1)};
  Tensor dx = xv(xq.meta, 2).bitcast(DType::F32);
  auto f32_by_column = [&](const Tensor& t) { return by_column(t.cast(DType::F32)); };
  const int32_t off = byte_offset(p.type);
  Tensor term;
  if (p.type == WeightType::Q6_K) {  // d_sb dx (sc_lo (isum_lo - 32 sum_lo) + sc_hi (...))
    Tensor d = f32_by_column(p.d.reshape({G, nb / 8, 1, kLanes}).expand({G, nb / 8, 8, kLanes}).reshape({G, nb, kLanes}));
    Tensor sc[2] = {f32_by_column(p.sc.slice(2, 0, 1).reshape({G, nb, kLanes})),
                    f32_by_column(p.sc.slice(2, 1, 2).reshape({G, nb, kLanes}))};
    Tensor mixed = sc[0] * (half[0] - qsum[0] * i32(qsum[0], off)).cast(DType::F32) +
                   sc[1] * (half[1] - qsum[1] * i32(qsum[1], off)).cast(DType::F32);
    term = d * dx * mixed;
  } else if (p.type == WeightType::Q4_K) {  // scale q - min: scale dx sum(q x) - min dx sum(x)
    term = f32_by_column(p.d) * dx * (half[0] + half[1]).cast(DType::F32) -
           f32_by_column(p.m) * (dx * (qsum[0] + qsum[1]).cast(DType::F32));
  } else if (p.type == WeightType::Q4_1) {  // d q + m: d dx sum(q x) + m s, s = dx sum(x)
    // s rounded to f16 as ggml's block_q8_1 stores it: with s in f32, SmolLM2-135M's Q4_1 lost
    // llama.cpp's 32 greedy tokens (two logits 0.015 apart at step 28 swapped)
    Tensor sx = (dx * (qsum[0] + qsum[1]).cast(DType::F32)).cast(DType::F16).cast(DType::F32);
    term = f32_by_column(p.d) * dx * (half[0] + half[1]).cast(DType::F32) + f32_by_column(p.m) * sx;
  } else {  // d (q - offset): (d dx) (sum(u x) - offset sum(x)), exact in integers
    Tensor isum = half[0] + half[1], xs = qsum[0] + qsum[1];
    term = f32_by_column(p.d) * dx * (isum - xs * i32(xs, off)).cast(DType::F32);
  }
  Tensor y = term.sum({0});  // (A, B, 16)
  // a GEMV's reduce is its own kernel, kept (1, G, 16) so its tiles span column groups
  return gemv ? y.contiguous().reshape({1, N}) : y.permute({1, 0, 2}).reshape({L, N});
}

}  // namespace kiln::llama
