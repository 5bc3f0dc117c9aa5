// bench_cpu_llvm: per-launch overhead and memory bandwidth of the cpu_llvm device, printed as
// JSON. Not a test (figures depend on the machine); run it by hand:
//   build/bin/bench_cpu_llvm [--quick]
// Kernels are hand-written IR in the shapes the code generator emits (8-lane loads, vector
// accumulators), so the figures show what the device can do with good IR.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "ir_builder.h"
#include "kiln/plugin_loader.h"

#if KILN_BENCH_OPENBLAS
#include <cblas.h>
#endif

using kt::IrBuilder;
using clock_type = std::chrono::steady_clock;

namespace {

struct Device {
  kiln::PluginHandle handle;
  const kiln_device_api* api;
  kiln_device* dev = nullptr;
  char err[1 << 16];

  Device() {
    handle = kiln::load_plugin(KILN_PLUGIN_DIR "/cpu_llvm.so", KILN_PLUGIN_DEVICE);
    api = static_cast<const kiln_device_api*>(handle.api());
    check(api->open(0, &dev, {err, sizeof err}));
  }
  ~Device() { api->close(dev); }
  void check(kiln_status st) {
    if (st != KILN_OK) throw std::runtime_error(err);
  }
  kiln_program* build(const IrBuilder& b) {
    kiln_kernel k = b.kernel();
    char* text;
    size_t len;
    check(api->render(dev, &k, &text, &len, {err, sizeof err}));
    void* blob;
    size_t blob_len;
    check(api->compile(dev, text, len, &blob, &blob_len, {err, sizeof err}));
    api->free_text(dev, text);
    kiln_program* p;
    check(api->load(dev, blob, blob_len, k.name, &p, {err, sizeof err}));
    api->free_blob(dev, blob);
    return p;
  }
  kiln_buffer* alloc(size_t bytes) {
    kiln_buffer* b;
    check(api->alloc(dev, bytes, &b, {err, sizeof err}));
    std::memset(api->host_pointer(dev, b), 1, bytes);  // fault the pages in
    return b;
  }
  kiln_launch launch(kiln_program* p, std::vector<kiln_buffer*>& bufs, uint32_t gx) {
    return {p, bufs.data(), uint32_t(bufs.size()), nullptr, 0, {gx, 1, 1}, {1, 1, 1}};
  }
  void run(const kiln_launch& l) { check(api->launch(dev, &l, nullptr, {err, sizeof err})); }
};

template <class F>
double seconds_per_call(int reps, F&& f) {
  f();  // warm up
  auto t0 = clock_type::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double>(clock_type::now() - t0).count() / reps;
}

// out[g*64 + j*8 .. +8] = x[...] (+ y[...] when `add`), 8 lanes at a time.
IrBuilder elementwise(const char* name, bool add) {
  IrBuilder b(name);
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
  int32_t y = add ? b.param(KILN_DTYPE_F32, 2) : -1;
  int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 64));
  int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 8), KILN_IR_FLAG_UNROLL);
  int32_t at = b.alu(KILN_IR_ADD, base, b.alu(KILN_IR_MUL, j, b.ci(KILN_DTYPE_I32, 8)));
  int32_t v = b.load(x, at, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  if (add) v = b.alu(KILN_IR_ADD, v, b.load(y, at, 8, -1, -1, KILN_IR_FLAG_ALIGNED));
  b.store(out, at, v, 8, -1, KILN_IR_FLAG_ALIGNED);
  b.end_range(j);
  return b;
}

