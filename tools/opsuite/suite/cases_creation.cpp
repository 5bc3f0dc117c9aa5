// Creation and data movement: from_host round trips of every dtype, full/zeros/ones/scalar,
// arange, eye, to_vector and item conversions, realize_all, and copies between devices.
#include <cmath>
#include <cstring>

#include "cases.h"
#include "kiln/device_runtime.h"

namespace kiln::opsuite {

namespace {

ref::NDArray filled(DType t, const Shape& s, double v) {
  ref::NDArray a(t, s);
  for (double& x : a.data) x = ref::cast_value(v, DType::F64, t);
  return a;
}

void add(CaseList& cases, const std::string& op, const std::string& detail, std::vector<DType> dtypes,
         std::function<Outcome(Context&)> fn) {
  cases.push_back({"creation", case_name("creation", op, detail), std::move(dtypes), std::move(fn)});
}

// Values to_vector<T> should give: the element converted with static_cast.
template <class T>
Outcome check_vector(const std::vector<T>& got, const ref::NDArray& want) {
  if (got.size() != want.data.size())
    return Outcome::fail(std::to_string(got.size()) + " values, expected " + std::to_string(want.data.size()));
  for (size_t i = 0; i < got.size(); ++i)
    if (static_cast<double>(got[i]) != static_cast<double>(static_cast<T>(want.data[i])))
      return Outcome::fail("value " + std::to_string(i) + ": got " + std::to_string(static_cast<double>(got[i])) +
                           ", expected " + std::to_string(want.data[i]));
  return {};
}

}  // namespace

void add_creation_cases(CaseList& cases) {
  for (DType t : all_dtypes()) {
    for (const Shape& s : {Shape{}, Shape{7}, Shape{0, 3}, Shape{33, 17}, Shape{2, 3, 4, 5}}) {
      add(cases, "from_host", dtype_str(t) + " " + shape_str_of(s), {t}, [=](Context& cx) {
        Input x = make_input(cx, t, s, full_domain(t));
        return compare(x.ref, x.t, exact());
      });
    }
    double v = t == DType::Bool ? 1 : ref::is_float_type(t) ? -1.75 : ref::is_unsigned_type(t) ? 7 : -3;
    add(cases, "full", dtype_str(t) + " (3, 4) " + std::to_string(v), {t}, [=](Context& cx) {
      return compare(filled(t, {3, 4}, v), Tensor::full({3, 4}, v, t, cx.device), exact());
    });
    add(cases, "zeros", dtype_str(t) + " (2, 5)", {t}, [=](Context& cx) {
      return compare(filled(t, {2, 5}, 0), Tensor::zeros({2, 5}, t, cx.device), exact());
    });
    add(cases, "ones", dtype_str(t) + " (5)", {t}, [=](Context& cx) {
      return compare(filled(t, {5}, 1), Tensor::ones({5}, t, cx.device), exact());
    });
    add(cases, "scalar", dtype_str(t), {t}, [=](Context& cx) {
      return compare(filled(t, {}, v), Tensor::scalar(v, t, cx.device), exact());
    });
    // A constant combined with data: the folded constant must have the right dtype.
    if (t != DType::Bool)
      add(cases, "full+data", dtype_str(t) + " (3, 4)", {t}, [=](Context& cx) {
        Input x = make_input(cx, t, {3, 4}, ref::is_float_type(t) ? Domain::range(-3, 3) : Domain::range(0, 20));
        ref::NDArray want = ref::binary(ref::Binary::Add, x.ref, filled(t, {3, 4}, v));
        return compare(want, x.t + Tensor::full({3, 4}, v, t, cx.device), ulps(t, 1));
      });
  }
  for (DType t : {DType::I32, DType::I64, DType::F32, DType::F16, DType::U8}) {
    add(cases, "arange", dtype_str(t) + " n=10", {t}, [=](Context& cx) {
      ref::NDArray want(t, {10});
      for (int i = 0; i < 10; ++i) want.data[i] = i;
      return compare(want, Tensor::arange(10, t, cx.device), exact());
    });
  }
  struct Range {
    double start, stop, step;
    DType t;
  };
  for (const Range& r : {Range{0.5, 3.0, 0.25, DType::F32}, Range{10, 0, -3, DType::I32},
                         Range{-1, 1, 0.5, DType::F16}, Range{0, 1, 0.1, DType::F32}}) {
    add(cases, "arange", dtype_str(r.t) + " " + std::to_string(r.start) + ":" + std::to_string(r.stop) + ":" +
                             std::to_string(r.step),
        {r.t}, [=](Context& cx) {
          int64_t n = static_cast<int64_t>(std::ceil((r.stop - r.start) / r.step));
          ref::NDArray want(r.t, {n});
          for (int64_t i = 0; i < n; ++i) want.data[i] = ref::round_to(r.t, r.start + static_cast<double>(i) * r.step);
          return compare(want, Tensor::arange(r.start, r.stop, r.step, r.t, cx.device), ulps(r.t, 1));
        });
  }
  for (DType t : {DType::F32, DType::I32, DType::F16, DType::Bool}) {
    add(cases, "eye", dtype_str(t) + " 4", {t}, [=](Context& cx) {
      ref::NDArray want(t, {4, 4});
      for (int i = 0; i < 4; ++i) want.data[i * 5] = 1;
      return compare(want, Tensor::eye(4, t, cx.device), exact());
    });
  }
  add(cases, "empty", "f32 (3, 0, 2) shape", {DType::F32}, [](Context& cx) {
    Tensor e = Tensor::empty({3, 0, 2}, DType::F32, cx.device);
    if (e.shape() != Shape{3, 0, 2} || e.numel() != 0 || e.ndim() != 3 || e.dim(-1) != 2)
      return Outcome::fail("empty tensor reports shape " + shape_str_of(e.shape()));
    return Outcome{};
  });
  add(cases, "to_vector", "i32 as float, f16 as double, f32 as int64, bool as uint8", {DType::I32, DType::F16},
      [](Context& cx) {
        Input a = make_input(cx, DType::I32, {3, 5}, Domain::range(-1000, 1000));
        if (Outcome o = check_vector(a.t.to_vector<float>(), a.ref); o.status != Status::Passed) return o;
        Input b = make_input(cx, DType::F16, {7});
        if (Outcome o = check_vector(b.t.to_vector<double>(), b.ref); o.status != Status::Passed) return o;
        Input c = make_input(cx, DType::F32, {2, 2}, Domain::range(-100, 100));
        if (Outcome o = check_vector(c.t.to_vector<int64_t>(), c.ref); o.status != Status::Passed) return o;
        Input d = make_input(cx, DType::Bool, {9}, full_domain(DType::Bool));
        return check_vector(d.t.to_vector<uint8_t>(), d.ref);
      });
  add(cases, "item", "f32 () and i64 (1, 1)", {DType::F32, DType::I64}, [](Context& cx) {
    Input a = make_input(cx, DType::F32, {});
    Input b = make_input(cx, DType::I64, {1, 1}, full_domain(DType::I64));
    if (a.t.item() != a.ref.data[0]) return Outcome::fail("item() " + std::to_string(a.t.item()));
    if (b.t.item() != b.ref.data[0]) return Outcome::fail("item() " + std::to_string(b.t.item()));
    return Outcome{};
  });
  add(cases, "realize_all", "shared subgraph", {DType::F32}, [](Context& cx) {
    Input x = make_input(cx, DType::F32, {8, 8});
    Tensor shared = x.t.exp();
    Tensor a = shared + 1.0, b = shared.sum({1});
    realize_all({&a, &b});
    ref::NDArray e = ref::unary(ref::Unary::Exp, x.ref);
    Outcome o = compare(ref::binary(ref::Binary::Add, e, ref::scalar(1, DType::F32)), a, {1e-5, 1e-6, 0});
    if (o.status != Status::Passed) return o;
    ref::NDArray mag = ref::abs_sum(e, {1});
    return compare(ref::sum(e, {1}), b, {1e-5, 1e-6, 1e-5}, &mag);
  });
  add(cases, "to", "f32 and i8 to the same device and back", {DType::F32, DType::I8}, [](Context& cx) {
    for (DType t : {DType::F32, DType::I8}) {
      Input x = make_input(cx, t, {5, 6}, full_domain(t), View::Permuted);
      Tensor y = x.t.to(cx.device);
      if (y.device() != cx.device) return Outcome::fail("to(device) gave a tensor on another device");
      Outcome o = compare(x.ref, y, exact());
      if (o.status != Status::Passed) return o;
    }
    return Outcome{};
  });
  add(cases, "to", "f16 to cpu and back", {DType::F16}, [](Context& cx) {
    Device* cpu = nullptr;
    try {
      cpu = Device::get("cpu");
    } catch (const Error&) {
      return Outcome::skip("no cpu device to copy to");
    }
    if (cpu == cx.device) return Outcome::skip("the device is the cpu");
    Input x = make_input(cx, DType::F16, {4, 9}, Domain::range(-3, 3), View::Flipped);
    Tensor on_cpu = x.t.to(cpu);
    Outcome o = compare(x.ref, on_cpu, exact());
    if (o.status != Status::Passed) return o;
    return compare(x.ref, (on_cpu * 1.0).to(cx.device), exact());
  });
}

}  // namespace kiln::opsuite
