// The pieces every case is built from: random inputs (with the non-contiguous view they are
// read through), the device-vs-reference comparison, tolerances, and error expectations.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kiln/tensor.h"
#include "reference/reference.h"
#include "rng.h"
#include "suite.h"

namespace kiln::opsuite {

// What a case reports back.
struct Outcome {
  Status status = Status::Passed;
  double max_error = 0;
  std::string message;
  static Outcome skip(std::string why) { return {Status::Skipped, 0, std::move(why)}; }
  static Outcome fail(std::string why) { return {Status::Failed, 0, std::move(why)}; }
};

struct Context {
  Device* device;
  Rng rng;
};

struct Case {
  std::string family;
  std::string name;
  std::vector<DType> dtypes;  // storage dtypes it needs: skipped where the device lacks one
  std::function<Outcome(Context&)> run;
};
using CaseList = std::vector<Case>;

// ---- inputs ----
// Values drawn uniformly from [lo, hi] (integers: whole numbers, clipped to the dtype's range),
// avoiding |x| < min_abs (denominators).
// Float bounds beyond a dtype's range are clipped to half its largest finite value.
struct Domain {
  double lo = -3, hi = 3;
  double min_abs = 0;
  bool whole = false;        // floats too are whole numbers (so comparisons meet equal values)
  bool log_uniform = false;  // 0 < lo < hi: uniform in log(x), for ranges over many decades
  static Domain range(double lo, double hi) { return {lo, hi, 0, false, false}; }
  static Domain nonzero(double lo, double hi, double min_abs) { return {lo, hi, min_abs, false, false}; }
  static Domain whole_numbers(double lo, double hi) { return {lo, hi, 0, true, false}; }
  static Domain decades(double lo, double hi) { return {lo, hi, 0, false, true}; }
};
// The dtype's full range for integers up to 32 bits, +-2^40 for 64-bit ones (so products stay
// exact in the reference), [-3, 3] for floats, {0, 1} for bool.
Domain full_domain(DType t);

// How an input tensor is presented to the op: a fresh contiguous buffer, or a view of a bigger,
// differently laid out or smaller buffer. The op must not care.
enum class View { Contiguous, Permuted, Strided, Flipped, Expanded, Padded, Shrunk };
const char* view_name(View v);
// The view actually applied to a shape (Permuted needs rank >= 2, Expanded a dim > 1, Padded a
// dim >= 2; otherwise Contiguous).
View effective_view(View v, const Shape& shape);

struct Input {
  ref::NDArray ref;  // the logical values the op sees
  Tensor t;          // the same values on the device, read through the view
};
Input make_input(Context& cx, DType t, const Shape& shape, const Domain& d = {},
                 View view = View::Contiguous);
// Exactly these values, contiguous.
Input make_input(Context& cx, const ref::NDArray& values);
ref::NDArray random_array(Rng& rng, DType t, const Shape& shape, const Domain& d);

// ---- comparison ----
// An element passes when |got - want| <= atol + rtol * |want| + mtol * magnitude, where the
// magnitude (when given) is e.g. the sum of |terms| of a reduction or dot product, which its
// rounding error scales with. NaN matches NaN and infinities must match exactly.
struct Tolerance {
  double rtol = 0, atol = 0, mtol = 0;
};
Tolerance exact();
// k units of the dtype's epsilon relative (exact for integers and bool).
Tolerance ulps(DType t, double k);

Outcome compare(const ref::NDArray& want, const Tensor& got, const Tolerance& tol,
                const ref::NDArray* magnitude = nullptr);
// The same comparison of values already read back (dtype and shape must match).
Outcome compare_values(const ref::NDArray& want, const ref::NDArray& got, const Tolerance& tol,
                       const ref::NDArray* magnitude = nullptr);
// Reads a tensor back into a reference array (its dtype and shape).
ref::NDArray read_back(const Tensor& t);

// ---- bad input ----
// Passes when fn throws kiln::Error whose message contains every string in must_contain.
Outcome expect_error(const std::function<void()>& fn, const std::vector<std::string>& must_contain);

// ---- naming ----
std::string dtype_str(DType t);
std::string shape_str_of(const Shape& s);

}  // namespace kiln::opsuite
