// Reference decoding of every stored weight encoding to float. Each block decoder mirrors
// ggml's dequantize_row_* (ggml-quants.c): same element order, same float operation order.
#include <cstring>
#include <limits>
#include <string>

#include "kiln/error.h"
#include "kiln/quant.h"

namespace kiln {

namespace {

using quant::QK;
using quant::QK_K;

uint8_t u8(const std::byte* p) { return static_cast<uint8_t>(*p); }
uint16_t u16(const std::byte* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
float half(const std::byte* p) { return fp16_to_float(u16(p)); }

void q4_0(const std::byte* b, float* y) {
  const float d = half(b);
  const std::byte* qs = b + 2;
  for (int j = 0; j < QK / 2; ++j) {
    y[j] = static_cast<float>((u8(qs + j) & 0x0F) - 8) * d;
    y[j + QK / 2] = static_cast<float>((u8(qs + j) >> 4) - 8) * d;
  }
}

void q4_1(const std::byte* b, float* y) {
  const float d = half(b), m = half(b + 2);
  const std::byte* qs = b + 4;
  for (int j = 0; j < QK / 2; ++j) {
    y[j] = static_cast<float>(u8(qs + j) & 0x0F) * d + m;
    y[j + QK / 2] = static_cast<float>(u8(qs + j) >> 4) * d + m;
  }
}

void q5_0(const std::byte* b, float* y) {
  const float d = half(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const std::byte* qs = b + 6;
  for (int j = 0; j < QK / 2; ++j) {
    const int xh0 = ((qh >> j) << 4) & 0x10;
    const int xh1 = (qh >> (j + 12)) & 0x10;
    y[j] = static_cast<float>(((u8(qs + j) & 0x0F) | xh0) - 16) * d;
    y[j + QK / 2] = static_cast<float>(((u8(qs + j) >> 4) | xh1) - 16) * d;
  }
}

void q5_1(const std::byte* b, float* y) {
  const float d = half(b), m = half(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const std::byte* qs = b + 8;
  for (int j = 0; j < QK / 2; ++j) {
    const int xh0 = ((qh >> j) << 4) & 0x10;
    const int xh1 = (qh >> (j + 12)) & 0x10;
    y[j] = static_cast<float>((u8(qs + j) & 0x0F) | xh0) * d + m;
    y[j + QK / 2] = static_cast<float>((u8(qs + j) >> 4) | xh1) * d + m;
  }
}

void q8_0(const std::byte* b, float* y) {
  const float d = half(b);
  for (int j = 0; j < QK; ++j) y[j] = static_cast<float>(static_cast<int8_t>(u8(b + 2 + j))) * d;
}

void q2_k(const std::byte* b, float* y) {
  const std::byte* scales = b;
  const std::byte* q = b + 16;
  const float d = half(b + 80), dmin = half(b + 82);
  int is = 0;
  for (int n = 0; n < QK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      for (int half_index = 0; half_index < 2; ++half_index) {
        const uint8_t sc = u8(scales + is++);
        const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
        const std::byte* qq = q + 16 * half_index;
        for (int l = 0; l < 16; ++l)
          *y++ = dl * static_cast<float>((u8(qq + l) >> shift) & 3) - ml;
      }
      shift += 2;
    }
    q += 32;
  }
}

void q3_k(const std::byte* b, float* y) {
  const std::byte* hm = b;
  const std::byte* q = b + 32;
  const std::byte* packed = b + 96;
  const float d_all = half(b + 108);
  int8_t scales[16];
  for (int k = 0; k < 16; ++k) {
    const int low = k < 8 ? (u8(packed + k) & 0xF) : (u8(packed + k - 8) >> 4);
    const int high = (u8(packed + 8 + k % 4) >> (2 * (k / 4))) & 3;
    scales[k] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < QK_K; n += 128) {
    int shift = 0;
    for (int j = 0; j < 4; ++j) {
      for (int half_index = 0; half_index < 2; ++half_index) {
        const float dl = d_all * static_cast<float>(scales[is++]);
        const int o = 16 * half_index;
        for (int l = 0; l < 16; ++l) {
          const int v = ((u8(q + o + l) >> shift) & 3) - ((u8(hm + o + l) & m) ? 0 : 4);
          *y++ = dl * static_cast<float>(v);
        }
      }
      shift += 2;
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

// 6-bit scale and min j (0..7) of the K-quants' packed 12-byte scales.
void scale_min_k4(int j, const std::byte* q, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = u8(q + j) & 63;
    m = u8(q + j + 4) & 63;
  } else {
    sc = static_cast<uint8_t>((u8(q + j + 4) & 0xF) | ((u8(q + j - 4) >> 6) << 4));
    m = static_cast<uint8_t>((u8(q + j + 4) >> 4) | ((u8(q + j) >> 6) << 4));
  }
}

void q4_k(const std::byte* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const std::byte* scales = b + 4;
  const std::byte* q = b + 16;
  int is = 0;
  for (int j = 0; j < QK_K; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(u8(q + l) & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(u8(q + l) >> 4) - m2;
    q += 32;
    is += 2;
  }
}

void q5_k(const std::byte* b, float* y) {
  const float d = half(b), min = half(b + 2);
  const std::byte* scales = b + 4;
  const std::byte* qh = b + 16;
  const std::byte* ql = b + 48;
  int is = 0;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < QK_K; j += 64) {
    uint8_t sc, m;
    scale_min_k4(is, scales, sc, m);
    const float d1 = d * sc, m1 = min * m;
    scale_min_k4(is + 1, scales, sc, m);
    const float d2 = d * sc, m2 = min * m;
    for (int l = 0; l < 32; ++l)
      *y++ = d1 * static_cast<float>((u8(ql + l) & 0xF) + (u8(qh + l) & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l)
      *y++ = d2 * static_cast<float>((u8(ql + l) >> 4) + (u8(qh + l) & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

void q6_k(const std::byte* b, float* y) {
  const float d = half(b + 208);
  const std::byte* ql = b;
  const std::byte* qh = b + 128;
  const std::byte* sc = b + 192;
  for (int n = 0; n < QK_K; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((u8(ql + l) & 0xF) | (((u8(qh + l) >> 0) & 3) << 4)) - 32;
      const int q2 = ((u8(ql + l + 32) & 0xF) | (((u8(qh + l) >> 2) & 3) << 4)) - 32;
      const int q3 = ((u8(ql + l) >> 4) | (((u8(qh + l) >> 4) & 3) << 4)) - 32;
      const int q4 = ((u8(ql + l + 32) >> 4) | (((u8(qh + l) >> 6) & 3) << 4)) - 32;
      auto scale = [&](int i) { return static_cast<float>(static_cast<int8_t>(u8(sc + i))); };
      y[l + 0] = d * scale(is + 0) * static_cast<float>(q1);
      y[l + 32] = d * scale(is + 2) * static_cast<float>(q2);
      y[l + 64] = d * scale(is + 4) * static_cast<float>(q3);
      y[l + 96] = d * scale(is + 6) * static_cast<float>(q4);
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

constexpr int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};

void iq4_nl(const std::byte* b, float* y) {
  const float d = half(b);
  for (int j = 0; j < QK / 2; ++j) {
    y[j] = d * static_cast<float>(kIq4nl[u8(b + 2 + j) & 0xF]);
    y[j + QK / 2] = d * static_cast<float>(kIq4nl[u8(b + 2 + j) >> 4]);
  }
}

// E2M1 values doubled; the block scale below is halved to match (ggml's convention).
constexpr int8_t kMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

void mxfp4(const std::byte* b, float* y) {
  const uint32_t e = u8(b);
  const uint32_t bits = e < 2 ? (0x00200000u << e) : ((e - 1) << 23);
  float d;
  std::memcpy(&d, &bits, 4);
  for (int j = 0; j < QK / 2; ++j) {
    y[j] = static_cast<float>(kMxfp4[u8(b + 1 + j) & 0xF]) * d;
    y[j + QK / 2] = static_cast<float>(kMxfp4[u8(b + 1 + j) >> 4]) * d;
  }
}

using BlockFn = void (*)(const std::byte*, float*);

BlockFn block_decoder(WeightType type) {
  switch (type) {
    case WeightType::Q4_0: return q4_0;
    case WeightType::Q4_1: return q4_1;
    case WeightType::Q5_0: return q5_0;
    case WeightType::Q5_1: return q5_1;
    case WeightType::Q8_0: return q8_0;
    case WeightType::Q2_K: return q2_k;
    case WeightType::Q3_K: return q3_k;
    case WeightType::Q4_K: return q4_k;
    case WeightType::Q5_K: return q5_k;
    case WeightType::Q6_K: return q6_k;
    case WeightType::IQ4_NL: return iq4_nl;
    case WeightType::MXFP4: return mxfp4;
    default: return nullptr;
  }
}

template <typename T>
void convert(const std::byte* src, std::span<float> dst) {
  for (size_t i = 0; i < dst.size(); ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(v);
  }
}

// Doubles beyond float's range become infinities (a plain cast would be undefined).
void convert_f64(const std::byte* src, std::span<float> dst) {
  for (size_t i = 0; i < dst.size(); ++i) {
    double v;
    std::memcpy(&v, src + i * 8, 8);
    if (v > std::numeric_limits<float>::max()) dst[i] = std::numeric_limits<float>::infinity();
    else if (v < -std::numeric_limits<float>::max()) dst[i] = -std::numeric_limits<float>::infinity();
    else dst[i] = static_cast<float>(v);
  }
}

template <typename Fn>
void convert_with(const std::byte* src, size_t width, std::span<float> dst, Fn fn) {
  for (size_t i = 0; i < dst.size(); ++i) {
    uint16_t bits = 0;
    std::memcpy(&bits, src + i * width, width);
    dst[i] = fn(bits);
  }
}

}  // namespace

void dequantize(WeightType type, std::span<const std::byte> src, std::span<float> dst) {
  const WeightTypeInfo& info = weight_type_info(type);
  const std::string name(info.name);
  if (!info.to_float) throw Error("dequantize: decoding " + name + " to float is not supported");
  auto need = weight_bytes(type, dst.size());
  if (!need)
    throw Error("dequantize: " + std::to_string(dst.size()) + " elements are not a whole number of " +
                name + " blocks of " + std::to_string(info.block_elements));
  if (*need != src.size())
    throw Error("dequantize: " + std::to_string(dst.size()) + " " + name + " elements take " +
                std::to_string(*need) + " bytes, got " + std::to_string(src.size()));
  const std::byte* p = src.data();
  if (BlockFn fn = block_decoder(type)) {
    for (size_t i = 0; i < dst.size(); i += info.block_elements, p += info.block_bytes)
      fn(p, dst.data() + i);
    return;
  }
  switch (type) {
    case WeightType::BOOL: for (size_t i = 0; i < dst.size(); ++i) dst[i] = u8(p + i) ? 1.0f : 0.0f; return;
    case WeightType::U8: convert<uint8_t>(p, dst); return;
    case WeightType::I8: convert<int8_t>(p, dst); return;
    case WeightType::U16: convert<uint16_t>(p, dst); return;
    case WeightType::I16: convert<int16_t>(p, dst); return;
    case WeightType::U32: convert<uint32_t>(p, dst); return;
    case WeightType::I32: convert<int32_t>(p, dst); return;
    case WeightType::U64: convert<uint64_t>(p, dst); return;
    case WeightType::I64: convert<int64_t>(p, dst); return;
    case WeightType::F32: convert<float>(p, dst); return;
    case WeightType::F64: convert_f64(p, dst); return;
    case WeightType::F16: convert_with(p, 2, dst, [](uint16_t b) { return fp16_to_float(b); }); return;
    case WeightType::BF16: convert_with(p, 2, dst, [](uint16_t b) { return bf16_to_float(b); }); return;
    case WeightType::F8_E4M3:
      convert_with(p, 1, dst, [](uint16_t b) { return f8_e4m3_to_float(static_cast<uint8_t>(b)); });
      return;
    case WeightType::F8_E5M2:
      convert_with(p, 1, dst, [](uint16_t b) { return f8_e5m2_to_float(static_cast<uint8_t>(b)); });
      return;
    default: throw Error("dequantize: decoding " + name + " to float is not supported");
  }
}

std::vector<float> dequantize(WeightType type, std::span<const std::byte> src, uint64_t elements) {
  std::vector<float> out(elements);
  dequantize(type, src, out);
  return out;
}

}  // namespace kiln
