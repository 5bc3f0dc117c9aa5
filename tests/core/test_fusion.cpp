// The scheduler's fusion contract, counted in kernel launches.
#include <catch2/catch.hpp>

#include "kiln/device_runtime.h"
#include "kiln/kv_cache.h"
#include "kiln/nn.h"
#include "kiln/tensor.h"

using namespace kiln;

namespace {
Tensor input(const Shape& s, uint64_t seed) { return Tensor::randn(s, seed).contiguous().realize(); }

uint64_t kernels_for(Tensor t) {
  uint64_t before = runtime_stats().kernels_launched;
  t.realize();
  return runtime_stats().kernels_launched - before;
}
}  // namespace

TEST_CASE("(a+b)*c is one kernel") {
  Tensor a = input({64, 32}, 1), b = input({64, 32}, 2), c = input({64, 32}, 3);
  CHECK(kernels_for((a + b) * c) == 1);
}

TEST_CASE("x.sum(1) + y is one kernel") {
  Tensor x = input({64, 32}, 4), y = input({64}, 5);
  CHECK(kernels_for(x.sum({1}) + y) == 1);
}

TEST_CASE("softmax is two row kernels (the max, then the sum and the division)") {
  Tensor x = input({16, 100}, 6);
  CHECK(kernels_for(x.softmax(-1)) == 2);
}

TEST_CASE("RMSNorm is one row kernel and a row reduce seen other than broadcast back stays apart") {
  Tensor x = input({8, 256}, 7), w = input({256}, 8);
  CHECK(kernels_for(nn::rms_norm(x, w, 1e-5)) == 1);
  // the normalized rows feed a matmul: the norm is one kernel, the matmul another
  Tensor m = input({256, 16}, 12);
  CHECK(kernels_for(nn::rms_norm(x, w, 1e-5).matmul(m)) == 2);
  // the broadcast lands in a transposed kernel: rows are not the kernel's rows
  Tensor t = (x - x.mean({-1}, true)).transpose(0, 1).contiguous();
  CHECK(kernels_for(t) == 2);
  // a sum broadcast back over rows longer than a row kernel takes: reduce, then elementwise
  Tensor big = input({2, 40000}, 13), other = input({2, 40000}, 14);
  CHECK(kernels_for(big / big.sum({-1}, true)) == kernels_for(other.sum({-1}, true)) + 1);
}

TEST_CASE("matmul + bias + SiLU is one kernel") {
  Tensor x = input({8, 64}, 9), w = input({64, 48}, 10), b = input({48}, 11);
  CHECK(kernels_for((x.matmul(w) + b).silu()) == 1);
}

TEST_CASE("an embedding lookup is one kernel (gather as indexed loads)") {
  Tensor table = input({1000, 16}, 12);
  std::vector<int32_t> ids = {5, 999, 0, 17};
  Tensor i = Tensor::from_vector(ids, {4}).realize();
  Tensor e = table.embedding(i);
  CHECK(kernels_for(e) == 1);
  auto got = e.to_vector<float>();
  auto t = table.to_vector<float>();
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 16; ++c) REQUIRE(got[r * 16 + c] == t[ids[r] * 16 + c]);
}

TEST_CASE(
    "a KV cache write is one kernel for keys and values and reads back where it was written") {
  nn::KVCache cache({{2, 4, std::nullopt}, {2, 4, 3}}, 1, 8, 2);
  Variable start("kv_test_start", 0, 7);
  for (size_t layer = 0; layer < 2; ++layer) {
    start.bind(5);
    cache.set_position(5, 2);
    Tensor k = Tensor::arange(16, DType::F32).reshape({1, 2, 2, 4});
    Tensor v = k + 100.0;
    uint64_t before = runtime_stats().kernels_launched;
    cache.write(layer, 0, start, k, v);
    // a ring layer writes its two offsets (position and wrap)
    CHECK(runtime_stats().kernels_launched - before == (layer == 0 ? 1u : 2u));
    std::vector<float> keys = cache.keys(layer, 0).contiguous().to_vector<float>();
    std::vector<float> values = cache.values(layer, 0).contiguous().to_vector<float>();
    const int64_t rows = cache.positions(layer);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t p = 0; p < 2; ++p)
        for (int64_t d = 0; d < 4; ++d) {
          int64_t row = (5 + p) % rows;
          float want = float(h * 8 + p * 4 + d);
          CHECK(keys[(h * rows + row) * 4 + d] == want);
          CHECK(values[(h * rows + row) * 4 + d] == want + 100);
        }
  }
}

