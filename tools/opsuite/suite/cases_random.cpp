// Counter-based random numbers: reproducible (same seed, shape and dtype give the same bits;
// the cpu device gives the same too), seeds differ, and the distributions are right: range,
// mean, variance, histogram, lag-1 correlation (thresholds are 5 standard errors or more).
#include <cmath>
#include <sstream>

#include "cases.h"
#include "kiln/device_runtime.h"

namespace kiln::opsuite {

namespace {

struct Stats {
  double mean = 0, var = 0, lag1 = 0;  // lag1: mean of x[i] * x[i+1]
  double lo = INFINITY, hi = -INFINITY;
  bool finite = true;
};

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  for (double x : v) {
    s.mean += x;
    s.lo = std::min(s.lo, x);
    s.hi = std::max(s.hi, x);
    s.finite = s.finite && std::isfinite(x);
  }
  s.mean /= static_cast<double>(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    s.var += (v[i] - s.mean) * (v[i] - s.mean);
    if (i + 1 < v.size()) s.lag1 += v[i] * v[i + 1];
  }
  s.var /= static_cast<double>(v.size() - 1);
  s.lag1 /= static_cast<double>(v.size() - 1);
  return s;
}

std::string fmt(double v) {
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}

// Fails with a message unless |got - want| <= tol.
bool near(const char* what, double got, double want, double tol, Outcome& out) {
  if (std::fabs(got - want) <= tol) return true;
  out = Outcome::fail(std::string(what) + " " + fmt(got) + ", expected " + fmt(want) + " +- " + fmt(tol));
  return false;
}

// The same seed gives the same bits (twice here, and on the cpu device when this is another).
Outcome reproducible(Context& cx, const std::function<Tensor(Device*)>& make, const ref::NDArray& first) {
  ref::NDArray again = read_back(make(cx.device));
  Outcome o = compare_values(first, again, exact());
  if (o.status != Status::Passed) {
    o.message = "same seed, different values: " + o.message;
    return o;
  }
  Device* cpu = nullptr;
  try {
    cpu = Device::get("cpu");
  } catch (const Error&) {
    return {};
  }
  if (cpu == cx.device) return {};
  o = compare_values(first, read_back(make(cpu)), exact());
  if (o.status != Status::Passed) o.message = "differs from the cpu device: " + o.message;
  return o;
}

const Shape kShape{200, 500};  // 100000 samples
const double kN = 100000;

}  // namespace

