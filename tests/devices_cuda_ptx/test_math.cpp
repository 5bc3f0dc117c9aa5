// The f64 math helpers pasted into PTX (plugins/devices/cuda_ptx/math/kiln_math.h) are plain C:
// here the same source, compiled for the host, is compared with libm. The PTX in math_ptx.inc
// is nvcc's translation of exactly this code (gen_math_ptx.sh).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "math/kiln_math.h"

namespace {
double ulps(double got, double want) {
  if (std::isnan(want)) return std::isnan(got) ? 0 : 1e300;
  if (got == want) return 0;
  double u = std::nextafter(std::fabs(want), INFINITY) - std::fabs(want);
  if (u == 0 || std::isinf(u)) u = 4.9e-324;
  return std::fabs(got - want) / u;
}
}  // namespace

TEST_CASE("cuda_ptx math: exp2, log2, sin, pow against libm", "[cuda_ptx][math]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  double e2 = 0, l2 = 0, s = 0, p = 0;
  for (int i = 0; i < 200000; ++i) {
    double x = -1100 + 2150 * u(rng);
    e2 = std::max(e2, ulps(kiln_exp2_f64(x), std::exp2(x)));
    double y = std::pow(10.0, -320 + 628 * u(rng));
    l2 = std::max(l2, ulps(kiln_log2_f64(y), std::log2(y)));
    double z = (i % 2) ? -1e6 + 2e6 * u(rng) : -10 + 20 * u(rng);
    s = std::max(s, std::fabs(kiln_sin_f64(z) - std::sin(z)));
    double a = 0.01 + 20 * u(rng), b = -30 + 60 * u(rng);
    p = std::max(p, std::fabs(kiln_pow_f64(a, b) - std::pow(a, b)) / std::pow(a, b));
  }
  CHECK(e2 <= 2);
  CHECK(l2 <= 3);
  CHECK(s <= 1e-14);
  CHECK(p <= 1e-13);
  CHECK(std::isinf(kiln_exp2_f64(1024)));
  CHECK(kiln_exp2_f64(-INFINITY) == 0);
  CHECK(kiln_log2_f64(0) == -INFINITY);
  CHECK(std::isnan(kiln_log2_f64(-1)));
  CHECK(std::isnan(kiln_sin_f64(INFINITY)));
}

TEST_CASE("cuda_ptx math: pow follows C's special cases", "[cuda_ptx][math]") {
  const double cases[][2] = {{0, -1},        {-0.0, -1},     {-0.0, 3},       {-0.0, -3},
                             {-2, 3},        {-2, 0.5},      {-1, INFINITY},  {0.5, INFINITY},
                             {2, -INFINITY}, {-INFINITY, 3}, {-INFINITY, -3}, {-INFINITY, 2},
                             {INFINITY, -1}, {NAN, 0},       {1, NAN},        {NAN, 1},
                             {-8, 1.0 / 3},  {-3, 2},        {0.25, -0.5}};
  for (const auto& c : cases) {
    double got = kiln_pow_f64(c[0], c[1]), want = std::pow(c[0], c[1]);
    INFO("pow(" << c[0] << ", " << c[1] << ") = " << got << ", libm " << want);
    if (std::isnan(want)) {
      CHECK(std::isnan(got));
    } else if (std::isfinite(want) && want != 0) {
      CHECK(std::fabs(got - want) <= 1e-15 * std::fabs(want));  // exp2(y log2 x): not exact
    } else {
      CHECK(got == want);
      CHECK(std::signbit(got) == std::signbit(want));
    }
  }
}
