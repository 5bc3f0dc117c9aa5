// Shapes and views the elementwise families draw from. Kept to a small shared set so cases reuse
// compiled kernels (the runtime caches them by kernel IR); each set still covers rank 0-4,
// zero-size and size-1 dims, and every kind of non-contiguous view.
#pragma once

#include <vector>

#include "harness.h"

namespace kiln::opsuite {

struct Layout {
  Shape shape;
  View view;
};
// One operand: scalar, 1-D, empty, size-1 dims, ranks 2-4, each view kind once.
const std::vector<Layout>& unary_layouts();
// A shorter list for the less common dtypes of a family.
const std::vector<Layout>& unary_layouts_short();

struct PairLayout {
  Shape a, b;
  View va, vb;
};
// Two operands: equal shapes, broadcasting either way and both ways, scalars, empty, views.
const std::vector<PairLayout>& binary_layouts();
const std::vector<PairLayout>& binary_layouts_short();

// n entries of a list starting at `start` (wrapping around): spreads the shapes and views over
// the ops and dtypes of a family while each (op, dtype) compiles only a few kernels.
template <class T>
std::vector<T> rotate_pick(const std::vector<T>& all, size_t n, size_t start) {
  std::vector<T> out;
  for (size_t i = 0; i < n && i < all.size(); ++i) out.push_back(all[(start + i) % all.size()]);
  return out;
}

std::string layout_str(const Layout& l);      // "(2, 3) strided"
std::string layout_str(const PairLayout& l);  // "(2, 3)+(3) contiguous/flipped"

}  // namespace kiln::opsuite
