// Reference composite ops: matmul, softmax, scans, indexing, norms, conv, pooling, attention.
#include <catch2/catch.hpp>
#include <cmath>

#include "reference/reference.h"

using namespace kiln;
using namespace kiln::ref;

TEST_CASE("reference matmul", "[reference]") {
  NDArray a(DType::F32, {2, 2}, {1, 2, 3, 4}), b(DType::F32, {2, 2}, {5, 6, 7, 8});
  CHECK(matmul(a, b).data == std::vector<double>{19, 22, 43, 50});
  NDArray v(DType::F32, {2}, {1, 1});
  CHECK(matmul(v, b).shape == Shape{2});
  CHECK(matmul(v, b).data == std::vector<double>{12, 14});
  CHECK(matmul(a, v).data == std::vector<double>{3, 7});
  CHECK(matmul(v, v).shape == Shape{});
  NDArray batch(DType::F32, {3, 1, 2, 2});
  CHECK(matmul(batch, NDArray(DType::F32, {4, 2, 5})).shape == Shape{3, 4, 2, 5});
  try {
    matmul(NDArray(DType::F32, {2, 3}), NDArray(DType::F32, {4, 5}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("(2, 3)") != std::string::npos);
  }
  NDArray m = matmul(NDArray(DType::I8, {1, 2}, {100, 100}), NDArray(DType::I8, {2, 1}, {2, 1}));
  CHECK(m.data == std::vector<double>{44});  // 300 wraps in i8
  CHECK(abs_matmul(NDArray(DType::F32, {1, 2}, {-1, 2}), NDArray(DType::F32, {2, 1}, {3, -4}))
            .data == std::vector<double>{11});
  NDArray l = linear(NDArray(DType::F32, {1, 2}, {1, 2}), NDArray(DType::F32, {3, 2}, {1, 0, 0, 1, 1, 1}),
                     nullptr);
  CHECK(l.data == std::vector<double>{1, 2, 3});
  NDArray bias(DType::F32, {3}, {1, 1, 1});
  CHECK(linear(NDArray(DType::F32, {1, 2}, {1, 2}), NDArray(DType::F32, {3, 2}, {1, 0, 0, 1, 1, 1}),
               &bias).data == std::vector<double>{2, 3, 4});
}

TEST_CASE("reference softmax, cumsum, topk", "[reference]") {
  NDArray a(DType::F32, {2, 2}, {0, std::log(3.0), 1, 1});
  NDArray s = softmax(a, -1);
  CHECK(s.data[0] == Approx(0.25));
  CHECK(s.data[1] == Approx(0.75));
  CHECK(s.data[2] == Approx(0.5));
  NDArray l = log_softmax(a, 1);
  CHECK(l.data[3] == Approx(std::log(0.5)));
  NDArray c = cumsum(NDArray(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6}), 1);
  CHECK(c.data == std::vector<double>{1, 3, 6, 4, 9, 15});
  CHECK(cumsum(NDArray(DType::I32, {2, 3}, {1, 2, 3, 4, 5, 6}), 0).data ==
        std::vector<double>{1, 2, 3, 5, 7, 9});
  auto [vals, idx] = topk(NDArray(DType::F32, {4}, {1, 3, 3, 2}), 3, 0);
  CHECK(vals.data == std::vector<double>{3, 3, 2});
  CHECK(idx.data == std::vector<double>{1, 2, 3});
  CHECK(idx.dtype == DType::I32);
  auto [v2, i2] = topk(NDArray(DType::F32, {2, 2}, {1, 2, 4, 3}), 1, 0);
  CHECK(v2.data == std::vector<double>{4, 3});
  CHECK(i2.data == std::vector<double>{1, 1});
  CHECK_THROWS_AS(topk(NDArray(DType::F32, {4}), 5, 0), Error);
}

TEST_CASE("reference gather and embedding", "[reference]") {
  NDArray t(DType::F32, {2, 2}, {1, 2, 3, 4});
  NDArray g = gather(t, 1, NDArray(DType::I32, {2, 2}, {0, 0, 1, 0}));
  CHECK(g.data == std::vector<double>{1, 1, 4, 3});
  CHECK(gather(t, 0, NDArray(DType::I64, {1, 2}, {1, 0})).data == std::vector<double>{3, 2});
  CHECK_THROWS_AS(gather(t, 0, NDArray(DType::I32, {1, 2}, {2, 0})), Error);
  NDArray table(DType::F32, {3, 2}, {0, 1, 10, 11, 20, 21});
  NDArray e = embedding(table, NDArray(DType::I32, {2, 2}, {2, 0, 1, 1}));
  CHECK(e.shape == Shape{2, 2, 2});
  CHECK(e.data == std::vector<double>{20, 21, 0, 1, 10, 11, 10, 11});
  CHECK_THROWS_AS(embedding(table, NDArray(DType::I32, {1}, {3})), Error);
}

