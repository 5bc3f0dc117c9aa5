// The llama plugin's generated block decoding (quant_matrix.cpp) against kiln::dequantize,
// which reproduces ggml's dequantize_row_* and is itself checked against gguf-py: the full
// dequantization bit for bit, and the decode GEMV that reads the blocks in place within float
// rounding of a double-precision dot product over the reference values.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "kiln/dtypes.h"
#include "kiln/quant.h"
#include "weights.h"

using namespace kiln;

namespace {

// Random blocks of `type` whose f16 scale fields are set to finite values in [lo, hi).
std::vector<uint8_t> random_blocks(WeightType type, int64_t rows, int64_t cols, uint32_t seed) {
  const WeightTypeInfo& info = weight_type_info(type);
  const int64_t blocks = rows * cols / info.block_elements;
  std::vector<uint8_t> data(static_cast<size_t>(blocks * info.block_bytes));
  std::mt19937 rng(seed);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  auto put_half = [&](int64_t block, int64_t offset, float v) {
    uint16_t h = f32_to_f16(v);
    std::memcpy(&data[static_cast<size_t>(block * info.block_bytes + offset)], &h, 2);
  };
  for (int64_t b = 0; b < blocks; ++b) {
    switch (type) {
      case WeightType::Q8_0:
      case WeightType::Q4_0:
        put_half(b, 0, scale(rng));
        break;
      case WeightType::Q4_1:
        put_half(b, 0, scale(rng));
        put_half(b, 2, -scale(rng));
        break;
      case WeightType::Q6_K:
        put_half(b, 208, scale(rng));
        break;
      case WeightType::Q4_K:
        put_half(b, 0, scale(rng));
        put_half(b, 2, scale(rng));
        break;
      default:
        FAIL("no scale layout for this type");
    }
  }
  return data;
}

}  // namespace

TEST_CASE("llama plugin: generated block decoding and the in-place GEMV match kiln::dequantize") {
  const int64_t rows = 12, cols = 768;
  for (WeightType type :
       {WeightType::Q8_0, WeightType::Q4_0, WeightType::Q4_1, WeightType::Q4_K, WeightType::Q6_K}) {
    INFO(weight_type_name(type));
    REQUIRE(llama::kept_quantized(type));
    std::vector<uint8_t> data = random_blocks(type, rows, cols, 7);
    std::vector<float> ref = dequantize(type, std::as_bytes(std::span(data)), rows * cols);
    Tensor bytes =
        Tensor::from_host(data.data(), data.size(), DType::U8, {static_cast<int64_t>(data.size())});
    llama::Matrix m = llama::quantized_matrix(bytes, type, rows, cols);
    CHECK(m.w.to_vector<float>() == ref);
    CHECK(llama::dequantized_matrix(bytes, type, rows, cols).to_vector<float>() ==
          ref);  // no tables

    std::vector<float> x(static_cast<size_t>(cols));
    std::mt19937 rng(3);
    std::normal_distribution<float> nd;
    for (float& v : x) v = nd(rng);
    std::vector<float> got =
        llama::quantized_matmul(Tensor::from_vector(x, {1, cols}), m).to_vector<float>();
    REQUIRE(got.size() == static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      double want = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        want += double(ref[r * cols + c]) * x[c];
        mag += std::fabs(double(ref[r * cols + c]) * x[c]);
      }
      INFO("row " << r);
      CHECK(std::fabs(got[r] - want) <= 1e-5 * mag + 1e-6);
    }
  }
}

TEST_CASE("llama plugin: a quantized matrix whose rows are not whole blocks is refused by name") {
  Tensor bytes = Tensor::zeros({210}, DType::U8);
  CHECK_THROWS_WITH(llama::dequantized_matrix(bytes, WeightType::Q6_K, 1, 128),
                    Catch::Contains("128 columns are not whole blocks of 256 (Q6_K)"));
}
