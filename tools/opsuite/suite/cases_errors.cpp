// Bad input: shape mismatches, invalid axes and dtype misuse must throw kiln::Error whose
// message names the shapes (or dtypes) involved — when the op is called, before anything runs —
// and never crash.
#include "cases.h"
#include "kiln/device_runtime.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

using std::nullopt;
using Pads = std::vector<std::pair<int64_t, int64_t>>;

// A case whose body builds the bad op; fn gets the device and returns nothing.
void add(CaseList& cases, const std::string& what, std::vector<std::string> mentions,
         std::function<void(Device*)> fn) {
  cases.push_back({"errors", case_name("errors", what, ""), {DType::F32},
                   [=](Context& cx) { return expect_error([&] { fn(cx.device); }, mentions); }});
}

Tensor z(const Shape& s, Device* d, DType t = DType::F32) { return Tensor::zeros(s, t, d); }

}  // namespace

void add_error_cases(CaseList& cases) {
  const std::string s23 = shape_str({2, 3}), s4 = shape_str({4}), s34 = shape_str({3, 4});
  const std::string s45 = shape_str({4, 5}), s33 = shape_str({3, 3});
  // Broadcasting.
  add(cases, "add (2, 3)+(4)", {s23, s4}, [](Device* d) { z({2, 3}, d) + z({4}, d); });
  add(cases, "mul (2, 3)*(3, 4)", {s23, s34}, [](Device* d) { z({2, 3}, d) * z({3, 4}, d); });
  add(cases, "lt (2, 3)<(4)", {s23, s4}, [](Device* d) { z({2, 3}, d).lt(z({4}, d)); });
  add(cases, "maximum (2, 3),(3, 4)", {s23, s34}, [](Device* d) { z({2, 3}, d).maximum(z({3, 4}, d)); });
  add(cases, "where cond (2, 3) a (4)", {s23, s4}, [](Device* d) {
    Tensor::where(z({2, 3}, d, DType::Bool), z({4}, d), z({1}, d));
  });
  // matmul.
  add(cases, "matmul (2, 3)@(4, 5)", {s23, s45}, [](Device* d) { z({2, 3}, d).matmul(z({4, 5}, d)); });
  add(cases, "matmul batch (2, 2, 3)@(3, 3, 4)", {shape_str({2, 2, 3}), shape_str({3, 3, 4})},
      [](Device* d) { z({2, 2, 3}, d).matmul(z({3, 3, 4}, d)); });
  add(cases, "matmul of a scalar", {shape_str({}), s34}, [](Device* d) { z({}, d).matmul(z({3, 4}, d)); });
  add(cases, "linear weight (5, 4) for x (2, 3)", {s23, shape_str({5, 4})},
      [](Device* d) { nn::linear(z({2, 3}, d), z({5, 4}, d)); });
  // Movement.
  add(cases, "reshape (2, 3) to (4, 2)", {s23, shape_str({4, 2})}, [](Device* d) { z({2, 3}, d).reshape({4, 2}); });
  add(cases, "reshape with two -1", {s23}, [](Device* d) { z({2, 3}, d).reshape({-1, -1}); });
  add(cases, "permute wrong length", {s23}, [](Device* d) { z({2, 3}, d).permute({0}); });
  add(cases, "permute repeated axis", {s23}, [](Device* d) { z({2, 3}, d).permute({1, 1}); });
  add(cases, "expand (2, 3) to (2, 4)", {s23, shape_str({2, 4})}, [](Device* d) { z({2, 3}, d).expand({2, 4}); });
  add(cases, "pad with 1 pair for rank 2", {s23}, [](Device* d) { z({2, 3}, d).pad(Pads{{1, 1}}); });
  add(cases, "shrink past the end", {s23}, [](Device* d) { z({2, 3}, d).shrink(Pads{{0, 2}, {1, 4}}); });
  add(cases, "flip axis 2 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).flip({2}); });
  add(cases, "slice step 0", {s23}, [](Device* d) { z({2, 3}, d).slice(1, 0, 2, 0); });
  add(cases, "slice axis -3 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).slice(-3, 0, 1); });
  add(cases, "squeeze axis 2 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).squeeze(2); });
  add(cases, "unsqueeze axis 4 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).unsqueeze(4); });
  add(cases, "transpose axis 5", {s23}, [](Device* d) { z({2, 3}, d).transpose(0, 5); });
  add(cases, "repeat with fewer entries than dims", {s23}, [](Device* d) { z({2, 3}, d).repeat({2}); });
  add(cases, "cat (2, 3) and (3, 3) along 1", {s23, s33}, [](Device* d) { Tensor::cat({z({2, 3}, d), z({3, 3}, d)}, 1); });
  add(cases, "cat of ranks 2 and 1", {s23, s4}, [](Device* d) { Tensor::cat({z({2, 3}, d), z({4}, d)}, 0); });
  add(cases, "stack (2, 3) and (3, 3)", {s23, s33}, [](Device* d) { Tensor::stack({z({2, 3}, d), z({3, 3}, d)}); });
  add(cases, "cat of no tensors", {}, [](Device*) { Tensor::cat({}, 0); });
  // Axes of reductions and composite ops.
  add(cases, "sum axis 2 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).sum({2}); });
  add(cases, "max axis -3 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).max({-3}); });
  add(cases, "sum repeated axis", {s23}, [](Device* d) { z({2, 3}, d).sum({1, -1}); });
  add(cases, "argmax axis 2 of rank 2", {s23}, [](Device* d) { z({2, 3}, d).argmax(2); });
  add(cases, "softmax axis 5", {s23}, [](Device* d) { z({2, 3}, d).softmax(5); });
  add(cases, "cumsum axis -4", {s23}, [](Device* d) { z({2, 3}, d).cumsum(-4); });
  add(cases, "topk k=4 of 3", {s23}, [](Device* d) { z({2, 3}, d).topk(4); });
  add(cases, "gather index of rank 1 into rank 2", {s23, s4},
      [](Device* d) { z({2, 3}, d).gather(1, z({4}, d, DType::I32)); });
  add(cases, "gather axis 2", {s23}, [](Device* d) { z({2, 3}, d).gather(2, z({2, 3}, d, DType::I32)); });
  // Dtype misuse.
  add(cases, "embedding with f32 ids", {"f32"}, [](Device* d) { z({10, 4}, d).embedding(z({3}, d)); });
  add(cases, "gather with f32 index", {"f32"}, [](Device* d) { z({2, 3}, d).gather(1, z({2, 3}, d)); });
  add(cases, "embedding table of rank 1", {shape_str({10})},
      [](Device* d) { z({10}, d).embedding(z({3}, d, DType::I32)); });
  add(cases, "bitcast f32 to i16", {"f32", "i16"}, [](Device* d) { z({2, 3}, d).bitcast(DType::I16); });
  add(cases, "bitwise_and on f32", {"f32"}, [](Device* d) { z({2, 3}, d).bitwise_and(z({2, 3}, d)); });
  add(cases, "shl on f32", {"f32"}, [](Device* d) { z({2, 3}, d).shl(z({2, 3}, d)); });
  add(cases, "dtype_from_name", {"f33"}, [](Device*) { dtype_from_name("f33"); });
  // nn.
  add(cases, "conv2d channels (1, 3, 8, 8) with weight (4, 2, 3, 3)", {shape_str({1, 3, 8, 8}), shape_str({4, 2, 3, 3})},
      [](Device* d) { nn::conv2d(z({1, 3, 8, 8}, d), z({4, 2, 3, 3}, d)); });
  add(cases, "conv2d kernel larger than input", {shape_str({1, 1, 2, 2}), shape_str({1, 1, 3, 3})},
      [](Device* d) { nn::conv2d(z({1, 1, 2, 2}, d), z({1, 1, 3, 3}, d)); });
  add(cases, "conv1d of a rank-4 input", {shape_str({1, 1, 4, 4})},
      [](Device* d) { nn::conv1d(z({1, 1, 4, 4}, d), z({1, 1, 3}, d)); });
  add(cases, "conv2d groups 2 with 3 channels", {shape_str({1, 3, 8, 8})}, [](Device* d) {
    nn::ConvOptions o;
    o.groups = 2;
    nn::conv2d(z({1, 3, 8, 8}, d), z({4, 1, 3, 3}, d), Tensor(), o);
  });
  add(cases, "avg_pool2d of rank 3", {shape_str({1, 4, 4})}, [](Device* d) { nn::avg_pool2d(z({1, 4, 4}, d), {2}); });
  add(cases, "layer_norm weight (5) for (2, 4)", {shape_str({2, 4}), shape_str({5})},
      [](Device* d) { nn::layer_norm(z({2, 4}, d), z({5}, d), Tensor(), 1e-5); });
  add(cases, "rms_norm weight (3) for (2, 4)", {shape_str({2, 4}), shape_str({3})},
      [](Device* d) { nn::rms_norm(z({2, 4}, d), z({3}, d), 1e-6); });
  add(cases, "group_norm 3 groups of 4 channels", {shape_str({1, 4, 2, 2})},
      [](Device* d) { nn::group_norm(z({1, 4, 2, 2}, d), 3, Tensor(), Tensor(), 1e-5); });
  add(cases, "sdpa 3 query heads over 2 kv heads", {shape_str({1, 3, 4, 8}), shape_str({1, 2, 4, 8})},
      [](Device* d) { nn::scaled_dot_product_attention(z({1, 3, 4, 8}, d), z({1, 2, 4, 8}, d), z({1, 2, 4, 8}, d)); });
  add(cases, "sdpa head_dim 8 vs 16", {shape_str({1, 2, 4, 8}), shape_str({1, 2, 4, 16})},
      [](Device* d) { nn::scaled_dot_product_attention(z({1, 2, 4, 8}, d), z({1, 2, 4, 16}, d), z({1, 2, 4, 16}, d)); });
  add(cases, "sdpa of rank-3 q", {shape_str({2, 4, 8})},
      [](Device* d) { nn::scaled_dot_product_attention(z({2, 4, 8}, d), z({2, 4, 8}, d), z({2, 4, 8}, d)); });
  // Data and handles.
  add(cases, "from_host 10 bytes for f32 (2, 3)", {s23}, [](Device* d) {
    std::vector<uint8_t> bytes(10);
    Tensor::from_host(bytes.data(), bytes.size(), DType::F32, {2, 3}, d);
  });
  add(cases, "full with a negative dim", {shape_str({2, -3})}, [](Device* d) { Tensor::full({2, -3}, 1.0, DType::F32, d); });
  add(cases, "assign (4) into (2, 3)", {s23, s4}, [](Device* d) {
    Tensor t = Tensor::empty({2, 3}, DType::F32, d);
    t.assign(z({4}, d));
  });
  add(cases, "item of (2, 3)", {s23}, [](Device* d) { z({2, 3}, d).item(); });
  add(cases, "copy_to_host with a short buffer", {s23}, [](Device* d) {
    std::vector<uint8_t> bytes(8);
    z({2, 3}, d).copy_to_host(bytes.data(), bytes.size());
  });
  add(cases, "ops on an empty handle", {}, [](Device*) { Tensor() + Tensor(); });
  add(cases, "shape of an empty handle", {}, [](Device*) { Tensor().shape(); });
  add(cases, "randint with low >= high", {}, [](Device* d) { Tensor::randint({4}, 5, 5, 1, DType::I32, d); });
  add(cases, "variable bound outside its range", {"7"}, [](Device*) {
    Variable v("opsuite_bad", 0, 5);
    v.bind(7);
  });
  add(cases, "device that does not exist", {"no_such_device"}, [](Device*) { Device::get("no_such_device"); });
}

}  // namespace kiln::opsuite
