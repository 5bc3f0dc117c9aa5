// In-place assign: whole buffers, slices (with steps), broadcast and cast values, the KV-cache
// pattern (one position per step), and lazy ops reading a buffer after it was assigned to.
#include "cases.h"

namespace kiln::opsuite {

namespace {

using std::nullopt;

void add(CaseList& cases, const std::string& op, DType t, std::function<Outcome(Context&)> fn) {
  cases.push_back({"assign", case_name("assign", op, dtype_str(t)), {t}, std::move(fn)});
}

}  // namespace

void add_assign_cases(CaseList& cases) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::U8, DType::I64, DType::Bool}) {
    Domain d = full_domain(t);
    add(cases, "empty.assign (4, 6)", t, [=](Context& cx) {
      Input x = make_input(cx, t, {4, 6}, d);
      Tensor cache = Tensor::empty({4, 6}, t, cx.device);
      cache.assign(x.t);
      return compare(x.ref, cache, exact());
    });
    add(cases, "slice [1:3] rows of (4, 6)", t, [=](Context& cx) {
      Input x = make_input(cx, t, {4, 6}, d);
      Input y = make_input(cx, t, {2, 6}, d, View::Flipped);
      Tensor cache = x.t.contiguous();
      cache.slice(0, 1, 3).assign(y.t);
      return compare(ref::assign_slice(x.ref, 0, 1, 3, 1, y.ref), cache, exact());
    });
    add(cases, "slice axis 1 [::2] of (4, 6)", t, [=](Context& cx) {
      Input x = make_input(cx, t, {4, 6}, d);
      Input y = make_input(cx, t, {4, 3}, d);
      Tensor cache = x.t.contiguous();
      cache.slice(1, nullopt, nullopt, 2).assign(y.t);
      return compare(ref::assign_slice(x.ref, 1, nullopt, nullopt, 2, y.ref), cache, exact());
    });
    add(cases, "broadcast scalar into row -1 of (4, 6)", t, [=](Context& cx) {
      Input x = make_input(cx, t, {4, 6}, d);
      Input s = make_input(cx, t, {}, d);
      Tensor cache = x.t.contiguous();
      cache.slice(0, -1, nullopt).assign(s.t);
      return compare(ref::assign_slice(x.ref, 0, -1, nullopt, 1, s.ref), cache, exact());
    });
    add(cases, "kv cache (1, 2, 8, 4) one position per step", t, [=](Context& cx) {
      ref::NDArray want(t, {1, 2, 8, 4});
      Tensor cache = make_input(cx, want).t.contiguous();
      for (int64_t pos = 0; pos < 8; ++pos) {
        Input step = make_input(cx, t, {1, 2, 1, 4}, d);
        cache.slice(2, pos, pos + 1).assign(step.t);
        want = ref::assign_slice(want, 2, pos, pos + 1, 1, step.ref);
        // Every step must see the earlier ones.
        Outcome o = compare(want, cache, exact());
        if (o.status != Status::Passed) {
          o.message = "after position " + std::to_string(pos) + ": " + o.message;
          return o;
        }
      }
      return Outcome{};
    });
  }
  add(cases, "cast f16 value into f32 slice", DType::F32, [](Context& cx) {
    Input x = make_input(cx, DType::F32, {3, 5});
    Input y = make_input(cx, DType::F16, {1, 5});
    Tensor cache = x.t.contiguous();
    cache.slice(0, 1, 2).assign(y.t);
    return compare(ref::assign_slice(x.ref, 0, 1, 2, 1, y.ref), cache, exact());
  });
  add(cases, "lazy op reads the assigned buffer", DType::F32, [](Context& cx) {
    Input x = make_input(cx, DType::F32, {4, 4});
    Input y = make_input(cx, DType::F32, {4});
    Tensor cache = x.t.contiguous();
    cache.slice(0, 0, 1).assign(y.t.reshape({1, 4}));
    ref::NDArray updated = ref::assign_slice(x.ref, 0, 0, 1, 1, ref::reshape(y.ref, {1, 4}));
    Outcome o = compare(ref::binary(ref::Binary::Mul, updated, ref::scalar(2, DType::F32)), cache * 2.0, exact());
    if (o.status != Status::Passed) return o;
    return compare(updated, cache, exact());
  });
}

}  // namespace kiln::opsuite
