// ShapeTracker: movement ops as index math. A stack of views; views[0] indexes the source's
// row-major layout, views.back() is what consumers see. A reshape that cannot be expressed
// as new strides pushes another view instead of copying.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::detail {

struct View {
  Shape shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;
  // Symbolic part of the offset: var * var_coef (e.g. a KV cache write at start_pos).
  std::optional<Variable> var;
  int64_t var_coef = 0;
  // Valid region per axis, [lo, hi); empty when every index is valid. Outside it the value
  // reads as zero (padding).
  std::vector<std::pair<int64_t, int64_t>> mask;

  static View contiguous(const Shape& shape);
  bool is_contiguous() const;  // row-major, offset 0, no mask
  bool operator==(const View& o) const;
  size_t hash() const;
  std::string str() const;
};

std::vector<int64_t> contiguous_strides(const Shape& shape);

class ShapeTracker {
 public:
  ShapeTracker() = default;
  explicit ShapeTracker(const Shape& base) : views_{View::contiguous(base)} {}
  explicit ShapeTracker(std::vector<View> views) : views_(std::move(views)) {}

  const Shape& shape() const { return views_.back().shape; }
  const std::vector<View>& views() const { return views_; }
  bool is_contiguous() const { return views_.size() == 1 && views_[0].is_contiguous(); }
  bool has_mask() const;

  ShapeTracker reshape(const Shape& shape) const;
  ShapeTracker permute(const std::vector<int>& order) const;
  ShapeTracker expand(const Shape& shape) const;
  ShapeTracker pad(const std::vector<std::pair<int64_t, int64_t>>& padding) const;
  ShapeTracker shrink(const std::vector<std::pair<int64_t, int64_t>>& bounds) const;
  ShapeTracker flip(const std::vector<int>& axes) const;
  // every step-th element along axis (step > 0), starting at 0
  ShapeTracker stride_axis(int axis, int64_t step) const;
  // [start, start + length) along axis, with start a variable (unpadded views only).
  ShapeTracker shrink_var(int axis, const Variable& start, int64_t length) const;
  bool has_var() const;
  // this applied after `inner` (inner's output shape == this base shape)
  ShapeTracker compose_onto(const ShapeTracker& inner) const;

  bool operator==(const ShapeTracker& o) const { return views_ == o.views_; }
  size_t hash() const;
  std::string str() const;

 private:
  std::vector<View> views_;
};

}  // namespace kiln::detail
