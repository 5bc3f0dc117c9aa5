// gather (torch semantics, any axis, index smaller than the source) and embedding lookups with
// ids of several shapes and integer dtypes.
#include <algorithm>

#include "cases.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

// Random valid indices in [0, n) for an index tensor of shape s.
ref::NDArray indices(Rng& rng, DType t, const Shape& s, int64_t n) {
  return random_array(rng, t, s, Domain::range(0, static_cast<double>(n - 1)));
}

}  // namespace

void add_gather_cases(CaseList& cases) {
  struct GatherLayout {
    Shape src, index;
    int axis;
    View view;
  };
  const std::vector<GatherLayout> layouts{
      {{4, 5}, {4, 5}, 1, View::Contiguous},  {{4, 5}, {7, 5}, 0, View::Contiguous},
      {{4, 5}, {2, 3}, 1, View::Permuted},     {{3, 4, 5}, {3, 4, 2}, -1, View::Strided},
      {{3, 4, 5}, {1, 6, 5}, 1, View::Flipped}, {{6}, {10}, 0, View::Contiguous},
      {{4, 5}, {4, 0}, 1, View::Contiguous},
  };
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::U8, DType::I64, DType::Bool}) {
    for (size_t i = 0; i < layouts.size(); ++i) {
      if (t != DType::F32 && i % 3 != 0) continue;
      GatherLayout l = layouts[i];
      for (DType it : {DType::I32, DType::I64}) {
        if (it == DType::I64 && t != DType::F32) continue;
        for (bool repeated : {false, true}) {  // repeated: indices 0 and 1 only
        std::string name = case_name("gather", "gather", dtype_str(t) + " src" + shape_str_of(l.src) + " index " +
                                                             dtype_str(it) + shape_str_of(l.index) + " axis " +
                                                             std::to_string(l.axis) + " " +
                                                             view_name(effective_view(l.view, l.src)) +
                                                             (repeated ? " repeated" : " spread"));
        cases.push_back({"gather", name, {t, it}, [=](Context& cx) {
                           Input src = make_input(cx, t, l.src, full_domain(t), l.view);
                           int axis = l.axis < 0 ? l.axis + static_cast<int>(l.src.size()) : l.axis;
                           int64_t n = repeated ? std::min<int64_t>(2, l.src[axis]) : l.src[axis];
                           Input idx = make_input(cx, indices(cx.rng, it, l.index, n));
                           return compare(ref::gather(src.ref, l.axis, idx.ref), src.t.gather(l.axis, idx.t), exact());
                         }});
        }
      }
    }
  }
  struct EmbeddingLayout {
    Shape table, ids;
  };
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32}) {
    for (const EmbeddingLayout& l : {EmbeddingLayout{{10, 4}, {3}}, EmbeddingLayout{{50, 8}, {2, 5}},
                                     EmbeddingLayout{{7, 3}, {}}, EmbeddingLayout{{7, 3}, {0}},
                                     EmbeddingLayout{{1000, 16}, {2, 3, 4}}}) {
      for (DType it : {DType::I32, DType::I64, DType::U16}) {
        if (it != DType::I32 && t != DType::F32) continue;
        // "repeated": ids from the first three rows only, so the same row is read many times.
        for (bool repeated : {false, true}) {
        std::string name = case_name("gather", "embedding", dtype_str(t) + " table" + shape_str_of(l.table) +
                                                                " ids " + dtype_str(it) + shape_str_of(l.ids) +
                                                                (repeated ? " repeated" : " spread"));
        cases.push_back({"gather", name, {t, it}, [=](Context& cx) {
                           Input table = make_input(cx, t, l.table, full_domain(t));
                           Input ids = make_input(cx, indices(cx.rng, it, l.ids, repeated ? std::min<int64_t>(3, l.table[0]) : l.table[0]));
                           return compare(ref::embedding(table.ref, ids.ref), table.t.embedding(ids.t), exact());
                         }});
        }
      }
    }
  }
}

}  // namespace kiln::opsuite
