// A few end-to-end values computed by hand (the full differential suite lives in tests/opsuite).
#include <catch2/catch.hpp>

#include <cmath>

#include "kiln/nn.h"
#include "kiln/tensor.h"

using namespace kiln;

TEST_CASE("matmul of small integers-valued floats is exact") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector<float>({7, 8, 9, 10, 11, 12}, {3, 2});
  auto r = a.matmul(b).to_vector<float>();
  REQUIRE(r == std::vector<float>{58, 64, 139, 154});
}

TEST_CASE("views: permute, pad, flip, stepped slice") {
  Tensor a = Tensor::arange(6, DType::F32).reshape({2, 3});
  CHECK(a.transpose().to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(a.pad({{1, 0}, {0, 1}}, -1).to_vector<float>() ==
        std::vector<float>{-1, -1, -1, -1, 0, 1, 2, -1, 3, 4, 5, -1});
  CHECK(a.flip({1}).to_vector<float>() == std::vector<float>{2, 1, 0, 5, 4, 3});
  Tensor r = Tensor::arange(10, DType::I32);
  CHECK(r.slice(0, 1, 8, 3).to_vector<int32_t>() == std::vector<int32_t>{1, 4, 7});
  CHECK(r.slice(0, std::nullopt, std::nullopt, -4).to_vector<int32_t>() == std::vector<int32_t>{9, 5, 1});
}

TEST_CASE("reductions and argmax") {
  Tensor a = Tensor::from_vector<float>({3, 1, 4, 1, 5, 9, 2, 6}, {2, 4});
  CHECK(a.sum({1}).to_vector<float>() == std::vector<float>{9, 22});
  CHECK(a.max({0}).to_vector<float>() == std::vector<float>{5, 9, 4, 6});
  CHECK(a.argmax(1).to_vector<int32_t>() == std::vector<int32_t>{2, 1});
  CHECK(a.min().item() == 1);
}

TEST_CASE("assign into a slice at a symbolic-free offset (KV cache write)") {
  Tensor cache = Tensor::zeros({4, 3}).contiguous().realize();
  cache.slice(0, 2, 3).assign(Tensor::from_vector<float>({1, 2, 3}, {1, 3}));
  CHECK(cache.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0});
}

TEST_CASE("random numbers are reproducible and roughly uniform") {
  auto a = Tensor::rand({10000}, 42).to_vector<float>();
  auto b = Tensor::rand({10000}, 42).to_vector<float>();
  REQUIRE(a == b);
  double mean = 0;
  for (float v : a) {
    REQUIRE(v >= 0.0f);
    REQUIRE(v < 1.0f);
    mean += v;
  }
  CHECK(std::abs(mean / a.size() - 0.5) < 0.02);
}

TEST_CASE("attention with a causal mask matches a hand computation") {
  // one head, two positions, D=1: q=k=v=[1,2]
  Tensor q = Tensor::from_vector<float>({1, 2}, {1, 1, 2, 1});
  nn::AttentionOptions o;
  o.causal = true;
  auto r = nn::scaled_dot_product_attention(q, q, q, o).to_vector<float>();
  double w0 = std::exp(2.0 * 1), w1 = std::exp(2.0 * 2);
  CHECK(r[0] == Approx(1.0));
  CHECK(r[1] == Approx((w0 * 1 + w1 * 2) / (w0 + w1)));
}

TEST_CASE("reinterpret: Q8_0-style blocks read as f16 scales and i8 quants, dequantized in a kernel") {
  // two blocks of (f16 scale, 4 x i8)
  std::vector<uint8_t> raw;
  auto put_block = [&](float scale, std::vector<int8_t> q) {
    uint16_t h = f32_to_f16(scale);
    raw.push_back(static_cast<uint8_t>(h & 0xff));
    raw.push_back(static_cast<uint8_t>(h >> 8));
    for (auto v : q) raw.push_back(static_cast<uint8_t>(v));
  };
  put_block(0.5f, {1, -2, 3, -4});
  put_block(2.0f, {10, 0, -1, 7});
  Tensor bytes = Tensor::from_vector(raw, {2, 6}).realize();
  Tensor scales = bytes.reinterpret(DType::U16, {2, 3}).slice(1, 0, 1).bitcast(DType::F16);
  Tensor quants = bytes.slice(1, 2, 6).bitcast(DType::I8);
  auto w = (quants.cast(DType::F32) * scales.cast(DType::F32)).to_vector<float>();
  CHECK(w == std::vector<float>{0.5f, -1, 1.5f, -2, 20, 0, -2, 14});
  CHECK_THROWS_AS(bytes.reinterpret(DType::F32, {5}), Error);
}