// y[r] = sum_k W[r*K + k] * x[k], one row per group, an 8-lane accumulator.
IrBuilder gemv(int64_t K) {
  IrBuilder b("gemv_f32");
  int32_t y = b.param(KILN_DTYPE_F32, 0), w = b.param(KILN_DTYPE_F32, 1), x = b.param(KILN_DTYPE_F32, 2);
  int32_t row = b.cast(KILN_DTYPE_I64, b.gid(0));
  int32_t base = b.alu(KILN_IR_MUL, row, b.ci(KILN_DTYPE_I64, K));
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0, 8));
  int32_t k = b.range(b.ci(KILN_DTYPE_I64, 0), b.ci(KILN_DTYPE_I64, K / 8), KILN_IR_FLAG_REDUCE);
  int32_t k8 = b.alu(KILN_IR_MUL, k, b.ci(KILN_DTYPE_I64, 8));
  int32_t wv = b.load(w, b.alu(KILN_IR_ADD, base, k8), 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t xv = b.load(x, k8, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  b.assign(acc, b.alu(KILN_IR_MULADD, wv, xv, acc));
  b.end_range(k);
  int32_t s = b.gep(acc, 0);
  for (int l = 1; l < 8; ++l) s = b.alu(KILN_IR_ADD, s, b.gep(acc, l));
  b.store(y, b.gid(0), s);
  return b;
}

// C[M,N] = A[M,K] B[K,N], f32 row-major. Each group computes a 4 x 16 tile of C in eight
// 8-lane accumulators: the register-tiled shape a GEMM takes after upcasting.
IrBuilder gemm(int64_t N, int64_t K) {
  IrBuilder b("gemm_f32_4x16");
  int32_t c = b.param(KILN_DTYPE_F32, 0), a = b.param(KILN_DTYPE_F32, 1), bm = b.param(KILN_DTYPE_F32, 2);
  int32_t col = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 16));
  int32_t row = b.alu(KILN_IR_MUL, b.gid(1), b.ci(KILN_DTYPE_I32, 4));
  int32_t acc[4][2];
  for (auto& r : acc)
    for (auto& x : r) x = b.acc(b.cf(KILN_DTYPE_F32, 0.0, 8));
  int32_t k = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, K), KILN_IR_FLAG_REDUCE);
  int32_t brow = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, k, b.ci(KILN_DTYPE_I32, N)), col);
  int32_t b0 = b.load(bm, brow, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  int32_t b1 = b.load(bm, b.alu(KILN_IR_ADD, brow, b.ci(KILN_DTYPE_I32, 8)), 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  for (int r = 0; r < 4; ++r) {
    int32_t at = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, b.alu(KILN_IR_ADD, row, b.ci(KILN_DTYPE_I32, r)),
                                          b.ci(KILN_DTYPE_I32, K)), k);
    int32_t av = b.load(a, at);
    b.assign(acc[r][0], b.alu(KILN_IR_MULADD, b0, av, acc[r][0]));
    b.assign(acc[r][1], b.alu(KILN_IR_MULADD, b1, av, acc[r][1]));
  }
  b.end_range(k);
  for (int r = 0; r < 4; ++r) {
    int32_t at = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, b.alu(KILN_IR_ADD, row, b.ci(KILN_DTYPE_I32, r)),
                                          b.ci(KILN_DTYPE_I32, N)), col);
    b.store(c, at, acc[r][0], 8, -1, KILN_IR_FLAG_ALIGNED);
    b.store(c, b.alu(KILN_IR_ADD, at, b.ci(KILN_DTYPE_I32, 8)), acc[r][1], 8, -1, KILN_IR_FLAG_ALIGNED);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const int reps = quick ? 2000 : 100000;
  try {
    Device d;
    kiln_device_caps caps;
    d.api->get_caps(d.dev, &caps);

    // 1. A one-group kernel: the fixed cost of a launch.
    IrBuilder tiny("tiny");
    int32_t out = tiny.param(KILN_DTYPE_F32, 0);
    tiny.store(out, tiny.gid(0), tiny.cf(KILN_DTYPE_F32, 1.0));
    kiln_program* pt = d.build(tiny);
    std::vector<kiln_buffer*> tb = {d.alloc(64)};
    kiln_launch lt = d.launch(pt, tb, 1);
    double tiny_us = 1e6 * seconds_per_call(reps, [&] { d.run(lt); });

    // 2. A small elementwise add (4096 floats, as in a decode step).
    kiln_program* pa = d.build(elementwise("add_small", true));
    std::vector<kiln_buffer*> sb = {d.alloc(4096 * 4), d.alloc(4096 * 4), d.alloc(4096 * 4)};
    kiln_launch ls = d.launch(pa, sb, 4096 / 64);
    double small_us = 1e6 * seconds_per_call(reps, [&] { d.run(ls); });

    // 3. The same small add on 256k floats: large enough to be spread over the threads.
    std::vector<kiln_buffer*> mb = {d.alloc(262144 * 4), d.alloc(262144 * 4), d.alloc(262144 * 4)};
    kiln_launch lm = d.launch(pa, mb, 262144 / 64);
    double mid_us = 1e6 * seconds_per_call(reps / 20, [&] { d.run(lm); });

    // 4. A graph of 16 tiny launches, replayed.
    std::vector<kiln_launch> list(16, lt);
    kiln_graph* g;
    d.check(d.api->graph_create(d.dev, list.data(), 16, &g, {d.err, sizeof d.err}));
    double graph_us = 1e6 / 16 * seconds_per_call(reps / 16, [&] {
      d.check(d.api->graph_launch(d.dev, g, list.data(), 16, {d.err, sizeof d.err}));
    });
    d.api->graph_destroy(d.dev, g);

    // 5. Bandwidth: a copy kernel and a GEMV over a 64 MiB matrix, against memcpy.
    const size_t bytes = size_t(64) << 20, n = bytes / 4;
    kiln_program* pc = d.build(elementwise("copy_big", false));
    std::vector<kiln_buffer*> cb = {d.alloc(bytes), d.alloc(bytes)};
    kiln_launch lc = d.launch(pc, cb, uint32_t(n / 64));
    const int big_reps = quick ? 3 : 20;
    double copy_s = seconds_per_call(big_reps, [&] { d.run(lc); });
    void* dst = d.api->host_pointer(d.dev, cb[0]);
    void* src = d.api->host_pointer(d.dev, cb[1]);
    double memcpy_s = seconds_per_call(big_reps, [&] { std::memcpy(dst, src, bytes); });

    const int64_t K = 4096, M = int64_t(n) / K;
    kiln_program* pg = d.build(gemv(K));
    std::vector<kiln_buffer*> gb = {d.alloc(M * 4), cb[1], d.alloc(K * 4)};
    kiln_launch lg = d.launch(pg, gb, uint32_t(M));
    double gemv_s = seconds_per_call(big_reps, [&] { d.run(lg); });

    // 6. GEMM 512^3 from a register-tiled kernel, against OpenBLAS on the same data.
    const int64_t S = 512;
    kiln_program* pm = d.build(gemm(S, S));
    std::vector<kiln_buffer*> mm = {d.alloc(S * S * 4), d.alloc(S * S * 4), d.alloc(S * S * 4)};
    kiln_launch lmm = {pm, mm.data(), 3, nullptr, 0, {uint32_t(S / 16), uint32_t(S / 4), 1}, {1, 1, 1}};
    double gemm_s = seconds_per_call(quick ? 2 : 10, [&] { d.run(lmm); });
    const double flops = 2.0 * S * S * S;
    double blas_gflops = 0;
#if KILN_BENCH_OPENBLAS
    {
      auto* A = static_cast<float*>(d.api->host_pointer(d.dev, mm[1]));
      auto* B = static_cast<float*>(d.api->host_pointer(d.dev, mm[2]));
      std::vector<float> C(S * S);
      double blas_s = seconds_per_call(quick ? 2 : 10, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, S, S, 1.0f, A, S, B, S, 0.0f,
                    C.data(), S);
      });
      blas_gflops = flops / blas_s * 1e-9;
      const float* mine = static_cast<float*>(d.api->host_pointer(d.dev, mm[0]));
      for (int64_t i = 0; i < S * S; i += 997)
        if (std::fabs(mine[i] - C[i]) > 1e-3f * std::fabs(C[i]) + 1e-3f)
          throw std::runtime_error("gemm kernel disagrees with OpenBLAS at " + std::to_string(i));
    }
#endif

    const double gb_s = 1e-9;
    std::printf(
        "{\"device\":\"%s\",\"threads\":%u,\"preferred_vector_bytes\":%u,\n"
        " \"launch_us\":{\"tiny_1_group\":%.3f,\"add_4096_f32\":%.3f,\"add_262144_f32\":%.3f,"
        "\"graph_replay_per_launch\":%.3f},\n"
        " \"bandwidth_GBps\":{\"memcpy_1_thread\":%.2f,\"copy_kernel\":%.2f,\"gemv_f32_4096\":%.2f},\n"
        " \"gemv_over_memcpy\":%.3f,\n"
        " \"gemm_512_gflops\":{\"kiln\":%.2f,\"openblas\":%.2f}}\n",
        caps.description, caps.compute_units, caps.preferred_vector_bytes, tiny_us, small_us,
        mid_us, graph_us, 2 * bytes * gb_s / memcpy_s, 2 * bytes * gb_s / copy_s,
        bytes * gb_s / gemv_s, (bytes / gemv_s) / (2 * bytes / memcpy_s), flops / gemm_s * 1e-9,
        blas_gflops);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cpu_llvm: %s\n", e.what());
    return 1;
  }
  return 0;
}
