#include "lines.h"

namespace kiln::ref {

void for_each_line(const Shape& shape, int axis,
                   const std::function<void(const std::vector<int64_t>&)>& fn) {
  Shape outer = shape;
  outer[axis] = 1;
  Shape strides = row_major_strides(shape);
  std::vector<int64_t> offsets(static_cast<size_t>(shape[axis]));
  for_each_index(outer, [&](const Index& idx) {
    int64_t base = 0;
    for (size_t d = 0; d < idx.size(); ++d) base += idx[d] * strides[d];
    for (int64_t i = 0; i < shape[axis]; ++i) offsets[i] = base + i * strides[axis];
    fn(offsets);
  });
}

}  // namespace kiln::ref
