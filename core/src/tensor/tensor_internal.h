// Helpers shared by the Tensor implementation files.
#pragma once

#include <string>
#include <vector>

#include "graph/uop.h"
#include "kiln/tensor.h"

namespace kiln::detail {

const UOpRef& node_of(const Tensor& t, const char* op);
int normalize_axis(int axis, int ndim, const char* op, const Shape& shape);
std::vector<int> normalize_axes(std::vector<int> axes, int ndim, const char* op,
                                const Shape& shape);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
Tensor broadcast_to(const Tensor& t, const Shape& shape);
Tensor apply_view(const Tensor& t, const ShapeTracker& st_over_t);
Tensor alu(Op op, DType out, std::vector<Tensor> src);
// Casts both to their promoted type (or `force` when set) and broadcasts.
std::pair<Tensor, Tensor> binary_operands(const Tensor& a, const Tensor& b, const char* op);
Tensor to_float(const Tensor& t);  // ints/bool -> f32, floats unchanged

}  // namespace kiln::detail
