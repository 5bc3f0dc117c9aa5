// dot4: byte dot products of I32 words (kernel IR DOT4), alone over vector-lane shapes and
// broadcasts, and summed along an axis the way the int8 quantized matmuls use them (the reduce
// keeps DOT4 inside its loop, where the CPU renders VPDPBUSD).
#include <array>

#include "cases.h"
#include "reference/elementwise.h"
#include "reference/reduce.h"

namespace kiln::opsuite {

void add_dot4_cases(CaseList& cases) {
  struct Layout {
    Shape a, b, acc;
    View va;
  };
  // 16, 8 and 4 lanes along the last axis, an odd length (scalars), broadcasts, a permuted view
  const std::vector<Layout> layouts{
      {{3, 64}, {3, 64}, {3, 64}, View::Contiguous}, {{5, 8}, {5, 8}, {}, View::Contiguous},
      {{2, 4}, {4}, {2, 1}, View::Contiguous},       {{7}, {7}, {7}, View::Flipped},
      {{6, 16}, {1, 16}, {6, 16}, View::Permuted},
  };
  for (const Layout& l : layouts) {
    std::string name = case_name("dot4", "dot4", shape_str_of(l.a) + "." + shape_str_of(l.b) + "+" +
                                                      shape_str_of(l.acc) + " " + view_name(l.va));
    cases.push_back({"dot4", name, {DType::I32}, [=](Context& cx) {
                       Input a = make_input(cx, DType::I32, l.a, full_domain(DType::I32), l.va);
                       Input b = make_input(cx, DType::I32, l.b, full_domain(DType::I32));
                       Input c = make_input(cx, DType::I32, l.acc, full_domain(DType::I32));
                       return compare(ref::dot4(a.ref, b.ref, c.ref), Tensor::dot4(a.t, b.t, c.t), exact());
                     }});
  }
  // sum_k dot4(w[n, k], x[m, k]): a GEMV (m = 1) and a tile of rows, K words a row
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 48, 64}, {8, 32, 24}, {3, 5, 7}}) {
    std::string name = case_name("dot4", "dot4-sum", "(" + std::to_string(m) + ", " + std::to_string(n) +
                                                         ") over " + std::to_string(k) + " words");
    cases.push_back({"dot4", name, {DType::I32}, [=](Context& cx) {
                       Input w = make_input(cx, DType::I32, {1, n, k}, full_domain(DType::I32));
                       Input x = make_input(cx, DType::I32, {m, 1, k}, full_domain(DType::I32));
                       ref::NDArray zero = ref::scalar(0, DType::I32);
                       ref::NDArray want = ref::sum(ref::dot4(w.ref, x.ref, zero), {2});
                       Tensor got = Tensor::dot4(w.t, x.t, Tensor::scalar(0, DType::I32, cx.device)).sum({2});
                       return compare(want, got, exact());
                     }});
  }
}

}  // namespace kiln::opsuite
