#include "layouts.h"

namespace kiln::opsuite {

const std::vector<Layout>& unary_layouts() {
  static const std::vector<Layout> v{
      {{}, View::Contiguous},          {{7}, View::Contiguous},
      {{0}, View::Contiguous},         {{1, 4}, View::Contiguous},
      {{33, 17}, View::Contiguous},    {{2, 3, 4}, View::Permuted},
      {{2, 3, 4, 5}, View::Strided},   {{3, 5}, View::Flipped},
      {{2, 1, 3, 5}, View::Expanded},  {{4, 6}, View::Padded},
      {{1, 5, 1}, View::Shrunk},       {{4, 0, 3}, View::Permuted},
  };
  return v;
}

const std::vector<Layout>& unary_layouts_short() {
  static const std::vector<Layout> v{
      {{}, View::Contiguous},
      {{33, 17}, View::Contiguous},
      {{2, 3, 4}, View::Permuted},
      {{2, 3, 4, 5}, View::Strided},
      {{4, 6}, View::Padded},
  };
  return v;
}

const std::vector<PairLayout>& binary_layouts() {
  static const std::vector<PairLayout> v{
      {{3, 5}, {3, 5}, View::Contiguous, View::Contiguous},
      {{3, 5}, {5}, View::Contiguous, View::Contiguous},        // broadcast right
      {{1, 5}, {4, 1}, View::Contiguous, View::Contiguous},     // both ways
      {{}, {2, 3}, View::Contiguous, View::Contiguous},         // scalar left
      {{2, 3, 4}, {}, View::Permuted, View::Contiguous},        // scalar right
      {{0, 3}, {3}, View::Contiguous, View::Contiguous},        // empty
      {{2, 3, 4, 5}, {2, 3, 4, 5}, View::Strided, View::Permuted},
      {{2, 1, 4}, {3, 1}, View::Flipped, View::Contiguous},
      {{4, 6}, {4, 6}, View::Padded, View::Shrunk},
      {{2, 3, 4}, {3, 4}, View::Expanded, View::Flipped},
      {{1}, {1, 1, 7}, View::Contiguous, View::Strided},
      {{33, 17}, {33, 17}, View::Contiguous, View::Contiguous},
  };
  return v;
}

const std::vector<PairLayout>& binary_layouts_short() {
  static const std::vector<PairLayout> v{
      {{3, 5}, {5}, View::Contiguous, View::Contiguous},
      {{1, 5}, {4, 1}, View::Contiguous, View::Contiguous},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, View::Strided, View::Permuted},
      {{4, 6}, {4, 6}, View::Padded, View::Shrunk},
      {{}, {33, 17}, View::Contiguous, View::Contiguous},
  };
  return v;
}

std::string layout_str(const Layout& l) {
  return shape_str_of(l.shape) + " " + view_name(effective_view(l.view, l.shape));
}

std::string layout_str(const PairLayout& l) {
  return shape_str_of(l.a) + "+" + shape_str_of(l.b) + " " +
         view_name(effective_view(l.va, l.a)) + "/" + view_name(effective_view(l.vb, l.b));
}

}  // namespace kiln::opsuite
