// kiln::WeightType — how a stored tensor's elements are encoded in a model file: a plain
// element type (the kiln_dtype ones), an 8-bit float, or a GGML block-quantized type. Block
// types store `block_elements` values in `block_bytes` bytes (layouts in quant.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "kiln/dtype.h"

namespace kiln {

enum class WeightType : uint8_t {
  // Plain element types: one element per "block"; map 1:1 onto kiln_dtype.
  BOOL, U8, I8, U16, I16, U32, I32, U64, I64, F16, BF16, F32, F64,
  // 8-bit floats (OCP FP8: E4M3 "fn" without infinities, and E5M2).
  F8_E4M3, F8_E5M2,
  // GGML block-quantized types.
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
  IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0,
};

struct WeightTypeInfo {
  std::string_view name;    // "F32", "Q4_K", ... (safetensors and GGUF spellings)
  uint32_t block_elements;  // elements per block; 1 for plain types and F8
  uint32_t block_bytes;     // bytes per block
  kiln_dtype dtype;         // the plain dtype, or KILN_DTYPE_VOID
  bool to_float;            // kiln::dequantize (quant.h) can decode it
};

const WeightTypeInfo& weight_type_info(WeightType type);
inline std::string_view weight_type_name(WeightType type) { return weight_type_info(type).name; }
std::optional<WeightType> weight_type_from_name(std::string_view name);
inline bool is_plain(WeightType type) { return weight_type_info(type).dtype != KILN_DTYPE_VOID; }
// The WeightType of a plain dtype (KILN_DTYPE_VOID and unknown values have none).
std::optional<WeightType> weight_type_from_dtype(kiln_dtype dtype);

// Bytes taken by `elements` values of `type`, or nullopt when `elements` is not a whole number
// of blocks or the byte count would overflow.
std::optional<uint64_t> weight_bytes(WeightType type, uint64_t elements);

}  // namespace kiln