TEST_CASE("a decode step's K/V write in its attention kernel matches the write, then attention") {
  // rep 2 (the CPU's vectorized attention) and rep 9 (its scalar form)
  for (int64_t heads : {4, 18}) {
    nn::KVCache apart({{2, 8, std::nullopt}}, 1, 16, 1), fused({{2, 8, std::nullopt}}, 1, 16, 1);
    Variable start("kv_fused_start_" + std::to_string(heads), 0, 15);
    for (int64_t p = 0; p < 6; ++p) {
      start.bind(p);
      Tensor q = Tensor::randn({1, heads, 1, 8}, 200 + uint64_t(p)).realize();
      Tensor k = Tensor::randn({1, 2, 1, 8}, 300 + uint64_t(p)).realize();
      Tensor v = Tensor::randn({1, 2, 1, 8}, 400 + uint64_t(p)).realize();
      apart.set_position(p, 1);
      fused.set_position(p, 1);
      apart.write(0, 0, start, k, v);
      std::vector<float> want = apart.attend(0, 0, start, q).to_vector<float>();
      const uint64_t before = runtime_stats().kernels_launched;
      std::vector<float> got = fused.write_and_attend(0, 0, start, q, k, v).to_vector<float>();
      CHECK(runtime_stats().kernels_launched - before == 1);
      REQUIRE(got.size() == want.size());
      for (size_t x = 0; x < got.size(); ++x) CHECK(got[x] == Approx(want[x]).margin(1e-6));
    }
    // every row the steps wrote, keys and values, as write() left them
    CHECK(fused.keys(0, 0).contiguous().to_vector<float>() ==
          apart.keys(0, 0).contiguous().to_vector<float>());
    CHECK(fused.values(0, 0).contiguous().to_vector<float>() ==
          apart.values(0, 0).contiguous().to_vector<float>());
  }
}

TEST_CASE("attention's K/V write: bad rows, a ring or computed k are refused by name") {
  Tensor q = Tensor::randn({1, 4, 1, 8}, 1).realize();
  Tensor k = Tensor::zeros({1, 2, 16, 8}, DType::F32).contiguous().realize();
  Tensor v = Tensor::zeros({1, 2, 16, 8}, DType::F32).contiguous().realize();
  nn::AttentionOptions o;
  o.causal = true;
  o.q_offset = 3;
  o.write_k = Tensor::randn({1, 2, 1, 8}, 2);
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(q, k, v, o),
                    Catch::Contains("needs both write_k and write_v"));
  o.write_v = Tensor::randn({1, 2, 2, 8}, 3);
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(q, k, v, o), Catch::Contains("do not fit"));
  o.write_v = Tensor::randn({1, 2, 1, 8}, 3);
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(q, k + 1.0, v, o),
                    Catch::Contains("realized memory"));
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(Tensor::randn({1, 4, 2, 8}, 4), k, v, o),
                    Catch::Contains("one query row"));
  nn::AttentionOptions ring = o;
  ring.sliding_window = 4;
  ring.ring = true;
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(q, k, v, ring), Catch::Contains("key ring"));
  CHECK_NOTHROW(nn::scaled_dot_product_attention(q, k, v, o).realize());
  CHECK(k.to_vector<float>()[3 * 8] == Approx(o.write_k.to_vector<float>()[0]));
}
