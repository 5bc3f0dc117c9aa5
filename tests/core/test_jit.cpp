// JIT: after capture, a replay builds no graph, lowers nothing and compiles nothing.
#include <catch2/catch.hpp>

#include "kiln/device_runtime.h"
#include "kiln/jit.h"
#include "kiln/nn.h"
#include "kiln/tensor.h"

using namespace kiln;

TEST_CASE("jit replay reuses captured kernels with new inputs and variables") {
  Tensor w = Tensor::randn({32, 32}, 3).contiguous().realize();
  Tensor cache = Tensor::zeros({8, 32}).contiguous().realize();
  Variable pos("pos", 0, 7);
  Jit step([&](const std::vector<Tensor>& in) {
    Tensor h = nn::rms_norm(in[0].matmul(w), Tensor(), 1e-6);
    Tensor p = Tensor::from_variable(pos).cast(DType::F32);
    return std::vector<Tensor>{(h + p).sum({1})};
  });
  for (int i = 0; i < 4; ++i) {
    pos.bind(i);
    Tensor x = Tensor::randn({1, 32}, 100 + i).contiguous().realize();
    auto before = runtime_stats();
    Tensor got = step({x})[0];
    auto after = runtime_stats();
    std::vector<float> v = got.to_vector<float>();
    // reference computed without the jit
    Tensor ref = (nn::rms_norm(x.matmul(w), Tensor(), 1e-6) + double(i)).sum({1});
    CHECK(v[0] == Approx(ref.to_vector<float>()[0]).epsilon(1e-4));
    if (i >= 1) {
      REQUIRE(step.captured());
      CHECK(after.schedules_built == before.schedules_built);
      CHECK(after.kernels_lowered == before.kernels_lowered);
      CHECK(after.kernels_compiled == before.kernels_compiled);
      CHECK(after.graphs_replayed == before.graphs_replayed + 1);
    }
  }
}

TEST_CASE("jit plans intermediate memory by lifetime") {
  Tensor x = Tensor::randn({256}, 1).contiguous().realize();
  Jit chain([&](const std::vector<Tensor>& in) {
    Tensor t = in[0];
    for (int i = 0; i < 8; ++i) t = (t * 1.5 + 1.0).contiguous();
    return std::vector<Tensor>{t};
  });
  std::vector<float> first = chain({x})[0].to_vector<float>();
  // eight 1 KiB intermediates, each dead after the next kernel: two allocations suffice
  CHECK(chain.arena_bytes() <= 2 * 256 * 4);
  std::vector<float> again = chain({x})[0].to_vector<float>();
  CHECK(first == again);
  std::vector<float> ref = x.to_vector<float>();
  for (auto& v : ref)
    for (int i = 0; i < 8; ++i) v = v * 1.5f + 1.0f;
  for (size_t i = 0; i < ref.size(); ++i) CHECK(again[i] == Approx(ref[i]).epsilon(1e-5));
}
