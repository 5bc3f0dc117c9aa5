// Bad input throws kiln::Error naming the shapes; nothing aborts.
#include <catch2/catch.hpp>

#include "kiln/tensor.h"

using namespace kiln;
using Catch::Matchers::Contains;

TEST_CASE("shape mismatches name both shapes") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH(a + b, Contains("(2, 3)") && Contains("(4, 5)"));
  CHECK_THROWS_WITH(a.matmul(b), Contains("(2, 3)") && Contains("(4, 5)"));
  CHECK_THROWS_WITH(a.reshape({7}), Contains("(2, 3)"));
}

TEST_CASE("invalid axes and dtype misuse") {
  Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_WITH(a.sum({2}), Contains("axis 2") && Contains("(2, 3)"));
  CHECK_THROWS_WITH(a.permute({0, 0}), Contains("repeated"));
  CHECK_THROWS_AS(a.idiv(a), Error);
  CHECK_THROWS_AS(a.bitcast(DType::I8), Error);
  CHECK_THROWS_AS(a.expand({3, 3}), Error);
  CHECK_THROWS_AS(a.shrink({{0, 3}, {0, 3}}), Error);
}
