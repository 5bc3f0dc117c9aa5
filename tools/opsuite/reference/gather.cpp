// gather and embedding: indexed reads.
#include <string>

#include "dtype_info.h"
#include "kiln/error.h"
#include "linalg.h"

namespace kiln::ref {

NDArray gather(const NDArray& a, int axis, const NDArray& index) {
  int d = normalize_axis(axis, a.ndim(), a.shape);
  if (!is_int_type(index.dtype))
    throw Error(std::string("reference: gather index of dtype ") + name_of(index.dtype));
  if (index.ndim() != a.ndim())
    throw Error("reference: gather index of shape " + shape_string(index.shape) + " into " +
                shape_string(a.shape));
  for (int i = 0; i < a.ndim(); ++i)
    if (i != d && index.shape[i] > a.shape[i])
      throw Error("reference: gather index of shape " + shape_string(index.shape) + " into " +
                  shape_string(a.shape));
  NDArray out(a.dtype, index.shape);
  int64_t i = 0;
  for_each_index(index.shape, [&](const Index& idx) {
    Index src = idx;
    double v = index.data[static_cast<size_t>(i)];
    if (v < 0 || v >= static_cast<double>(a.shape[d]))
      throw Error("reference: gather index " + std::to_string(static_cast<int64_t>(v)) +
                  " out of range for shape " + shape_string(a.shape));
    src[d] = static_cast<int64_t>(v);
    out.data[static_cast<size_t>(i++)] = a.at(src);
  });
  return out;
}

NDArray embedding(const NDArray& table, const NDArray& ids) {
  if (table.ndim() != 2)
    throw Error("reference: embedding table of shape " + shape_string(table.shape));
  if (!is_int_type(ids.dtype))
    throw Error(std::string("reference: embedding ids of dtype ") + name_of(ids.dtype));
  int64_t dim = table.shape[1];
  Shape shape = ids.shape;
  shape.push_back(dim);
  NDArray out(table.dtype, shape);
  for (size_t i = 0; i < ids.data.size(); ++i) {
    double v = ids.data[i];
    if (v < 0 || v >= static_cast<double>(table.shape[0]))
      throw Error("reference: embedding id " + std::to_string(static_cast<int64_t>(v)) +
                  " out of range for table " + shape_string(table.shape));
    for (int64_t j = 0; j < dim; ++j)
      out.data[i * dim + j] = table.data[static_cast<size_t>(static_cast<int64_t>(v) * dim + j)];
  }
  return out;
}

}  // namespace kiln::ref
