// A few end-to-end values computed by hand (the full differential suite lives in tests/opsuite).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

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

TEST_CASE("argmax of a vocabulary-long row: split into rows, the first maximum still wins") {
  for (int64_t n : {128256, 50000, 16411, 9000}) {  // padded to rows of 1024; 9000: one row
    INFO("length " << n);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(std::sin(0.37 * double(i)));
    v[static_cast<size_t>(n - 1)] = 2.0f;  // a later tie must lose to the first
    v[static_cast<size_t>(n / 3)] = 2.0f;
    v[static_cast<size_t>(n / 5)] = -2.0f;
    Tensor t = Tensor::from_vector(v, {1, n});
    CHECK(t.argmax(1).to_vector<int32_t>() == std::vector<int32_t>{static_cast<int32_t>(n / 3)});
    CHECK(t.argmax(1, true).shape() == Shape{1, 1});
    CHECK(t.reshape({n}).argmin(0).item() == static_cast<double>(n / 5));
  }
}

TEST_CASE("read_begin returns the bytes the tensor held when it was queued") {
  Tensor t = Tensor::from_vector<int32_t>({7, 8, 9}, {3}).contiguous().realize();
  PendingRead first = t.read_begin();
  CHECK(first.valid());
  t.assign(Tensor::from_vector<int32_t>({1, 2, 3}, {3}));  // queued after the read
  PendingRead second = (t * 2).read_begin();             // an unrealized tensor is computed first
  std::vector<unsigned char> a = first.wait(), b = second.wait();
  REQUIRE(a.size() == 12);
  REQUIRE(b.size() == 12);
  int32_t va[3], vb[3];
  std::memcpy(va, a.data(), 12);
  std::memcpy(vb, b.data(), 12);
  CHECK(std::vector<int32_t>(va, va + 3) == std::vector<int32_t>{7, 8, 9});
  CHECK(std::vector<int32_t>(vb, vb + 3) == std::vector<int32_t>{2, 4, 6});
  PendingRead dropped = t.read_begin();  // never waited for: dropped cleanly
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

TEST_CASE("attention over a key ring equals sliding-window attention over all keys") {
  // keys of 40 positions; a ring of 9 rows holds the last 9 of them (position p in row p % 9)
  const int64_t n = 40, R = 9, W = 6, D = 16;
  std::vector<float> k = Tensor::randn({1, 2, n, D}, 11).to_vector<float>();
  std::vector<float> v = Tensor::randn({1, 2, n, D}, 12).to_vector<float>();
  Tensor kf = Tensor::from_vector(k, {1, 2, n, D}), vf = Tensor::from_vector(v, {1, 2, n, D});
  Variable pos("ring_test_pos", 0, n - 3);
  for (int64_t p : {0, 4, 8, 9, 17, 37}) {  // queries p, p+1, p+2: the ring holds up to p + 2
    std::vector<float> kr(2 * R * D, 0.0f), vr(2 * R * D, 0.0f);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t x = std::max<int64_t>(0, p + 3 - R); x < p + 3; ++x)
        for (int64_t d = 0; d < D; ++d) {
          kr[(h * R + x % R) * D + d] = k[(h * n + x) * D + d];
          vr[(h * R + x % R) * D + d] = v[(h * n + x) * D + d];
        }
    Tensor q = Tensor::randn({1, 4, 3, D}, 13 + static_cast<uint64_t>(p));
    nn::AttentionOptions o;
    o.causal = true;
    o.sliding_window = W;
    o.q_offset_var = pos;
    pos.bind(p);
    std::vector<float> want = nn::scaled_dot_product_attention(q, kf, vf, o).to_vector<float>();
    o.ring = true;
    std::vector<float> got =
        nn::scaled_dot_product_attention(q, Tensor::from_vector(kr, {1, 2, R, D}),
                                         Tensor::from_vector(vr, {1, 2, R, D}), o)
            .to_vector<float>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-6));
  }
  nn::AttentionOptions bad;
  bad.causal = true;
  bad.sliding_window = R + 1;
  bad.ring = true;
  Tensor r = Tensor::zeros({1, 1, R, D});
  CHECK_THROWS_WITH(nn::scaled_dot_product_attention(Tensor::zeros({1, 1, 1, D}), r, r, bad),
                    Catch::Contains("key ring of 9 rows"));
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

TEST_CASE(
    "x @ W^T with W stored (out, in): dot-tiled and fallback shapes equal a host computation") {
  // small integer values: every order of summation gives the exact result
  struct Case {
    int64_t m, n, k;
  };
  for (Case c :
       {Case{64, 16, 32}, Case{6, 6, 16}, Case{5, 7, 8}, Case{1, 8, 16}, Case{16, 4, 64}}) {
    std::vector<float> x(static_cast<size_t>(c.m * c.k)), w(static_cast<size_t>(c.n * c.k));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = static_cast<float>(static_cast<int>(i * 7 % 11) - 5);
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = static_cast<float>(static_cast<int>(i * 5 % 13) - 6);
    std::vector<float> want(static_cast<size_t>(c.m * c.n), 0.0f);
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j)
        for (int64_t l = 0; l < c.k; ++l) want[i * c.n + j] += x[i * c.k + l] * w[j * c.k + l];
    Tensor tx = Tensor::from_vector(x, {c.m, c.k});
    INFO(c.m << "x" << c.n << "x" << c.k);
    for (DType wt : {DType::F32, DType::F16}) {
      Tensor tw = Tensor::from_vector(w, {c.n, c.k}).cast(wt).contiguous().realize();
      Tensor y = (tx.reshape({c.m, 1, c.k}) * tw.cast(DType::F32).reshape({1, c.n, c.k})).sum({-1});
      CHECK(y.reshape({c.m, c.n}).to_vector<float>() == want);
    }
    // a weight decoded by bit operations (the block-quantized shape of work): w = (b & 31) - 6
    std::vector<int32_t> bits(w.size());
    for (size_t i = 0; i < w.size(); ++i) bits[i] = static_cast<int32_t>(w[i] + 6) | 0x40;
    Tensor tb = Tensor::from_vector(bits, {c.n, c.k});
    Tensor dec = (tb.bitwise_and(tb.scalar_like(31)) - 6).cast(DType::F32);
    Tensor y = (tx.reshape({c.m, 1, c.k}) * dec.reshape({1, c.n, c.k})).sum({-1});
    CHECK(y.reshape({c.m, c.n}).to_vector<float>() == want);
  }
}

TEST_CASE("assign of a value that reads its own target (an accumulator) is computed first") {
  Tensor acc = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4}).contiguous().realize();
  Tensor x = Tensor::from_vector<float>({10, 20, 30, 40}, {1, 4});
  acc.assign(acc + x);
  CHECK(acc.to_vector<float>() == std::vector<float>{11, 22, 33, 44});
  // a reduce and a reversed read of the target in the same value
  Tensor w = Tensor::from_vector<float>({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, {4, 4});
  acc.assign(acc.flip({1}) + x.matmul(w));
  CHECK(acc.to_vector<float>() == std::vector<float>{54, 53, 52, 51});
}
