// Stored weight encodings and their reference decoding to float.
//
// The block structs below are the exact byte layouts GGML writes (little-endian; `uint16_t`
// scale fields hold IEEE half bits). Device code can read quantized weights straight from a
// mapping with these layouts: one block of `block_elements` values is `block_bytes` bytes
// (weight_type.h), rows are whole blocks, blocks follow each other without padding.
// File data is not necessarily aligned for these structs: read them with memcpy.
//
// kiln::dequantize reproduces ggml's dequantize_row_* (ggml-quants.c) bit for bit, including
// the order of the float operations; tests compare it with gguf-py's reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "kiln/weight_type.h"

namespace kiln {

namespace quant {

inline constexpr int QK = 32;     // elements per block of the _0/_1 types and IQ4_NL, MXFP4
inline constexpr int QK_K = 256;  // elements per "K" super-block

// value = d * (q - 8); q: low nibbles are elements 0..15, high nibbles 16..31
struct BlockQ4_0 { uint16_t d; uint8_t qs[QK / 2]; };
// value = d * q + m
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[QK / 2]; };
// value = d * (q - 16); qh bit j is bit 4 of element j
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; };
// value = d * q + m
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK / 2]; };
// value = d * q
struct BlockQ8_0 { uint16_t d; int8_t qs[QK]; };
// 16 sub-blocks of 16: scales hold a 4-bit scale (low) and 4-bit min (high) each
struct BlockQ2_K { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; };
// 16 sub-blocks of 16 with 6-bit signed scales; hmask holds the third bit
struct BlockQ3_K { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; };
// 8 sub-blocks of 32 with 6-bit scales and mins packed in `scales`
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; };
// 16 sub-blocks of 16 with 8-bit signed scales
struct BlockQ6_K { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; };
// value = d * kvalues_iq4nl[q]
struct BlockIQ4_NL { uint16_t d; uint8_t qs[QK / 2]; };
// value = 2^(e-128) * e2m1[q] (OCP microscaling FP4; e is an E8M0 exponent)
struct BlockMXFP4 { uint8_t e; uint8_t qs[QK / 2]; };

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 &&
              sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ2_K) == 84 &&
              sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 &&
              sizeof(BlockQ6_K) == 210 && sizeof(BlockIQ4_NL) == 18 && sizeof(BlockMXFP4) == 17,
              "block layouts must match ggml byte for byte");

}  // namespace quant

// Exact scalar conversions (NaN stays NaN, subnormals are kept).
float fp16_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);
float f8_e4m3_to_float(uint8_t bits);  // OCP E4M3FN: bias 7, no infinities, S.1111.111 is NaN
float f8_e5m2_to_float(uint8_t bits);  // OCP E5M2: bias 15, IEEE-like

// Decodes dst.size() values of `type` from src (which must hold exactly that many) into dst.
// Plain integer types convert to the nearest float. Throws kiln::Error for a type that
// weight_type_info(type).to_float says cannot be decoded, or when the sizes disagree.
void dequantize(WeightType type, std::span<const std::byte> src, std::span<float> dst);
std::vector<float> dequantize(WeightType type, std::span<const std::byte> src, uint64_t elements);

}  // namespace kiln
