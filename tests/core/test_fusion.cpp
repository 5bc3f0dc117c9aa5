// The scheduler's fusion contract, counted in kernel launches.
#include <catch2/catch.hpp>

#include "kiln/device_runtime.h"
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

TEST_CASE("softmax takes at most 3 kernels") {
  Tensor x = input({16, 100}, 6);
  CHECK(kernels_for(x.softmax(-1)) <= 3);
}

TEST_CASE("RMSNorm takes at most 2 kernels") {
  Tensor x = input({8, 256}, 7), w = input({256}, 8);
  CHECK(kernels_for(nn::rms_norm(x, w, 1e-5)) <= 2);
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