TEST_CASE("reference norms", "[reference]") {
  NDArray x(DType::F32, {1, 3}, {1, 2, 3});
  NDArray ln = layer_norm(x, nullptr, nullptr, 0);
  CHECK(ln.data[0] == Approx(-std::sqrt(1.5)));
  CHECK(ln.data[1] == Approx(0).margin(1e-12));
  NDArray w(DType::F32, {3}, {2, 2, 2}), b(DType::F32, {3}, {1, 1, 1});
  CHECK(layer_norm(x, &w, &b, 0).data[2] == Approx(1 + 2 * std::sqrt(1.5)));
  NDArray r = rms_norm(NDArray(DType::F32, {2}, {3, 4}), nullptr, 0);
  CHECK(r.data[0] == Approx(3 / std::sqrt(12.5)));
  // group norm: 2 groups of 2 channels x 1 position.
  NDArray g = group_norm(NDArray(DType::F32, {1, 4, 1}, {1, 3, 10, 10}), 2, nullptr, nullptr, 1e-12);
  CHECK(g.data[0] == Approx(-1));
  CHECK(g.data[1] == Approx(1));
  CHECK(g.data[2] == 0);
  CHECK_THROWS_AS(group_norm(NDArray(DType::F32, {1, 4, 1}), 3, nullptr, nullptr, 0), Error);
}

TEST_CASE("reference convolution", "[reference]") {
  NDArray x(DType::F32, {1, 1, 5}, {1, 2, 3, 4, 5}), w(DType::F32, {1, 1, 3}, {1, 0, -1});
  ConvParams p;
  p.padding = {1};
  CHECK(conv(x, w, nullptr, p).data == std::vector<double>{-2, -2, -2, -2, 4});
  p.stride = {2};
  p.dilation = {2};
  CHECK(conv(x, w, nullptr, p).data == std::vector<double>{-4, 2});
  // Two groups: each output channel reads only its own input channel.
  NDArray x2(DType::F32, {1, 2, 2}, {1, 2, 3, 4}), w2(DType::F32, {2, 1, 1}, {10, 100});
  NDArray b2(DType::F32, {2}, {0.5, 0.25});
  ConvParams g;
  g.groups = 2;
  CHECK(conv(x2, w2, &b2, g).data == std::vector<double>{10.5, 20.5, 300.25, 400.25});
  NDArray img(DType::F32, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  NDArray k(DType::F32, {1, 1, 2, 2}, {1, 1, 1, 1});
  CHECK(conv(img, k, nullptr, {}).data == std::vector<double>{12, 16, 24, 28});
  CHECK_THROWS_AS(conv(img, NDArray(DType::F32, {1, 2, 2, 2}), nullptr, {}), Error);
}

TEST_CASE("reference pooling and upsampling", "[reference]") {
  NDArray ones(DType::F32, {1, 1, 2, 2}, {1, 1, 1, 1});
  NDArray p = avg_pool2d(ones, {2}, {1}, {1});
  CHECK(p.shape == Shape{1, 1, 3, 3});
  CHECK(p.data == std::vector<double>{0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25});
  NDArray img(DType::F32, {1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(avg_pool2d(img, {2}, {}, {0}).data == std::vector<double>{3.5, 5.5});
  NDArray u = upsample_nearest2d(NDArray(DType::F32, {1, 1, 1, 2}, {1, 2}), 2);
  CHECK(u.shape == Shape{1, 1, 2, 4});
  CHECK(u.data == std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2});
}

TEST_CASE("reference attention masks", "[reference]") {
  // One head, D=1; keys all equal so unmasked weights are uniform.
  NDArray q(DType::F32, {1, 1, 3, 1}, {1, 1, 1}), k(DType::F32, {1, 1, 3, 1}, {1, 1, 1});
  NDArray v(DType::F32, {1, 1, 3, 1}, {3, 6, 9});
  CHECK(attention(q, k, v, {}).data == std::vector<double>{6, 6, 6});
  AttentionParams causal;
  causal.causal = true;
  CHECK(attention(q, k, v, causal).data == std::vector<double>{3, 4.5, 6});
  AttentionParams window = causal;
  window.sliding_window = 2;  // a query sees itself and one key back
  CHECK(attention(q, k, v, window).data == std::vector<double>{3, 4.5, 7.5});
  AttentionParams offset = causal;
  offset.q_offset = 1;  // queries at positions 1, 2, 3
  CHECK(attention(q, k, v, offset).data == std::vector<double>{4.5, 6, 6});
  // GQA: two query heads read the one kv head.
  NDArray q2(DType::F32, {1, 2, 1, 1}, {1, 1});
  NDArray k2(DType::F32, {1, 1, 2, 1}, {0, 0}), v2(DType::F32, {1, 1, 2, 1}, {2, 4});
  CHECK(attention(q2, k2, v2, {}).data == std::vector<double>{3, 3});
  NDArray rows = attention_rows(q, k, v, causal, {{0, 0, 2}, {0, 0, 0}});
  CHECK(rows.data == std::vector<double>{6, 3});
  CHECK_THROWS_AS(attention(q2, NDArray(DType::F32, {1, 3, 2, 1}), NDArray(DType::F32, {1, 3, 2, 1}), {}),
                  Error);
}
