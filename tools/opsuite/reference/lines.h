// Iterating over the 1-D lines of an array along one axis (softmax, scans, topk, norms).
#pragma once

#include <functional>
#include <vector>

#include "ndarray.h"

namespace kiln::ref {

// Calls fn(offsets) once per line along axis: offsets are the row-major positions of the line's
// elements in order. Nothing is called when any other dim is 0; an empty axis gives empty lines.
void for_each_line(const Shape& shape, int axis,
                   const std::function<void(const std::vector<int64_t>&)>& fn);

}  // namespace kiln::ref
