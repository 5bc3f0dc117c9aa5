// Reference reductions. axes may be negative; an empty list reduces every axis. Sums accumulate
// exactly (integers) or in double (floats) and round once to the result dtype.
#pragma once

#include <vector>

#include "ndarray.h"

namespace kiln::ref {

NDArray sum(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);
NDArray prod(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);
NDArray max(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);
NDArray min(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);
NDArray mean(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);
NDArray var(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false,
            int64_t correction = 1);
// I32 index of the first maximum (minimum) along axis.
NDArray argmax(const NDArray& a, int axis, bool keepdim = false);
NDArray argmin(const NDArray& a, int axis, bool keepdim = false);
// Sum of |a| over the same axes, in double (f64): the magnitude a sum's rounding error scales with.
NDArray abs_sum(const NDArray& a, std::vector<int> axes = {}, bool keepdim = false);

// The shape a reduction over axes gives (axes normalized, duplicates rejected).
Shape reduced_shape(const Shape& shape, const std::vector<int>& axes, bool keepdim);

}  // namespace kiln::ref