void add_random_cases(CaseList& cases) {
  for (DType t : float_dtypes()) {
    cases.push_back({"random", case_name("random", "rand", dtype_str(t) + " (200, 500)"), {t}, [t](Context& cx) {
                       auto make = [t](Device* d) { return Tensor::rand(kShape, 1234, t, d); };
                       ref::NDArray a = read_back(make(cx.device));
                       if (a.dtype != t || a.shape != kShape)
                         return Outcome::fail("rand gave " + dtype_str(a.dtype) + " " + shape_str_of(a.shape));
                       Stats s = stats_of(a.data);
                       Outcome out;
                       if (!s.finite || s.lo < 0 || s.hi >= 1)
                         return Outcome::fail("values outside [0, 1): min " + fmt(s.lo) + ", max " + fmt(s.hi));
                       // Standard errors: mean sqrt(1/12/n) = 0.0009, variance 0.00024, lag-1 0.0007.
                       double q = t == DType::F32 ? 0 : ref::epsilon(t);  // rounding bias of 16-bit floats
                       if (!near("mean", s.mean, 0.5, 0.0046 + q, out) || !near("variance", s.var, 1.0 / 12, 0.0013 + q, out) ||
                           !near("mean of x[i]*x[i+1]", s.lag1, 0.25, 0.0036 + q, out))
                         return out;
                       std::vector<double> bins(10, 0);
                       for (double x : a.data) bins[std::min<size_t>(9, static_cast<size_t>(x * 10))] += 1;
                       for (size_t b = 0; b < 10; ++b)  // expected 10000, standard error 95
                         if (!near(("histogram bin " + std::to_string(b)).c_str(), bins[b], kN / 10, 500 + q * kN, out))
                           return out;
                       ref::NDArray other = read_back(Tensor::rand(kShape, 1235, t, cx.device));
                       size_t same = 0;
                       for (size_t i = 0; i < a.data.size(); ++i) same += a.data[i] == other.data[i];
                       if (static_cast<double>(same) > kN * (t == DType::F32 ? 0.001 : 0.05))
                         return Outcome::fail("seeds 1234 and 1235 agree on " + std::to_string(same) + " values");
                       return reproducible(cx, make, a);
                     }});
    cases.push_back({"random", case_name("random", "randn", dtype_str(t) + " (200, 500)"), {t}, [t](Context& cx) {
                       auto make = [t](Device* d) { return Tensor::randn(kShape, 99, t, d); };
                       ref::NDArray a = read_back(make(cx.device));
                       if (a.dtype != t || a.shape != kShape)
                         return Outcome::fail("randn gave " + dtype_str(a.dtype) + " " + shape_str_of(a.shape));
                       Stats s = stats_of(a.data);
                       Outcome out;
                       if (!s.finite) return Outcome::fail("non-finite values");
                       double within = 0, tail = 0;
                       for (double x : a.data) {
                         within += std::fabs(x) < 1;
                         tail += std::fabs(x) > 3;
                       }
                       // Standard errors: mean 0.0032, variance 0.0045, P(|x| < 1) 0.0015, P(|x| > 3) 0.00016.
                       if (!near("mean", s.mean, 0, 0.016, out) || !near("variance", s.var, 1, 0.023, out) ||
                           !near("P(|x| < 1)", within / kN, 0.682689, 0.0075 + ref::epsilon(t), out) ||
                           !near("P(|x| > 3)", tail / kN, 0.0026998, 0.0009, out) ||
                           !near("mean of x[i]*x[i+1]", s.lag1, 0, 0.016, out))
                         return out;
                       return reproducible(cx, make, a);
                     }});
  }
  struct IntRange {
    int64_t low, high;
    DType t;
  };
  for (const IntRange& r : {IntRange{0, 10, DType::I32}, IntRange{-5, 5, DType::I64}, IntRange{0, 256, DType::U8},
                            IntRange{-1000, 3, DType::I32}}) {
    std::string name = case_name("random", "randint", dtype_str(r.t) + " [" + std::to_string(r.low) + ", " +
                                                          std::to_string(r.high) + ") (200, 500)");
    cases.push_back({"random", name, {r.t}, [r](Context& cx) {
                       auto make = [r](Device* d) { return Tensor::randint(kShape, r.low, r.high, 7, r.t, d); };
                       ref::NDArray a = read_back(make(cx.device));
                       if (a.dtype != r.t || a.shape != kShape)
                         return Outcome::fail("randint gave " + dtype_str(a.dtype) + " " + shape_str_of(a.shape));
                       Stats s = stats_of(a.data);
                       if (s.lo < static_cast<double>(r.low) || s.hi >= static_cast<double>(r.high))
                         return Outcome::fail("values outside [low, high): min " + fmt(s.lo) + ", max " + fmt(s.hi));
                       double n = static_cast<double>(r.high - r.low);
                       Outcome out;
                       // Discrete uniform: mean (low + high - 1) / 2, variance (n^2 - 1) / 12.
                       double sd = std::sqrt((n * n - 1) / 12);
                       if (!near("mean", s.mean, (static_cast<double>(r.low + r.high) - 1) / 2, 5 * sd / std::sqrt(kN), out) ||
                           !near("variance", s.var, (n * n - 1) / 12, 5 * sd * sd * std::sqrt(0.8 / kN), out))
                         return out;
                       if (n <= 256) {
                         std::vector<double> count(static_cast<size_t>(n), 0);
                         for (double x : a.data) count[static_cast<size_t>(x - static_cast<double>(r.low))] += 1;
                         double p = 1 / n, tol = 6 * std::sqrt(kN * p * (1 - p));
                         for (size_t v = 0; v < count.size(); ++v)
                           if (!near(("count of " + std::to_string(r.low + static_cast<int64_t>(v))).c_str(), count[v],
                                     kN * p, tol, out))
                             return out;
                       }
                       return reproducible(cx, make, a);
                     }});
  }
}

}  // namespace kiln::opsuite
