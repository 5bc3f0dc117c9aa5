// Reference movement ops: every output element is copied from one input position (or is the
// pad value). Semantics follow kiln/tensor.h; invalid shapes or axes throw kiln::Error.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "ndarray.h"

namespace kiln::ref {

NDArray reshape(const NDArray& a, Shape shape);  // one dim may be -1
NDArray permute(const NDArray& a, const std::vector<int>& order);
NDArray transpose(const NDArray& a, int d0, int d1);
NDArray expand(const NDArray& a, const Shape& shape);  // -1 keeps a dim; may add leading dims
NDArray pad(const NDArray& a, const std::vector<std::pair<int64_t, int64_t>>& padding,
            double value);
NDArray shrink(const NDArray& a, const std::vector<std::pair<int64_t, int64_t>>& bounds);
NDArray flip(const NDArray& a, const std::vector<int>& axes);
NDArray slice(const NDArray& a, int axis, std::optional<int64_t> start,
              std::optional<int64_t> stop, int64_t step);
NDArray squeeze(const NDArray& a, std::optional<int> axis);
NDArray unsqueeze(const NDArray& a, int axis);
NDArray flatten(const NDArray& a, int start_axis, int end_axis);
NDArray repeat(const NDArray& a, const std::vector<int64_t>& times);
NDArray cat(const std::vector<NDArray>& arrays, int axis);
NDArray stack(const std::vector<NDArray>& arrays, int axis);

// `a` with the slice (axis, start, stop, step) overwritten by value (broadcast to the slice's
// shape and cast to a's dtype): Tensor::slice(...).assign(value).
NDArray assign_slice(const NDArray& a, int axis, std::optional<int64_t> start,
                     std::optional<int64_t> stop, int64_t step, const NDArray& value);

// Python's slice bounds: the first index, step and count a slice selects from n elements.
struct SliceRange {
  int64_t first, step, count;
};
SliceRange slice_range(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop,
                       int64_t step);

}  // namespace kiln::ref
