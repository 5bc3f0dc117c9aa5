// Reference reductions and movement ops against hand-computed values.
#include <catch2/catch.hpp>
#include <cmath>

#include "reference/reference.h"

using namespace kiln;
using namespace kiln::ref;

namespace {
NDArray iota(DType t, Shape s) {
  std::vector<double> v(static_cast<size_t>(numel_of(s)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return NDArray(t, s, v);
}
}  // namespace

TEST_CASE("reference sums, extremes and means", "[reference]") {
  NDArray a = iota(DType::F32, {2, 3});  // [[0 1 2] [3 4 5]]
  CHECK(sum(a).data == std::vector<double>{15});
  CHECK(sum(a).shape == Shape{});
  CHECK(sum(a, {0}).data == std::vector<double>{3, 5, 7});
  CHECK(sum(a, {-1}, true).shape == Shape{2, 1});
  CHECK(sum(a, {-1}, true).data == std::vector<double>{3, 12});
  CHECK(max(a, {1}).data == std::vector<double>{2, 5});
  CHECK(min(a, {0}).data == std::vector<double>{0, 1, 2});
  CHECK(mean(a, {1}).data == std::vector<double>{1, 4});
  CHECK(var(a, {1}).data == std::vector<double>{1, 1});
  CHECK(var(a, {1}, false, 0).data[0] == Approx(2.0 / 3.0));
  CHECK(prod(iota(DType::F32, {4}) , {}).data == std::vector<double>{0});
  CHECK_THROWS_AS(sum(a, {2}), Error);
  CHECK_THROWS_AS(sum(a, {1, -1}), Error);
  NDArray i8(DType::I8, {3}, {100, 100, 100});
  NDArray s = sum(i8);
  CHECK(s.dtype == DType::I64);
  CHECK(s.data == std::vector<double>{300});
  NDArray e(DType::F32, {2, 0});
  CHECK(sum(e, {1}).data == std::vector<double>{0, 0});
  CHECK(prod(e, {1}).data == std::vector<double>{1, 1});
  CHECK_THROWS_AS(max(e, {1}), Error);
  CHECK(abs_sum(NDArray(DType::F32, {2}, {-1, 2})).data == std::vector<double>{3});
}

TEST_CASE("reference argmax takes the first maximum", "[reference]") {
  NDArray a(DType::I32, {2, 4}, {1, 5, 5, 2, 7, 0, 7, -1});
  NDArray m = argmax(a, 1);
  CHECK(m.dtype == DType::I32);
  CHECK(m.data == std::vector<double>{1, 0});
  CHECK(argmin(a, 1).data == std::vector<double>{0, 3});
  CHECK(argmax(a, 0, true).shape == Shape{1, 4});
  CHECK(argmax(a, 0).data == std::vector<double>{1, 0, 1, 0});
}

TEST_CASE("reference reshape, permute, expand", "[reference]") {
  NDArray a = iota(DType::F32, {2, 3});
  CHECK(reshape(a, {3, -1}).shape == Shape{3, 2});
  CHECK_THROWS_AS(reshape(a, {4, -1}), Error);
  CHECK_THROWS_AS(reshape(a, {-1, -1}), Error);
  NDArray p = permute(a, {1, 0});
  CHECK(p.shape == Shape{3, 2});
  CHECK(p.data == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK_THROWS_AS(permute(a, {0, 0}), Error);
  NDArray c = iota(DType::F32, {3, 1});
  NDArray e = expand(c, {2, -1, 2});
  CHECK(e.shape == Shape{2, 3, 2});
  CHECK(e.data == std::vector<double>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2});
  CHECK_THROWS_AS(expand(a, {2, 4}), Error);
  CHECK(transpose(iota(DType::F32, {2, 3, 4}), 0, 2).shape == Shape{4, 3, 2});
}

TEST_CASE("reference pad, shrink, flip", "[reference]") {
  NDArray a = iota(DType::F32, {2, 2});
  NDArray p = pad(a, {{1, 0}, {0, 2}}, -1);
  CHECK(p.shape == Shape{3, 4});
  CHECK(p.data == std::vector<double>{-1, -1, -1, -1, 0, 1, -1, -1, 2, 3, -1, -1});
  NDArray s = shrink(iota(DType::F32, {3, 4}), {{1, 3}, {2, 3}});
  CHECK(s.shape == Shape{2, 1});
  CHECK(s.data == std::vector<double>{6, 10});
  CHECK_THROWS_AS(shrink(a, {{0, 3}, {0, 1}}), Error);
  CHECK(flip(a, {0}).data == std::vector<double>{2, 3, 0, 1});
  CHECK(flip(a, {0, -1}).data == std::vector<double>{3, 2, 1, 0});
}

TEST_CASE("reference slices follow Python", "[reference]") {
  NDArray a = iota(DType::I32, {10});
  auto sl = [&](std::optional<int64_t> b, std::optional<int64_t> e, int64_t st) {
    return slice(a, 0, b, e, st).data;
  };
  CHECK(sl(std::nullopt, std::nullopt, -3) == std::vector<double>{9, 6, 3, 0});
  CHECK(sl(-3, std::nullopt, 1) == std::vector<double>{7, 8, 9});
  CHECK(sl(8, 2, -2) == std::vector<double>{8, 6, 4});
  CHECK(sl(100, -100, -1).size() == 10);
  CHECK(sl(5, 2, 1).empty());
  CHECK(sl(1, 9, 3) == std::vector<double>{1, 4, 7});
  CHECK(sl(-100, 2, 1) == std::vector<double>{0, 1});
  CHECK(sl(std::nullopt, -8, -2) == std::vector<double>{9, 7, 5, 3});
  CHECK_THROWS_AS(slice(a, 0, 0, 1, 0), Error);
  CHECK_THROWS_AS(slice(a, 1, 0, 1, 1), Error);
}

TEST_CASE("reference squeeze, unsqueeze, flatten, repeat, cat, stack", "[reference]") {
  NDArray a = iota(DType::F32, {1, 2, 1});
  CHECK(squeeze(a, std::nullopt).shape == Shape{2});
  CHECK(squeeze(a, -1).shape == Shape{1, 2});
  CHECK(unsqueeze(a, -1).shape == Shape{1, 2, 1, 1});
  CHECK(flatten(iota(DType::F32, {2, 3, 4}), 1, -1).shape == Shape{2, 12});
  NDArray r = repeat(iota(DType::F32, {2}), {2, 2});
  CHECK(r.shape == Shape{2, 4});
  CHECK(r.data == std::vector<double>{0, 1, 0, 1, 0, 1, 0, 1});
  NDArray x = iota(DType::F32, {2, 2}), y = NDArray(DType::F32, {2, 1}, {7, 8});
  NDArray c = cat({x, y}, 1);
  CHECK(c.shape == Shape{2, 3});
  CHECK(c.data == std::vector<double>{0, 1, 7, 2, 3, 8});
  CHECK_THROWS_AS(cat({x, y}, 0), Error);
  NDArray s = stack({x, x}, -1);
  CHECK(s.shape == Shape{2, 2, 2});
  CHECK(s.data == std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3});
  CHECK_THROWS_AS(stack({x, y}, 0), Error);
}

TEST_CASE("reference assign into a slice", "[reference]") {
  NDArray a = iota(DType::F32, {3, 4});
  NDArray v(DType::F16, {2}, {-1, -2});
  NDArray out = assign_slice(a, 1, 0, std::nullopt, 2, v);  // columns 0 and 2, broadcast rows
  CHECK(out.data == std::vector<double>{-1, 1, -2, 3, -1, 5, -2, 7, -1, 9, -2, 11});
  NDArray row = assign_slice(a, 0, -1, std::nullopt, 1, NDArray(DType::F32, {}, {7}));
  CHECK(row.data == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7});
  CHECK_THROWS_AS(assign_slice(a, 0, 0, 2, 1, NDArray(DType::F32, {3})), Error);
}
