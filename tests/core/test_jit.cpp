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
