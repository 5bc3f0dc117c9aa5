// JIT: after capture, a replay builds no graph, lowers nothing and compiles nothing.
#include <catch2/catch.hpp>

#include <cmath>

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

TEST_CASE("jit capture() records the launches without running them and the first replay computes") {
  Tensor w = Tensor::randn({16, 16}, 5).contiguous().realize();
  Tensor acc = Tensor::zeros({1, 16}).contiguous().realize();
  Jit step([&](const std::vector<Tensor>& in) {
    // an in-place write too: a dry capture must not perform it
    acc.assign(acc + in[0].matmul(w));
    return std::vector<Tensor>{(in[0].matmul(w) * 2.0).contiguous()};
  });
  Tensor x = Tensor::randn({1, 16}, 9).contiguous().realize();
  auto before = runtime_stats();
  step.capture({x});
  auto after = runtime_stats();
  REQUIRE(step.captured());
  CHECK(after.kernels_launched == before.kernels_launched);
  CHECK(step.kernel_count() >= 2);
  CHECK(acc.to_vector<float>() == std::vector<float>(16, 0.0f));  // nothing ran
  std::vector<float> got = step({x})[0].to_vector<float>();
  std::vector<float> ref = (x.matmul(w) * 2.0).to_vector<float>();
  for (size_t i = 0; i < ref.size(); ++i) CHECK(got[i] == Approx(ref[i]).epsilon(1e-5));
  std::vector<float> once = x.matmul(w).to_vector<float>(), a = acc.to_vector<float>();
  for (size_t i = 0; i < once.size(); ++i) CHECK(a[i] == Approx(once[i]).epsilon(1e-5));
  CHECK_THROWS_WITH(step.capture({x}), Catch::Contains("already captured"));
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

TEST_CASE("KV cache write at a symbolic position and decode attention replay") {
  const int64_t ctx = 16, d = 8;
  Tensor kcache = Tensor::zeros({1, 1, ctx, d}).contiguous().realize();
  Tensor vcache = Tensor::zeros({1, 1, ctx, d}).contiguous().realize();
  Variable pos("start_pos", 0, ctx - 1);
  Jit step([&](const std::vector<Tensor>& in) {
    // in[0]: (1, 1, 1, d) — the new token's q = k = v
    kcache.shrink_at(2, pos, 1).assign(in[0]);
    vcache.shrink_at(2, pos, 1).assign(in[0] * 2.0);
    nn::AttentionOptions o;
    o.causal = true;
    o.q_offset_var = pos;
    return std::vector<Tensor>{nn::scaled_dot_product_attention(in[0], kcache, vcache, o)};
  });
  std::vector<std::vector<float>> rows;
  for (int64_t p = 0; p < 6; ++p) {
    pos.bind(p);
    std::vector<float> x(d);
    for (int64_t j = 0; j < d; ++j) x[j] = 0.1f * static_cast<float>((p + 1) * (j + 1) % 7);
    rows.push_back(x);
    auto before = runtime_stats();
    std::vector<float> got = step({Tensor::from_vector(x, {1, 1, 1, d})})[0].to_vector<float>();
    if (p >= 1) CHECK(runtime_stats().kernels_compiled == before.kernels_compiled);
    // reference: softmax over keys 0..p of q.k/sqrt(d), values 2*row
    std::vector<double> w;
    double mx = -1e30;
    for (int64_t k = 0; k <= p; ++k) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += double(x[j]) * rows[k][j];
      s /= std::sqrt(double(d));
      w.push_back(s);
      mx = std::max(mx, s);
    }
    double z = 0;
    for (auto& v : w) z += (v = std::exp(v - mx));
    for (int64_t j = 0; j < d; ++j) {
      double ref = 0;
      for (int64_t k = 0; k <= p; ++k) ref += w[k] / z * 2.0 * rows[k][j];
      CHECK(got[j] == Approx(ref).margin(1e-5));
    }
  }
  // the cache holds every written row
  auto kc = kcache.to_vector<float>();
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t j = 0; j < d; ++j) CHECK(kc[p * d + j] == rows[p][j]);
}

TEST_CASE("jit keeps tensors uploaded from the host during capture (constants, not intermediates)") {
  // c is made inside the captured function (like a RoPE frequency table): its memory must
  // not be handed to an intermediate whose lifetime ends before c is first read
  Jit f([&](const std::vector<Tensor>& in) {
    Tensor a = (in[0] * 2.0).contiguous();
    Tensor b = (a + 1.0).contiguous();
    Tensor c = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
    return std::vector<Tensor>{b + c};
  });
  for (int i = 0; i < 3; ++i) {
    Tensor x = Tensor::from_vector<float>({1, 1, 1, 1}, {4});
    CHECK(f({x})[0].to_vector<float>() == std::vector<float>{4, 5, 6, 7});
  }
}
