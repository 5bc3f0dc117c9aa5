// conv1d and conv2d (stride, padding, dilation, groups, bias, non-contiguous input),
// avg_pool2d (padding counted in the divisor) and nearest upsampling.
#include "cases.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

struct ConvLayout {
  Shape x, w;
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups;
  bool bias;
  View view = View::Contiguous;
};

std::string ints(const std::vector<int64_t>& v) { return shape_str_of(v); }

std::string detail(DType t, const ConvLayout& l) {
  return dtype_str(t) + " x" + shape_str_of(l.x) + " w" + shape_str_of(l.w) + " s" + ints(l.stride) + " p" +
         ints(l.padding) + " d" + ints(l.dilation) + " g" + std::to_string(l.groups) + (l.bias ? " bias " : " ") +
         view_name(effective_view(l.view, l.x));
}

Tolerance conv_tolerance(DType t) { return {ref::epsilon(t), 0, t == DType::F32 ? 1e-5 : 1e-4}; }

}  // namespace

void add_conv_cases(CaseList& cases) {
  const std::vector<ConvLayout> conv1d{
      {{1, 1, 5}, {1, 1, 3}, {1}, {0}, {1}, 1, false},
      {{2, 3, 10}, {4, 3, 3}, {1}, {1}, {1}, 1, true},
      {{2, 4, 11}, {6, 2, 3}, {2}, {2}, {2}, 2, true},
      {{1, 4, 9}, {4, 1, 5}, {1}, {2}, {1}, 4, false},  // depthwise
      {{2, 3, 16}, {8, 3, 1}, {3}, {0}, {1}, 1, true, View::Permuted},
      {{1, 2, 7}, {3, 2, 7}, {1}, {0}, {1}, 1, true},   // kernel = input
      {{1, 80, 30}, {16, 80, 3}, {1}, {1}, {1}, 1, true},  // Whisper-like front end
  };
  const std::vector<ConvLayout> conv2d{
      {{1, 1, 4, 4}, {1, 1, 3, 3}, {1}, {0}, {1}, 1, false},
      {{2, 3, 8, 8}, {4, 3, 3, 3}, {1}, {1}, {1}, 1, true, View::Flipped},
      {{1, 4, 9, 7}, {6, 2, 3, 2}, {2, 1}, {1, 0}, {1, 2}, 2, true},
      {{1, 6, 6, 6}, {6, 1, 3, 3}, {1}, {1}, {1}, 6, false},  // depthwise
      {{2, 3, 7, 7}, {5, 3, 1, 1}, {1}, {0}, {1}, 1, true, View::Strided},
      {{1, 2, 10, 10}, {2, 2, 3, 3}, {2}, {2}, {3}, 1, true},
      {{1, 4, 5, 5}, {2, 4, 3, 3}, {2}, {1}, {1}, 1, false, View::Padded},
  };
  for (DType t : float_dtypes()) {
    for (bool two_d : {false, true}) {
      const auto& all = two_d ? conv2d : conv1d;
      for (size_t i = 0; i < all.size(); ++i) {
        if (t != DType::F32 && i % 3 != 2) continue;
        ConvLayout l = all[i];
        std::string op = two_d ? "conv2d" : "conv1d";
        for (double range : {2.0, 100.0}) {
        std::string values = range == 2 ? " typical" : " wide";
        cases.push_back({"conv", case_name("conv", op, detail(t, l) + values), {t}, [=](Context& cx) {
                           Input x = make_input(cx, t, l.x, Domain::range(-range, range), l.view);
                           Input w = make_input(cx, t, l.w, Domain::range(-1, 1));
                           Input b = make_input(cx, t, {l.w[0]}, Domain::range(-1, 1));
                           ref::ConvParams p{l.stride, l.padding, l.dilation, l.groups};
                           nn::ConvOptions o{l.stride, l.padding, l.dilation, l.groups};
                           const ref::NDArray* rb = l.bias ? &b.ref : nullptr;
                           Tensor tb = l.bias ? b.t : Tensor();
                           ref::NDArray want = ref::conv(x.ref, w.ref, rb, p);
                           ref::NDArray ax = ref::unary(ref::Unary::Abs, ref::cast(x.ref, DType::F64));
                           ref::NDArray aw = ref::unary(ref::Unary::Abs, ref::cast(w.ref, DType::F64));
                           ref::NDArray ab = ref::unary(ref::Unary::Abs, ref::cast(b.ref, DType::F64));
                           ref::NDArray mag = ref::conv(ax, aw, l.bias ? &ab : nullptr, p);
                           Tensor got = two_d ? nn::conv2d(x.t, w.t, tb, o) : nn::conv1d(x.t, w.t, tb, o);
                           return compare(want, got, conv_tolerance(t), &mag);
                         }});
        }
      }
    }
  }
  struct PoolLayout {
    Shape x;
    std::vector<int64_t> kernel, stride, padding;
    View view;
  };
  for (DType t : float_dtypes()) {
    for (const PoolLayout& l : {PoolLayout{{1, 2, 4, 4}, {2}, {}, {0}, View::Contiguous},
                                PoolLayout{{2, 3, 7, 6}, {3, 2}, {2, 1}, {1, 0}, View::Contiguous},
                                PoolLayout{{1, 1, 5, 5}, {3}, {1}, {1}, View::Permuted},
                                PoolLayout{{1, 4, 8, 8}, {2}, {2}, {0}, View::Strided}}) {
      if (t != DType::F32 && l.x != Shape{1, 2, 4, 4}) continue;
      std::string name = case_name("conv", "avg_pool2d", dtype_str(t) + " x" + shape_str_of(l.x) + " k" +
                                                             ints(l.kernel) + " s" + ints(l.stride) + " p" +
                                                             ints(l.padding) + " " +
                                                             view_name(effective_view(l.view, l.x)));
      cases.push_back({"conv", name, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, l.x, Domain::range(-2, 2), l.view);
                         return compare(ref::avg_pool2d(x.ref, l.kernel, l.stride, l.padding),
                                        nn::avg_pool2d(x.t, l.kernel, l.stride, l.padding),
                                        {2 * ref::epsilon(t), 1e-6, 0});
                       }});
    }
    for (auto [shape, scale] : std::vector<std::pair<Shape, int64_t>>{{{1, 2, 3, 4}, 2}, {{2, 1, 2, 2}, 3},
                                                                      {{1, 1, 1, 1}, 4}}) {
      if (t != DType::F32 && scale != 2) continue;
      Shape s = shape;
      int64_t k = scale;
      std::string name = case_name("conv", "upsample_nearest2d", dtype_str(t) + " x" + shape_str_of(s) + " scale " +
                                                                     std::to_string(k));
      cases.push_back({"conv", name, {t}, [=](Context& cx) {
                         Input x = make_input(cx, t, s, Domain::range(-2, 2), View::Flipped);
                         return compare(ref::upsample_nearest2d(x.ref, k), nn::upsample_nearest2d(x.t, k), exact());
                       }});
    }
  }
}

}  // namespace kiln::opsuite
