#include "kiln/weight_type.h"

#include <array>

namespace kiln {

namespace {

constexpr size_t kCount = static_cast<size_t>(WeightType::Q1_0) + 1;

// Block sizes are those of ggml (ggml.c type_traits); keep in the enum's order.
constexpr std::array<WeightTypeInfo, kCount> kInfo = {{
    {"BOOL", 1, 1, KILN_DTYPE_BOOL, true},
    {"U8", 1, 1, KILN_DTYPE_U8, true},
    {"I8", 1, 1, KILN_DTYPE_I8, true},
    {"U16", 1, 2, KILN_DTYPE_U16, true},
    {"I16", 1, 2, KILN_DTYPE_I16, true},
    {"U32", 1, 4, KILN_DTYPE_U32, true},
    {"I32", 1, 4, KILN_DTYPE_I32, true},
    {"U64", 1, 8, KILN_DTYPE_U64, true},
    {"I64", 1, 8, KILN_DTYPE_I64, true},
    {"F16", 1, 2, KILN_DTYPE_F16, true},
    {"BF16", 1, 2, KILN_DTYPE_BF16, true},
    {"F32", 1, 4, KILN_DTYPE_F32, true},
    {"F64", 1, 8, KILN_DTYPE_F64, true},
    {"F8_E4M3", 1, 1, KILN_DTYPE_VOID, true},
    {"F8_E5M2", 1, 1, KILN_DTYPE_VOID, true},
    {"Q4_0", 32, 18, KILN_DTYPE_VOID, true},
    {"Q4_1", 32, 20, KILN_DTYPE_VOID, true},
    {"Q5_0", 32, 22, KILN_DTYPE_VOID, true},
    {"Q5_1", 32, 24, KILN_DTYPE_VOID, true},
    {"Q8_0", 32, 34, KILN_DTYPE_VOID, true},
    {"Q8_1", 32, 36, KILN_DTYPE_VOID, false},
    {"Q2_K", 256, 84, KILN_DTYPE_VOID, true},
    {"Q3_K", 256, 110, KILN_DTYPE_VOID, true},
    {"Q4_K", 256, 144, KILN_DTYPE_VOID, true},
    {"Q5_K", 256, 176, KILN_DTYPE_VOID, true},
    {"Q6_K", 256, 210, KILN_DTYPE_VOID, true},
    {"Q8_K", 256, 292, KILN_DTYPE_VOID, false},
    {"IQ2_XXS", 256, 66, KILN_DTYPE_VOID, false},
    {"IQ2_XS", 256, 74, KILN_DTYPE_VOID, false},
    {"IQ3_XXS", 256, 98, KILN_DTYPE_VOID, false},
    {"IQ1_S", 256, 50, KILN_DTYPE_VOID, false},
    {"IQ4_NL", 32, 18, KILN_DTYPE_VOID, true},
    {"IQ3_S", 256, 110, KILN_DTYPE_VOID, false},
    {"IQ2_S", 256, 82, KILN_DTYPE_VOID, false},
    {"IQ4_XS", 256, 136, KILN_DTYPE_VOID, false},
    {"IQ1_M", 256, 56, KILN_DTYPE_VOID, false},
    {"TQ1_0", 256, 54, KILN_DTYPE_VOID, false},
    {"TQ2_0", 256, 66, KILN_DTYPE_VOID, false},
    {"MXFP4", 32, 17, KILN_DTYPE_VOID, true},
    {"NVFP4", 64, 36, KILN_DTYPE_VOID, false},
    {"Q1_0", 128, 18, KILN_DTYPE_VOID, false},
}};

}  // namespace

const WeightTypeInfo& weight_type_info(WeightType type) {
  return kInfo[static_cast<size_t>(type)];
}

std::optional<WeightType> weight_type_from_name(std::string_view name) {
  for (size_t i = 0; i < kCount; ++i)
    if (kInfo[i].name == name) return static_cast<WeightType>(i);
  return std::nullopt;
}

std::optional<WeightType> weight_type_from_dtype(kiln_dtype dtype) {
  if (dtype == KILN_DTYPE_VOID) return std::nullopt;
  for (size_t i = 0; i < kCount; ++i)
    if (kInfo[i].dtype == dtype) return static_cast<WeightType>(i);
  return std::nullopt;
}

std::optional<uint64_t> weight_bytes(WeightType type, uint64_t elements) {
  const WeightTypeInfo& info = weight_type_info(type);
  if (elements % info.block_elements != 0) return std::nullopt;
  uint64_t blocks = elements / info.block_elements;
  if (blocks > UINT64_MAX / info.block_bytes) return std::nullopt;
  return blocks * info.block_bytes;
}

}  // namespace kiln
