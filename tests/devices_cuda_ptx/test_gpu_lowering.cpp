// Core's lowerer for a GPU-shaped device (the caps cuda_ptx reports for an H100) on real
// schedules: GEMV-like reduces (coalesced along the reduce axis) are split across up to 8 warps
// (SHFL_XOR within a warp, shared memory across), decode attention across up to 8 warps, a large
// GEMM keeps one thread per output tile, the CPU's caps never split; every lowered kernel is
// rendered to PTX and, when ptxas is present, assembled.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "codegen/lowerer.h"
#include "index_probe.h"
#include "ir_sim.h"
#include "kiln/kv_cache.h"
#include "kiln/nn.h"
#include "kiln/tensor.h"
#include "ptx_render.h"
#include "schedule/scheduler.h"

using namespace kiln;

std::string ptxas_check(const std::string& ptx, int sm);  // test_ptx_render.cpp

namespace {

// Staged tensor-core blocks narrowed below the default 2 x 2 warps keep the one-warp tiles
// (KILN_MMA_MIN_WARPS); the lowering tests check narrowed blocks too, so this binary allows
// 2 warps before anything is lowered (the switch is read once).
const bool narrow_blocks_on = [] { return setenv("KILN_MMA_MIN_WARPS", "2", 0) == 0; }();

kiln_device_caps gpu_caps() {
  kiln_device_caps c{};
  c.struct_size = sizeof c;
  std::strcpy(c.name, "cuda");
  std::strcpy(c.arch, "sm_90");
  c.compute_units = 132;
  c.warp_size = 32;
  c.max_local_size[0] = c.max_local_size[1] = 1024;
  c.max_local_size[2] = 64;
  c.max_threads_per_group = 1024;
  c.max_global_size[0] = 2147483647u;
  c.max_global_size[1] = c.max_global_size[2] = 65535;
  c.local_memory_bytes = 48 * 1024;
  c.preferred_vector_bytes = 16;
  c.dtype_mask = ~0u;
  return c;
}

// The last kernel of the schedule that realizes `t`, lowered for `caps`.
detail::LoweredKernel lower_last(const Tensor& t, const kiln_device_caps& caps,
                                 const detail::ScheduleOptions& opts = {}) {
  detail::Schedule s = detail::create_schedule({t.node()}, opts);
  REQUIRE(!s.items.empty());
  return detail::lower_kernel(s.items.back().root, caps);
}

bool has_op(const detail::LoweredKernel& k, kiln_ir_op op) {
  for (const auto& i : k.insts)
    if (i.op == op) return true;
  return false;
}

void assemble(const detail::LoweredKernel& k) {
  kiln_kernel view = k.view();
  std::string ptx = cuda::render_ptx(view, cuda::PtxTarget{90, 48 * 1024});
  if (const char* dir = std::getenv("KILN_TEST_PTX_DIR")) {  // for reading the PTX by hand
    std::ofstream(std::string(dir) + "/" + k.name + ".ptx") << ptx;
  }
  std::string err = ptxas_check(ptx, 90);
  INFO(err << "\n" << ptx);
  CHECK(err.empty());
}

}  // namespace

TEST_CASE("cuda_ptx lowering: GEMV splits across a warp, a big GEMM does not, CPUs never",
          "[cuda_ptx][lowering]") {
  // N outputs: more groups than "few"; K past 2048 (shorter rows go in GEMV blocks, below)
  const int64_t K = 2304, N = 32768;
  Tensor x = Tensor::randn({1, K}, 1).contiguous().realize();
  Tensor w = Tensor::randn({N, K}, 2, DType::BF16).contiguous().realize();
  Tensor y = x.matmul(w.cast(DType::F32).transpose(-1, -2)).reshape({N});
  detail::LoweredKernel gemv = lower_last(y, gpu_caps());
  CHECK(gemv.local_size[0] == 32);  // 288 steps of 8 lanes: one warp per output, 9 steps each
  CHECK(has_op(gemv, KILN_IR_SHFL_XOR));
  assemble(gemv);
  // the same GEMV left (1, N) (llama's logits) lowers to the same kernel
  detail::LoweredKernel gemv2 =
      lower_last(x.matmul(w.cast(DType::F32).transpose(-1, -2)), gpu_caps());
  CHECK(gemv2.local_size[0] == gemv.local_size[0]);
  CHECK(gemv2.global_size[0] == gemv.global_size[0]);
  REQUIRE(gemv2.insts.size() == gemv.insts.size());
  for (size_t i = 0; i < gemv.insts.size(); ++i) CHECK(gemv2.insts[i].op == gemv.insts[i].op);
  // bf16 weights: 8 lanes per step, one 16-byte load (32-bit pairs), streamed under an L2
  // evict_first policy; f32 x: two .v4.f32, cached as usual
  {
    kiln_kernel view = gemv.view();
    std::string ptx = cuda::render_ptx(view, cuda::PtxTarget{90, 48 * 1024});
    CHECK(ptx.find("ld.global.nc.L2::cache_hint.v4.b32") != std::string::npos);
    CHECK(ptx.find("createpolicy.fractional.L2::evict_first") != std::string::npos);
    CHECK(ptx.find("ld.global.nc.v4.f32") != std::string::npos);
    CHECK(ptx.find(".v4.b16") == std::string::npos);
    int streamed = 0;
    for (const auto& i : gemv.insts)
      if (i.op == KILN_IR_LOAD && (i.flags & KILN_IR_FLAG_STREAM)) {
        ++streamed;
        CHECK(i.dtype == KILN_DTYPE_BF16);  // the weights, never x
      }
    CHECK(streamed > 0);
  }

  // a decode-shaped down projection (8192 -> 2048): 4 warps per output, the warps' parts
  // combined through shared memory
  Tensor h = Tensor::randn({1, 8192}, 8).contiguous().realize();
  Tensor wd = Tensor::randn({2048, 8192}, 9, DType::BF16).contiguous().realize();
  detail::LoweredKernel down =
      lower_last(h.matmul(wd.cast(DType::F32).transpose(-1, -2)), gpu_caps());
  CHECK(down.local_size[0] == 128);
  CHECK(has_op(down, KILN_IR_SHFL_XOR));
  CHECK(has_op(down, KILN_IR_LOCAL));
  CHECK(has_op(down, KILN_IR_BARRIER));
  assemble(down);

  // rows of at most 2048 (a decode step's o projection, lm_head): GEMV blocks of 4 warps, a row
  // each, over x staged once per block in shared memory
  Tensor xo = Tensor::randn({1, 2048}, 10).contiguous().realize();
  Tensor wo = Tensor::randn({2048, 2048}, 11, DType::BF16).contiguous().realize();
  detail::LoweredKernel o =
      lower_last(xo.matmul(wo.cast(DType::F32).transpose(-1, -2)), gpu_caps());
  CHECK(o.local_size[0] == 128);
  CHECK(o.global_size[0] == 512);
  CHECK(o.name.ends_with("_n4"));
  CHECK(has_op(o, KILN_IR_LOCAL));
  assemble(o);

  // a prefill-shaped projection (64 tokens, x @ W^T): 4 rows x 16 columns per one-warp group
  // (the rows share the W loads, the columns the x loads), each reduce vectorized along K
  // the model's decode GEMV (x (1, 1, K) @ W^T, bf16 W): W arrives in 16-byte loads
  {
    Tensor x1 = Tensor::randn({1, 1, 2048}, 13).contiguous().realize();
    Tensor w1 = Tensor::randn({8192, 2048}, 14, DType::BF16).contiguous().realize();
    detail::LoweredKernel g = lower_last(x1.matmul(w1.transpose(-1, -2)), gpu_caps());
    kiln_kernel view = g.view();
    std::string ptx = cuda::render_ptx(view, cuda::PtxTarget{90, 48 * 1024});
    INFO(g.name);
    CHECK(ptx.find("ld.global.nc.L2::cache_hint.v4.b32") != std::string::npos);
  }
  Tensor xp = Tensor::randn({1, 64, 2048}, 11).contiguous().realize();
  Tensor wp = Tensor::randn({8192, 2048}, 12, DType::BF16).contiguous().realize();
  detail::LoweredKernel proj = lower_last(xp.matmul(wp.transpose(-1, -2)).contiguous(), gpu_caps());
  CHECK(proj.local_size[0] == 32);
  INFO(proj.name);
  CHECK(proj.global_size[0] == 64 / 4 * 8192 / 16);
  CHECK(has_op(proj, KILN_IR_SHFL_XOR));
  assemble(proj);
  for (const auto& i : proj.insts)  // a prefill reuses weight tiles from L2: nothing streamed
    CHECK_FALSE((i.op == KILN_IR_LOAD && (i.flags & KILN_IR_FLAG_STREAM)));

  Tensor a = Tensor::randn({1024, 1024}, 3).contiguous().realize();
  Tensor b = Tensor::randn({1024, 1024}, 4).contiguous().realize();
  detail::LoweredKernel gemm = lower_last(a.matmul(b), gpu_caps());
  CHECK(gemm.local_size[0] == 1);
  CHECK_FALSE(has_op(gemm, KILN_IR_SHFL_XOR));
  assemble(gemm);

  kiln_device_caps cpu = gpu_caps();
  cpu.warp_size = 1;
  cpu.max_local_size[0] = cpu.max_local_size[1] = cpu.max_local_size[2] = 1;
  detail::LoweredKernel on_cpu = lower_last(y, cpu);
  CHECK(on_cpu.local_size[0] == 1);
  CHECK_FALSE(has_op(on_cpu, KILN_IR_SHFL_XOR));
}

TEST_CASE(
    "CPU lowering: int8 dot tiles take 8 activation rows in a prefill, 4 column groups in a GEMV",
    "[lowering]") {
  // the shapes of llama's int8_matmul: the reduce over blocks first, 16 columns in the lanes
  kiln_device_caps cpu = gpu_caps();
  cpu.warp_size = 1;
  cpu.max_local_size[0] = cpu.max_local_size[1] = cpu.max_local_size[2] = 1;
  cpu.preferred_vector_bytes = 64;
  const int64_t nb = 64, G = 32, L = 64;
  Tensor zero = Tensor::scalar(0, DType::I32);
  auto gemm = [&](const Shape& w_shape, const Shape& x_shape) {
    Tensor w = Tensor::randint(w_shape, 0, 255, 1, DType::I32).contiguous().realize();
    Tensor x = Tensor::randint(x_shape, -127, 127, 2, DType::I32).contiguous().realize();
    return lower_last(Tensor::dot4(w, x, zero).cast(DType::F32).sum({0}, true), cpu);
  };
  detail::LoweredKernel prefill = gemm({nb, G, 1, 16}, {nb, 1, L, 1});  // weights shared by rows
  CHECK(prefill.name.find("_t8x16") != std::string::npos);
  CHECK(has_op(prefill, KILN_IR_DOT4));
  detail::LoweredKernel gemv = gemm({nb, 1, G, 16}, {nb, 1, 1, 1});  // each row its own weights
  CHECK(gemv.name.find("_t4x16") != std::string::npos);
  CHECK(has_op(gemv, KILN_IR_DOT4));
}

TEST_CASE("cuda_ptx lowering: decode attention splits the keys across 16 warps",
          "[cuda_ptx][lowering]") {
  Tensor q = Tensor::randn({1, 8, 1, 64}, 5).contiguous().realize();
  Tensor k = Tensor::randn({1, 2, 300, 64}, 6).contiguous().realize();
  Tensor v = Tensor::randn({1, 2, 300, 64}, 7).contiguous().realize();
  nn::AttentionOptions opt;
  opt.causal = true;
  opt.q_offset = 299;  // the decode step: one query after 299 cached keys
  Tensor o = nn::scaled_dot_product_attention(q, k, v, opt);
  detail::LoweredKernel attn = lower_last(o, gpu_caps());
  // 8 groups: each takes 16 warps (flash-decoding), merged through shared memory; keys across
  // the threads, the output's columns across the lanes (run_attention_gpu)
  CHECK(attn.local_size[0] == 512);
  CHECK(attn.name.ends_with("_lanes"));
  CHECK(has_op(attn, KILN_IR_SHFL_XOR));
  CHECK(has_op(attn, KILN_IR_IF));
  CHECK(has_op(attn, KILN_IR_LOCAL));
  CHECK(has_op(attn, KILN_IR_BARRIER));
  assemble(attn);

  // prefill-shaped: many queries fill the GPU with one warp each
  Tensor qp = Tensor::randn({1, 32, 512, 64}, 8).contiguous().realize();
  Tensor kp = Tensor::randn({1, 8, 512, 64}, 9).contiguous().realize();
  Tensor vp = Tensor::randn({1, 8, 512, 64}, 10).contiguous().realize();
  nn::AttentionOptions popt;
  popt.causal = true;
  detail::LoweredKernel pre =
      lower_last(nn::scaled_dot_product_attention(qp, kp, vp, popt), gpu_caps());
  CHECK(pre.local_size[0] == 32);
  CHECK_FALSE(has_op(pre, KILN_IR_LOCAL));
  assemble(pre);
}

TEST_CASE("cuda_ptx lowering: decode attention over a sliding-window key ring",
          "[cuda_ptx][lowering]") {
  // a ring of 71 rows (window 64 + chunk 8 - 1) read at a symbolic position up to 4095
  Tensor q = Tensor::randn({1, 8, 1, 64}, 5).contiguous().realize();
  Tensor k = Tensor::randn({1, 2, 71, 64}, 6).contiguous().realize();
  Tensor v = Tensor::randn({1, 2, 71, 64}, 7).contiguous().realize();
  nn::AttentionOptions opt;
  opt.causal = true;
  opt.sliding_window = 64;
  opt.ring = true;
  opt.q_offset_var = Variable("ring_pos", 0, 4095);
  Tensor o = nn::scaled_dot_product_attention(q, k, v, opt);
  detail::LoweredKernel attn = lower_last(o, gpu_caps());
  // 8 groups of 4 warps (flash-decoding over the ring's keys, merged through shared memory):
  // no more threads than the 71 keys need
  CHECK(attn.local_size[0] == 128);
  CHECK(has_op(attn, KILN_IR_SHFL_XOR));
  CHECK(has_op(attn, KILN_IR_MOD));  // key position -> ring row
  assemble(attn);
}

TEST_CASE("cuda_ptx lowering: half matmuls take tensor cores (MMA) where the device has them",
          "[cuda_ptx][lowering]") {
  kiln_device_caps tc = gpu_caps();
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  // the model's prefill projection: x rounded to bf16 (64, 2048) @ W^T (8192, 2048), f32 out
  Tensor x = Tensor::randn({64, 2048}, 21, DType::BF16).contiguous().realize();
  Tensor w = Tensor::randn({8192, 2048}, 22, DType::BF16).contiguous().realize();
  Tensor r = Tensor::randn({64, 8192}, 23).contiguous().realize();
  Tensor proj =
      ((x.cast(DType::F32).reshape({64, 1, 2048}) * w.cast(DType::F32).reshape({1, 8192, 2048}))
           .sum({-1})
           .reshape({64, 8192}) +
       r)
          .contiguous();
  detail::LoweredKernel k = lower_last(proj, tc);
  INFO(k.name);
  CHECK(has_op(k, KILN_IR_MMA));
  CHECK(k.local_size[0] == 32);
  // 64 x 32 outputs per warp would be 256 warps on 132 SMs: the tiles narrow to 16 x 16 so
  // that ~16 warps per SM hide the latency (2048 warps)
  CHECK(k.name.ends_with("_mma16x16"));
  CHECK(k.global_size[0] == 64 / 16 * 8192 / 16);
  assemble(k);
  {  // a GEMM with tiles enough (512 x 16384) takes blocks of 2 x 2 warps (128 x 64 outputs)
     // staged through shared memory: two stages of 32 k, 16-byte chunks copied as loaded
    Tensor xl = Tensor::randn({512, 2048}, 28, DType::BF16).contiguous().realize();
    Tensor wl = Tensor::randn({16384, 2048}, 29, DType::BF16).contiguous().realize();
    Tensor yl = (xl.cast(DType::F32).reshape({512, 1, 2048}) *
                 wl.cast(DType::F32).reshape({1, 16384, 2048}))
                    .sum({-1})
                    .contiguous();
    detail::LoweredKernel kl = lower_last(yl, tc);
    INFO(kl.name);
    CHECK(kl.name.ends_with("_mma64x32_b2x2"));
    CHECK(kl.local_size[0] == 128);
    CHECK(kl.global_size[0] == 512 / 128 * 16384 / 64);
    CHECK(has_op(kl, KILN_IR_BARRIER));
    kiln_kernel view = kl.view();
    std::string ptx = cuda::render_ptx(view, cuda::PtxTarget{90, 48 * 1024});
    CHECK(ptx.find("ld.global.nc.v4.b32") != std::string::npos);
    CHECK(ptx.find("st.shared.v4.b32") != std::string::npos);
    CHECK(ptx.find("ld.shared.v4.b32") != std::string::npos);
    CHECK(ptx.find("cvt.rn.bf16x2.f32") == std::string::npos);
    CHECK_FALSE(has_op(kl, KILN_IR_COPY_ASYNC));
    assemble(kl);
    // with asynchronous copies (sm_80+): three stages (48 KiB) filled by cp.async, two steps
    // in flight while a step's MMAs run; no chunk passes through registers
    kiln_device_caps ac = tc;
    ac.async_copy = 1;
    detail::LoweredKernel ka = lower_last(yl, ac);
    INFO(ka.name);
    CHECK(ka.name == kl.name);
    CHECK(has_op(ka, KILN_IR_COPY_ASYNC));
    kiln_kernel aview = ka.view();
    std::string aptx = cuda::render_ptx(aview, cuda::PtxTarget{90, 48 * 1024});
    CHECK(aptx.find("cp.async.cg.shared.global") != std::string::npos);
    CHECK(aptx.find("cp.async.commit_group") != std::string::npos);
    CHECK(aptx.find("cp.async.wait_group 1;") != std::string::npos);
    CHECK(aptx.find("cp.async.wait_group 0;") != std::string::npos);
    CHECK(aptx.find("st.shared") == std::string::npos);
    CHECK(aptx.find("ld.shared.v4.b32") != std::string::npos);
    CHECK(aptx.find(".b8 kiln_smem") != std::string::npos);
    CHECK(aptx.find("[24576]") != std::string::npos);  // 3 stages x 128 rows x 32 k x 2 bytes
    assemble(ka);
    // sm_75 has no cp.async: the renderer's checker refuses the kernel
    CHECK_THROWS_WITH(cuda::render_ptx(aview, cuda::PtxTarget{75, 48 * 1024}),
                      Catch::Contains("needs asynchronous copies"));
    // the o projection's shape (512 x 2048) has blocks too few for 2 x 4 warps: narrower ones
    Tensor wo = Tensor::randn({2048, 2048}, 30, DType::BF16).contiguous().realize();
    detail::LoweredKernel ko = lower_last(
        (xl.cast(DType::F32).reshape({512, 1, 2048}) * wo.cast(DType::F32).reshape({1, 2048, 2048}))
            .sum({-1})
            .contiguous(),
        tc);
    INFO(ko.name);
    CHECK(ko.global_size[0] >= 132);
    assemble(ko);
  }
  {
    kiln_kernel view = k.view();
    std::string ptx = cuda::render_ptx(view, cuda::PtxTarget{90, 48 * 1024});
    CHECK(ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32") != std::string::npos);
    // the operands' 16-byte words go to the MMAs as they were loaded, without repacking
    CHECK(ptx.find("ld.global.nc.v4.b32") != std::string::npos);
    CHECK(ptx.find("cvt.rn.bf16x2.f32") == std::string::npos);
  }
  // f16 through matmul(), batched, an odd tile (48 x 40): still MMA, the result rounded to f16
  Tensor a = Tensor::randn({2, 48, 96}, 24, DType::F16).contiguous().realize();
  Tensor b = Tensor::randn({2, 40, 96}, 25, DType::F16).contiguous().realize();
  detail::LoweredKernel kb = lower_last(a.matmul(b.transpose(-1, -2)), tc);
  INFO(kb.name);
  CHECK(has_op(kb, KILN_IR_MMA));
  assemble(kb);
  // an f32 operand, a row count off the 16 grid, or a device without tensor cores: no MMA
  Tensor xf = Tensor::randn({64, 2048}, 26).contiguous().realize();
  CHECK_FALSE(has_op(lower_last(xf.matmul(w.cast(DType::F32).transpose(-1, -2)), tc), KILN_IR_MMA));
  Tensor x24 = Tensor::randn({24, 2048}, 27, DType::BF16).contiguous().realize();
  CHECK_FALSE(has_op(lower_last(x24.matmul(w.transpose(-1, -2)), tc), KILN_IR_MMA));
  CHECK_FALSE(has_op(lower_last(proj, gpu_caps()), KILN_IR_MMA));
  // sm_75 (no bf16 MMA in PTX): the renderer's checker refuses an MMA kernel
  kiln_kernel view = k.view();
  CHECK_THROWS_WITH(cuda::render_ptx(view, cuda::PtxTarget{75, 48 * 1024}),
                    Catch::Contains("MMA needs tensor cores"));
}

TEST_CASE("cuda_ptx lowering: half prefill attention takes tensor cores (MMA)",
          "[cuda_ptx][lowering]") {
  kiln_device_caps tc = gpu_caps();
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  // a 64-query prefill chunk at a symbolic position over a bf16 cache of 703 rows, GQA 32/8
  Variable pos("mma_attn_pos", 0, 640);
  Tensor q = Tensor::randn({1, 32, 64, 64}, 31, DType::BF16).contiguous().realize();
  Tensor kc = Tensor::randn({1, 8, 703, 64}, 32, DType::BF16).contiguous().realize();
  Tensor vc = Tensor::randn({1, 8, 703, 64}, 33, DType::BF16).contiguous().realize();
  nn::AttentionOptions o;
  o.causal = true;
  o.q_offset_var = pos;
  detail::LoweredKernel k = lower_last(nn::scaled_dot_product_attention(q, kc, vc, o), tc);
  INFO(k.name);
  CHECK(has_op(k, KILN_IR_MMA));
  CHECK(k.local_size[0] == 32);
  CHECK(k.global_size[0] == 32 * 64 / 16);
  assemble(k);
  // a sliding window over a key ring
  o.sliding_window = 100;
  o.ring = true;
  Tensor kr = Tensor::randn({1, 8, 163, 64}, 34, DType::BF16).contiguous().realize();
  detail::LoweredKernel kring = lower_last(nn::scaled_dot_product_attention(q, kr, kr, o), tc);
  CHECK(has_op(kring, KILN_IR_MMA));
  assemble(kring);
  // f32 q, or a decode step (one query): the flash-decoding path
  Tensor q32 = Tensor::randn({1, 32, 64, 64}, 35).contiguous().realize();
  o = nn::AttentionOptions{};
  o.causal = true;
  CHECK_FALSE(has_op(
      lower_last(nn::scaled_dot_product_attention(q32, kc.cast(DType::F32), vc.cast(DType::F32), o),
                 tc),
      KILN_IR_MMA));
  Tensor q1 = Tensor::randn({1, 32, 1, 64}, 36, DType::BF16).contiguous().realize();
  CHECK_FALSE(has_op(lower_last(nn::scaled_dot_product_attention(q1, kc, vc, o), tc), KILN_IR_MMA));
}

TEST_CASE("cuda_ptx lowering: a norm is one row kernel, its reduce split across the row's threads",
          "[cuda_ptx][lowering]") {
  // decode/prefill RMSNorm rows of 2048: 256 threads, 4 f32 lanes each, twice
  Tensor x = Tensor::randn({4, 2048}, 41).contiguous().realize();
  Tensor w = Tensor::randn({2048}, 42, DType::BF16).contiguous().realize();
  Tensor y = nn::rms_norm(x, w, 1e-5);
  detail::Schedule s = detail::create_schedule({y.node()});
  REQUIRE(s.items.size() == 1);
  detail::LoweredKernel k = detail::lower_kernel(s.items.back().root, gpu_caps());
  INFO(k.name);
  CHECK(k.local_size[0] == 256);
  CHECK(k.global_size[0] == 4);
  CHECK(has_op(k, KILN_IR_SHFL_XOR));
  CHECK(has_op(k, KILN_IR_BARRIER));
  assemble(k);
  // rows shorter than a warp of vectors (a q/k norm over a 64-wide head), or of an odd length,
  // run one thread per row
  for (int64_t n : {64, 100, 6000}) {
    Tensor xs = Tensor::randn({3, n}, 43).contiguous().realize();
    detail::LoweredKernel ks = lower_last(nn::rms_norm(xs, Tensor(), 1e-6), gpu_caps());
    INFO(ks.name);
    CHECK(ks.global_size[0] == 3);
    assemble(ks);
  }
  // softmax: max in the first row kernel, the sum in the second
  Tensor z = Tensor::randn({8, 1000}, 44).contiguous().realize();
  CHECK(detail::create_schedule({z.softmax(-1).node()}).items.size() == 2);
  // a kernel of one group (a pick's last stage): a 16-byte vector a thread, 4 warps for 512 f32
  // (one warp of 16 elements a lane in a kernel of many groups)
  Tensor one = Tensor::randn({1, 512}, 45).contiguous().realize();
  detail::LoweredKernel k1 = lower_last(one.sum({1}).contiguous(), gpu_caps());
  CHECK(k1.global_size[0] == 1);
  CHECK(k1.local_size[0] == 128);
  assemble(k1);
  Tensor many = Tensor::randn({64, 512}, 46).contiguous().realize();
  CHECK(lower_last(many.sum({1}).contiguous(), gpu_caps()).local_size[0] == 32);
}

TEST_CASE("cuda_ptx lowering: attention over a KV cache's shared key/value buffer",
          "[cuda_ptx][lowering]") {
  kiln_device_caps tc = gpu_caps();
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  // values sit behind the keys in one buffer of 703 rows per head (an odd count)
  nn::KVCache cache({{8, 64, std::nullopt}}, 1, 192, 512, DType::BF16);
  // a cache of 200 positions: no more threads than keys, so 8 warps
  nn::KVCache small({{8, 64, std::nullopt}}, 1, 200, 1, DType::BF16);
  Variable pos("kv_attn_pos", 0, 191);
  for (int64_t L : {64, 1}) {
    Tensor q = Tensor::randn({1, 32, L, 64}, 51, DType::BF16).contiguous().realize();
    detail::LoweredKernel k = lower_last(cache.attend(0, 0, pos, q), tc);
    INFO(k.name);
    CHECK(has_op(k, KILN_IR_MMA) == (L == 64));
    assemble(k);
    if (L > 1) continue;
    // decode: the PARAM loads before the first warp barrier (where q is shared), group-wide
    // barriers (only the warps' merge) and warp barriers
    auto count = [](const detail::LoweredKernel& dk) {
      int early_loads = 0, barriers = 0, warp_barriers = 0;
      for (const auto& inst : dk.insts) {
        barriers += inst.op == KILN_IR_BARRIER;
        warp_barriers += inst.op == KILN_IR_WARP_BARRIER;
        if (inst.op == KILN_IR_LOAD && dk.insts[size_t(inst.src[0])].op == KILN_IR_PARAM &&
            warp_barriers == 0)
          ++early_loads;
      }
      CHECK(barriers == 1);
      CHECK(warp_barriers >= 2);
      return early_loads;
    };
    // 16 warps (128 registers a thread): only q's loads come before its warp barrier
    CHECK(k.local_size[0] == 512);
    CHECK(count(k) < 16);
    // 8 warps: the first step's key row and value columns (16 + 32 loads a thread) are in
    // flight before the warp computes q and shares it
    detail::LoweredKernel k8 = lower_last(small.attend(0, 0, pos, q), tc);
    CHECK(k8.local_size[0] == 256);
    CHECK(count(k8) >= 16 + 32);
    assemble(k8);
    // with its K/V write: the cache a parameter both read and written (plain loads, not the
    // read-only cache's), stored into before a BARRIER
    Tensor kn = Tensor::randn({1, 8, 1, 64}, 52, DType::BF16).contiguous().realize();
    detail::LoweredKernel kw = lower_last(cache.write_and_attend(0, 0, pos, q, kn, kn), tc);
    int written_read = 0;
    for (const auto& inst : kw.insts)
      written_read += inst.op == KILN_IR_PARAM && (inst.flags & KILN_IR_FLAG_WRITTEN) &&
                      (inst.flags & KILN_IR_FLAG_READ);
    CHECK(written_read == 1);
    const std::string ptx = cuda::render_ptx(kw.view(), cuda::PtxTarget{90, 48 * 1024});
    CHECK(ptx.find("st.global") < ptx.find("bar.sync"));
    assemble(kw);
  }
}

// llama's split_k_product before its sum over the slices: x (M, K) @ w^T (N, K) as `slices`
// partial products over slices of K, (slices, M, N): the form a GPU prefill's narrow projections
// take
Tensor sliced_product(const Tensor& x, const Tensor& w, int64_t slices) {
  const int64_t M = x.dim(0), N = w.dim(0), K = x.dim(1), ks = K / slices;
  Tensor xs =
      x.cast(DType::F32).reshape({M, slices, ks}).permute({1, 0, 2}).reshape({slices, M, 1, ks});
  Tensor ws =
      w.cast(DType::F32).reshape({N, slices, ks}).permute({1, 0, 2}).reshape({slices, 1, N, ks});
  return (xs * ws).sum({-1});
}

// The prefill GEMMs of a 1B Llama at 512 tokens index in 32 bits (their broadcast products have
// up to 17 G elements, but nothing indexes those flat): run the integer math of corner and
// middle (group, thread) pairs on the host and check that no 32-bit value wraps and every
// access stays inside its buffer or shared array, for one-warp tiles, staged blocks with
// register copies and with asynchronous copies.
TEST_CASE("cuda_ptx lowering: tensor-core GEMM index math stays in bounds in 32 bits",
          "[cuda_ptx][lowering]") {
  kiln_device_caps tc = gpu_caps();
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  kiln_device_caps unstaged = tc;
  unstaged.local_memory_bytes = 0;  // no shared memory: no staged blocks
  kiln_device_caps async = tc;
  async.async_copy = 1;
  auto product = [](int64_t rows, int64_t n, int64_t k, int64_t slices) {
    Tensor x = Tensor::randn({rows, k}, 41, DType::BF16).contiguous().realize();
    Tensor w = Tensor::randn({n, k}, 42, DType::BF16).contiguous().realize();
    return sliced_product(x, w, slices).contiguous();
  };
  // gate/up, QKV, o split in 2 and down split in 4 (llama's split_k_product)
  const Tensor products[] = {product(512, 16384, 2048, 1), product(512, 3072, 2048, 1),
                             product(512, 2048, 2048, 2), product(512, 2048, 8192, 4)};
  for (const Tensor& y : products)
    for (const kiln_device_caps* caps : {&unstaged, &tc, &async}) {
      detail::LoweredKernel k = lower_last(y, *caps);
      INFO(k.name << (caps == &async ? " (async)" : ""));
      REQUIRE(has_op(k, KILN_IR_MMA));
      CHECK(has_op(k, KILN_IR_COPY_ASYNC) == (caps == &async && k.local_size[0] > 32));
      for (const auto& in : k.insts)
        if (in.op == KILN_IR_RANGE) CHECK(in.dtype == KILN_DTYPE_I32);
      const uint32_t groups = k.global_size[0], threads = k.local_size[0];
      for (uint32_t g : {0u, groups / 2 + 1, groups - 1})
        for (uint32_t t : {0u, threads / 2 + 5, threads - 1}) {
          test::IndexProbe probe =
              test::probe_indices(k, std::min(g, groups - 1), std::min(t, threads - 1));
          INFO("group " << g << " thread " << t);
          CHECK(probe.error == "");
          CHECK(probe.accesses > 0);
        }
    }
  // the probe sees an access outside its buffer: the gate/up kernel writing into a smaller one
  detail::LoweredKernel k = lower_last(products[0], async);
  k.params[0] = Tensor::zeros({512, 1024}).realize().node();
  CHECK_THAT(test::probe_indices(k, k.global_size[0] - 1, k.local_size[0] - 1).error,
             Catch::Contains("outside 524288 elements"));
}

// The tensor-core GEMMs computed by simulating their lowered kernels on the host (ir_sim: the
// group's threads in lockstep, MMAs over the warp's lanes, asynchronous copies landing at the
// latest wait) against a double-precision reference from the same bf16 inputs: one-warp tiles,
// staged blocks with register copies and with cp.async stages, a residual epilogue, a bf16
// result and llama's split-K batched form.
TEST_CASE("cuda_ptx lowering: simulated tensor-core GEMMs match a reference",
          "[cuda_ptx][lowering]") {
  kiln_device_caps tc = gpu_caps();
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  tc.compute_units = 1;  // blocks as wide as the shape allows (no narrowing to fill SMs)
  kiln_device_caps one_warp = tc;
  one_warp.local_memory_bytes = 0;
  kiln_device_caps async = tc;
  async.async_copy = 1;
  const int64_t M = 128, N = 128, K = 256;
  Tensor x = Tensor::randn({M, K}, 51, DType::BF16).contiguous().realize();
  Tensor w = Tensor::randn({N, K}, 52, DType::BF16).contiguous().realize();
  Tensor r = Tensor::randn({M, N}, 53).contiguous().realize();
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>(),
                            rv = r.to_vector<double>();
  std::vector<double> ref(size_t(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t q = 0; q < K; ++q) s += xv[size_t(i * K + q)] * wv[size_t(j * K + q)];
      ref[size_t(i * N + j)] = s;
    }
  Tensor prod = (x.cast(DType::F32).reshape({M, 1, K}) * w.cast(DType::F32).reshape({1, N, K}))
                    .sum({-1})
                    .reshape({M, N});
  const int64_t S = 2, ks = K / S;
  Tensor split = sliced_product(x, w, S);
  struct Case {
    const char* what;
    Tensor y;
    bool residual, half_out, sliced;
  };
  const Case cases[] = {{"plain", prod.contiguous(), false, false, false},
                        {"residual", (prod + r).contiguous(), true, false, false},
                        {"bf16 result", prod.cast(DType::BF16).contiguous(), false, true, false},
                        {"split-K slices", split.contiguous(), false, false, true}};
  for (const Case& c : cases)
    for (const kiln_device_caps* caps : {&one_warp, &tc, &async}) {
      detail::LoweredKernel k = lower_last(c.y, *caps);
      INFO(c.what << ": " << k.name << (caps == &async ? " (cp.async)" : ""));
      REQUIRE(has_op(k, KILN_IR_MMA));
      CHECK((k.local_size[0] > 32) == (caps != &one_warp));
      CHECK(has_op(k, KILN_IR_COPY_ASYNC) == (caps == &async));
      std::vector<std::vector<double>> buffers(k.params.size());
      buffers[0].assign(size_t(k.params[0]->numel()), NAN);
      for (size_t p = 1; p < k.params.size(); ++p) {
        const auto* u = k.params[p].get();
        buffers[p] = u == x.node().get()   ? xv
                     : u == w.node().get() ? wv
                     : u == r.node().get() ? rv
                                           : std::vector<double>();
        REQUIRE(buffers[p].size() == size_t(u->numel()));
      }
      for (test::CopyLanding landing : {test::CopyLanding::AtWait, test::CopyLanding::AtIssue}) {
        INFO((landing == test::CopyLanding::AtWait ? "copies land at the wait"
                                                   : "copies land at once"));
        buffers[0].assign(buffers[0].size(), NAN);
        test::SimResult sim = test::simulate(k, buffers, landing);
        REQUIRE(sim.error == "");
        size_t bad = 0;
        for (int64_t s = 0; s < (c.sliced ? S : 1); ++s)
          for (int64_t i = 0; i < M * N; ++i) {
            double want = ref[size_t(i)];
            if (c.sliced) {  // slice s sums k in [s ks, (s + 1) ks)
              const int64_t row = i / N, col = i % N;
              want = 0;
              for (int64_t q = s * ks; q < (s + 1) * ks; ++q)
                want += xv[size_t(row * K + q)] * wv[size_t(col * K + q)];
            }
            if (c.residual) want += rv[size_t(i)];
            const double got = buffers[0][size_t(s * M * N + i)];
            const double tol =
                c.half_out ? 1e-2 * std::abs(want) + 1e-2 : 1e-4 * std::abs(want) + 1e-3;
            if (!(std::abs(got - want) <= tol)) ++bad;
          }
        CHECK(bad == 0);
      }
    }
}

// `y`'s last kernel lowered for `caps` and run in ir_sim, its inputs read from their CPU
// realization, against `y` realized on the CPU: the largest |got - want| / (|want| + 1)
double simulated_error(const Tensor& y, const kiln_device_caps& caps, std::string& name,
                       const detail::ScheduleOptions& opts = {}) {
  detail::LoweredKernel k = lower_last(y, caps, opts);
  name = k.name;
  std::vector<std::vector<double>> buffers(k.params.size());
  buffers[0].assign(size_t(k.params[0]->numel()), NAN);
  for (size_t p = 1; p < k.params.size(); ++p) buffers[p] = Tensor(k.params[p]).to_vector<double>();
  std::vector<int64_t> vars;
  for (const Variable& v : k.vars) vars.push_back(v.value());
  test::SimResult sim = test::simulate(k, buffers, test::CopyLanding::AtWait, vars);
  if (!sim.error.empty()) {
    name += ": " + sim.error;
    return INFINITY;
  }
  const std::vector<double> want = y.to_vector<double>();
  if (want.size() != buffers[0].size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::abs(buffers[0][i] - want[i]) / (std::abs(want[i]) + 1);
    worst = std::isnan(e) ? INFINITY : std::max(worst, e);
  }
  return worst;
}

// The GPU lowering's other kernel forms, simulated against the CPU: warp-split GEMV, a norm's
// row kernel, softmax, flash-decoding attention (keys across 8 warps, merged through shared
// memory), one-warp prefill attention and its tensor-core form.
TEST_CASE("cuda_ptx lowering: simulated GPU kernels match the CPU", "[cuda_ptx][lowering]") {
  kiln_device_caps gpu = gpu_caps();
  kiln_device_caps tc = gpu;
  tc.has_tensor_cores = KILN_TENSOR_CORES_MMA_16816;
  std::string name;
  auto check = [&](const Tensor& y, const kiln_device_caps& caps, double tol) {
    const double err = simulated_error(y, caps, name);
    INFO(name << ": error " << err);
    CHECK(err <= tol);
  };
  Tensor x = Tensor::randn({1, 2048}, 61).contiguous().realize();
  Tensor w = Tensor::randn({256, 2048}, 62, DType::BF16).contiguous().realize();
  check(x.matmul(w.cast(DType::F32).transpose(-1, -2)).contiguous(), gpu, 3e-5);
  Tensor rows = Tensor::randn({8, 2048}, 63).contiguous().realize();
  Tensor nw = Tensor::randn({2048}, 64).contiguous().realize();
  check(nn::rms_norm(rows, nw, 1e-5).contiguous(), gpu, 1e-5);
  Tensor logits = Tensor::randn({4, 1000}, 65).contiguous().realize();
  check(logits.softmax(-1).contiguous(), gpu, 1e-5);
  Tensor q = Tensor::randn({1, 8, 1, 64}, 66).contiguous().realize();
  Tensor k = Tensor::randn({1, 2, 300, 64}, 67).contiguous().realize();
  Tensor v = Tensor::randn({1, 2, 300, 64}, 68).contiguous().realize();
  nn::AttentionOptions decode;
  decode.causal = true;
  decode.q_offset = 299;
  check(nn::scaled_dot_product_attention(q, k, v, decode), gpu, 1e-5);
  decode.q_offset = 100;
  check(nn::scaled_dot_product_attention(q, k, v, decode), gpu, 1e-5);
  // a decode step's K/V write in its attention kernel over a bf16 cache: 16 warps (keys read
  // whole), and a head of 40 (not a multiple of the warp: the older split form)
  for (int64_t hd : {64, 40}) {
    nn::KVCache kvc({{8, hd, std::nullopt}}, 1, 192, 512, DType::BF16);
    Variable kv_pos("sim_kv_write_pos_" + std::to_string(hd), 0, 191);
    kv_pos.bind(3);  // few keys: the new one weighs
    Tensor qn = Tensor::randn({1, 32, 1, hd}, 86, DType::BF16).contiguous().realize();
    Tensor kn = Tensor::randn({1, 8, 1, hd}, 87).contiguous().realize();
    Tensor vn = Tensor::randn({1, 8, 1, hd}, 88).contiguous().realize();
    check(kvc.write_and_attend(0, 0, kv_pos, qn, kn, vn), gpu, 2e-2);
    CHECK(name.ends_with(hd == 64 ? "_lanes" : "_40"));
  }
  // two 512-key steps (the second one the loop's), and one step in a cache that holds two
  Tensor k2 = Tensor::randn({1, 2, 700, 64}, 83).contiguous().realize();
  Tensor v2 = Tensor::randn({1, 2, 700, 64}, 84).contiguous().realize();
  decode.q_offset = 650;
  check(nn::scaled_dot_product_attention(q, k2, v2, decode), gpu, 1e-5);
  decode.q_offset = 300;
  check(nn::scaled_dot_product_attention(q, k2, v2, decode), gpu, 1e-5);
  // a bf16 cache (a model's): 16-byte pieces of a key row are 8 elements, not 4
  Tensor kb = k.cast(DType::BF16).contiguous().realize(),
         vb = v.cast(DType::BF16).contiguous().realize();
  decode.q_offset = 299;
  check(nn::scaled_dot_product_attention(q, kb, vb, decode), gpu, 1e-5);
  Tensor qp = Tensor::randn({1, 4, 64, 64}, 69).contiguous().realize();
  Tensor kp = Tensor::randn({1, 2, 64, 64}, 70).contiguous().realize();
  Tensor vp = Tensor::randn({1, 2, 64, 64}, 71).contiguous().realize();
  nn::AttentionOptions prefill;
  prefill.causal = true;
  check(nn::scaled_dot_product_attention(qp, kp, vp, prefill), gpu, 1e-5);
  // bf16 operands on tensor cores: the probabilities go to the MMAs rounded to bf16
  Tensor qh = qp.cast(DType::BF16).contiguous().realize(),
         kh = kp.cast(DType::BF16).contiguous().realize(),
         vh = vp.cast(DType::BF16).contiguous().realize();
  check(nn::scaled_dot_product_attention(qh, kh, vh, prefill), tc, 2e-2);
  CHECK(name.find("mma") != std::string::npos);
  // a 16-query chunk at a symbolic position over a bf16 cache (tensor cores), and a decode
  // step over a sliding-window ring of keys (flash-decoding), both at bound positions
  Variable pos("sim_pos", 0, 64);
  pos.bind(21);
  nn::AttentionOptions at_pos;
  at_pos.causal = true;
  at_pos.q_offset_var = pos;
  Tensor qc = Tensor::randn({1, 4, 16, 64}, 72, DType::BF16).contiguous().realize();
  Tensor kc = Tensor::randn({1, 2, 80, 64}, 73, DType::BF16).contiguous().realize();
  Tensor vc = Tensor::randn({1, 2, 80, 64}, 74, DType::BF16).contiguous().realize();
  check(nn::scaled_dot_product_attention(qc, kc, vc, at_pos), tc, 2e-2);
  CHECK(name.find("mma") != std::string::npos);
  Variable ring_pos("sim_ring_pos", 0, 4095);
  ring_pos.bind(1000);
  nn::AttentionOptions ring;
  ring.causal = true;
  ring.sliding_window = 64;
  ring.ring = true;
  ring.q_offset_var = ring_pos;
  Tensor kr = Tensor::randn({1, 2, 71, 64}, 75).contiguous().realize();
  Tensor vr = Tensor::randn({1, 2, 71, 64}, 76).contiguous().realize();
  check(nn::scaled_dot_product_attention(q, kr, vr, ring), gpu, 1e-5);
  // the greedy pick over a vocabulary row; a sum in a kernel of one group (4 warps)
  Tensor vocab = Tensor::randn({1, 5000}, 77).contiguous().realize();
  check(vocab.argmax(1).contiguous(), gpu, 0);
  check(Tensor::randn({1, 512}, 85).contiguous().realize().sum({1}).contiguous(), gpu, 1e-5);
  // byte dot products (DOT4) and reinterpreted bits (BITCAST) of random words
  Tensor words_a = (Tensor::randn({4, 256}, 78) * 1e8).cast(DType::I32).contiguous().realize();
  Tensor words_b = (Tensor::randn({4, 256}, 79) * 1e8).cast(DType::I32).contiguous().realize();
  Tensor acc = (Tensor::randn({4, 256}, 80) * 1e3).cast(DType::I32).contiguous().realize();
  check(Tensor::dot4(words_a, words_b, acc).contiguous(), gpu, 0);
  check((vocab.bitcast(DType::I32) + 1).bitcast(DType::F32).contiguous(), gpu, 0);
  // an H100's 132 SMs narrow the staged blocks of a 512 x 2048 product to 2 x 1 warps (256
  // blocks), with cp.async stages
  kiln_device_caps h100 = tc;
  h100.async_copy = 1;
  Tensor xa = Tensor::randn({512, 64}, 81, DType::BF16).contiguous().realize();
  Tensor wa = Tensor::randn({2048, 64}, 82, DType::BF16).contiguous().realize();
  Tensor narrow =
      (xa.cast(DType::F32).reshape({512, 1, 64}) * wa.cast(DType::F32).reshape({1, 2048, 64}))
          .sum({-1})
          .contiguous();
  check(narrow, h100, 1e-5);
  CHECK(name.ends_with("_b2x1"));
}

// A decode step's RMSNorm nested in the projection that reads it (ScheduleOptions): one kernel
// whose groups of 4 warps compute the mean square once, then one output per warp; simulated
// against the CPU, with and without a residual epilogue, and a chain of two nested values
// (a vector's softmax under a projection).
TEST_CASE("cuda_ptx lowering: a single-value reduce nested in a GEMV's kernel",
          "[cuda_ptx][lowering]") {
  const kiln_device_caps gpu = gpu_caps();
  detail::ScheduleOptions nest;
  nest.nest_scalar_reduces = true;
  Tensor x = Tensor::randn({1, 2048}, 91).contiguous().realize();
  Tensor nw = Tensor::randn({2048}, 92, DType::BF16).contiguous().realize();
  Tensor w = Tensor::randn({256, 2048}, 93, DType::BF16).contiguous().realize();
  // as llama's decode projection: the normed vector rounded to the weights' type
  auto project = [&](const Tensor& in) {
    Tensor h = nn::rms_norm(in, nw, 1e-5).cast(DType::BF16).cast(DType::F32);
    return (h.reshape({1, 1, 2048}) * w.cast(DType::F32).reshape({1, 256, 2048})).sum({-1});
  };
  Tensor y = project(x).contiguous();
  CHECK(detail::create_schedule({y.node()}, nest).items.size() == 1);
  CHECK(detail::create_schedule({y.node()}).items.size() == 2);
  detail::LoweredKernel k = lower_last(y, gpu, nest);
  INFO(k.name);
  CHECK(k.name.ends_with("_n4"));
  CHECK(k.local_size[0] == 128);
  CHECK(k.global_size[0] == 256 / 4);
  CHECK(has_op(k, KILN_IR_BARRIER));
  std::string name;
  double err = simulated_error(y, gpu, name, nest);
  INFO(name << ": error " << err);
  CHECK(err <= 1e-4);
  for (uint32_t g : {0u, k.global_size[0] - 1})
    for (uint32_t t : {0u, 37u, k.local_size[0] - 1}) {
      test::IndexProbe probe = test::probe_indices(k, g, t);
      INFO("group " << g << " thread " << t);
      CHECK(probe.error == "");
    }
  assemble(k);
  // the residual add of a layer in the same kernel
  Tensor r = Tensor::randn({1, 256}, 94).contiguous().realize();
  Tensor yr = (r + project(x)).contiguous();
  err = simulated_error(yr, gpu, name, nest);
  INFO(name << ": error " << err);
  CHECK(err <= 1e-4);
  // no nested value, but a computed vector: silu(gate) * up under the down projection, staged
  // once per group in shared memory; and a length no group divides evenly (guarded stores)
  for (int64_t K : {4096, 1000}) {
    Tensor gu = Tensor::randn({1, 2 * K}, 97).contiguous().realize();
    Tensor wd = Tensor::randn({64, K}, 98, DType::BF16).contiguous().realize();
    Tensor g =
        (gu.slice(-1, 0, K).silu() * gu.slice(-1, K, 2 * K)).cast(DType::BF16).cast(DType::F32);
    Tensor yd =
        (g.reshape({1, 1, K}) * wd.cast(DType::F32).reshape({1, 64, K})).sum({-1}).contiguous();
    CHECK(detail::create_schedule({yd.node()}, nest).items.size() == 1);
    detail::LoweredKernel kd = lower_last(yd, gpu, nest);
    INFO(kd.name << " K " << K);
    CHECK(kd.name.ends_with("_n4"));
    CHECK(has_op(kd, KILN_IR_LOCAL));
    err = simulated_error(yd, gpu, name, nest);
    INFO(name << ": error " << err);
    CHECK(err <= 1e-4);
    assemble(kd);
  }
  // two nested values, one inside the other's source: a softmax's sum over exp(v - max)
  Tensor v = Tensor::randn({1, 512}, 95).contiguous().realize();
  Tensor m = Tensor::randn({64, 512}, 96).contiguous().realize();
  Tensor p = (v - v.max({-1}, true)).exp();
  Tensor sm = p / p.sum({-1}, true);
  Tensor ys = (sm.reshape({1, 1, 512}) * m.reshape({1, 64, 512})).sum({-1}).contiguous();
  err = simulated_error(ys, gpu, name, nest);
  INFO(name << ": error " << err);
  CHECK(err <= 1e-5);
}

// Where a single value is not nested: broadcast into elementwise outputs (every output would run
// its loop), into a reduce over another axis, into two kernels; and rows that are not one value.
TEST_CASE("scheduler: single-value reduces nest only in a last-axis reduce's source",
          "[cuda_ptx][lowering]") {
  detail::ScheduleOptions nest;
  nest.nest_scalar_reduces = true;
  auto kernels = [&](const Tensor& t) {
    return detail::create_schedule({t.node()}, nest).items.size();
  };
  Tensor x = Tensor::randn({1, 1024}, 97).contiguous().realize();
  Tensor w = Tensor::randn({128, 1024}, 98).contiguous().realize();
  Tensor scaled = x / x.sum({}).reshape({1, 1});
  CHECK(kernels((scaled.reshape({1, 1, 1024}) * w.reshape({1, 128, 1024})).sum({-1})) == 1);
  Tensor block = Tensor::randn({4, 256}, 100).contiguous().realize();
  CHECK(kernels((block / block.sum({}).reshape({1, 1})).contiguous()) == 2);
  CHECK(kernels(
            (scaled.reshape({1, 1024, 1}) * w.transpose(0, 1).reshape({1, 1024, 128})).sum({1})) ==
        2);
  Tensor both = (scaled.reshape({1, 1, 1024}) * w.reshape({1, 128, 1024})).sum({-1}) +
                (scaled.reshape({1, 1, 1024}) * w.reshape({1, 128, 1024})).max({-1});
  CHECK(kernels(both) == 3);  // the value, then each reduce (the add in the first's kernel)
  Tensor rows = Tensor::randn({4, 1024}, 99).contiguous().realize();
  Tensor normed = nn::rms_norm(rows, Tensor::ones({1024}), 1e-5);
  CHECK(kernels((normed.reshape({4, 1, 1024}) * w.reshape({1, 128, 1024})).sum({-1})) == 2);
}

// The decode MLP's silu(gate) * up over the halves of one stacked gate/up GEMV (with its
// RMSNorm nested), ScheduleOptions::fuse_reduce_halves: one kernel whose groups give each
// output's two halves to two warps, met in shared memory; simulated against the CPU, and the
// reduce kept apart without the option.
TEST_CASE("cuda_ptx lowering: a stacked GEMV's halves combined in its own kernel",
          "[cuda_ptx][lowering]") {
  const kiln_device_caps gpu = gpu_caps();
  detail::ScheduleOptions opts;
  opts.nest_scalar_reduces = true;
  opts.fuse_reduce_halves = true;
  detail::ScheduleOptions apart = opts;
  apart.fuse_reduce_halves = false;
  for (int64_t K : {2048, 1000}) {
    const int64_t F = 256;
    Tensor x = Tensor::randn({1, K}, 111).contiguous().realize();
    Tensor nw = Tensor::randn({K}, 112, DType::BF16).contiguous().realize();
    Tensor w = Tensor::randn({2 * F, K}, 113, DType::BF16).contiguous().realize();
    Tensor h = nn::rms_norm(x, nw, 1e-5).cast(DType::BF16).cast(DType::F32);
    Tensor gu = (h.reshape({1, 1, K}) * w.cast(DType::F32).reshape({1, 2 * F, K}))
                    .sum({-1})
                    .reshape({1, 2 * F})
                    .cast(DType::BF16);
    Tensor g = (gu.slice(-1, 0, F).silu() * gu.slice(-1, F, 2 * F)).contiguous();
    CHECK(detail::create_schedule({g.node()}, opts).items.size() == 1);
    CHECK(detail::create_schedule({g.node()}, apart).items.size() == 2);
    detail::LoweredKernel k = lower_last(g, gpu, opts);
    INFO(k.name << " K " << K);
    CHECK(k.name.ends_with("_n2h2"));
    CHECK(k.local_size[0] == 128);
    CHECK(k.global_size[0] == F / 2);
    std::string name;
    double err = simulated_error(g, gpu, name, opts);
    INFO(name << ": error " << err);
    CHECK(err <= 1e-4);
    assemble(k);
  }
}

// The llama plugin's form: matmul's sum keeps the reduced axis, its reshape folds into the
// slices (read_as_halves looks past the kept axis), f32 halves, the product rounded to bf16
TEST_CASE("cuda_ptx lowering: matmul's stacked halves combined in its own kernel",
          "[cuda_ptx][lowering]") {
  const kiln_device_caps gpu = gpu_caps();
  detail::ScheduleOptions opts;
  opts.nest_scalar_reduces = true;
  opts.fuse_reduce_halves = true;
  for (int64_t K : {2048, 1000}) {
    const int64_t F = 192;
    Tensor x = Tensor::randn({1, K}, 121).contiguous().realize();
    Tensor nw = Tensor::randn({K}, 122, DType::BF16).contiguous().realize();
    Tensor w = Tensor::randn({2 * F, K}, 123, DType::BF16).contiguous().realize();
    Tensor h = nn::rms_norm(x, nw, 1e-5).cast(DType::BF16);
    Tensor gu = h.cast(DType::F32).matmul(w.transpose(-1, -2));
    Tensor g = (gu.slice(-1, 0, F).silu() * gu.slice(-1, F, 2 * F)).cast(DType::BF16).contiguous();
    CHECK(detail::create_schedule({g.node()}, opts).items.size() == 1);
    detail::LoweredKernel k = lower_last(g, gpu, opts);
    INFO(k.name << " K " << K);
    CHECK(k.name.ends_with("_n2h2"));
    std::string name;
    double err = simulated_error(g, gpu, name, opts);
    INFO(name << ": error " << err);
    CHECK(err <= 1e-2);
    assemble(k);
  }
}

// A vocabulary row padded to whole rows of 1024 for the greedy pick: the padding's bound is a
// multiple of the 8 bf16 lanes a load takes, so each 16-byte load is gated as a whole, not
// split into eight gated 2-byte loads
TEST_CASE("cuda_ptx lowering: a padded long row loads whole vectors", "[cuda_ptx][lowering]") {
  Tensor logits = Tensor::randn({1, 128256}, 91, DType::BF16).contiguous().realize();
  detail::Schedule s = detail::create_schedule({logits.argmax(1).contiguous().node()}, {});
  REQUIRE(s.items.size() == 2);  // the rows' keys, then the pick
  detail::LoweredKernel rows = detail::lower_kernel(s.items.front().root, gpu_caps());
  int wide = 0, narrow = 0;
  for (const auto& i : rows.insts)
    if (i.op == KILN_IR_LOAD && i.dtype == KILN_DTYPE_BF16) (i.vcount == 8 ? wide : narrow)++;
  CHECK(wide == 1);
  CHECK(narrow == 0);
  assemble(rows);
  // a bound off the lanes (128255) still splits them
  Tensor odd = Tensor::randn({1, 128255}, 92, DType::BF16).contiguous().realize();
  detail::Schedule so = detail::create_schedule({odd.argmax(1).contiguous().node()}, {});
  detail::LoweredKernel orows = detail::lower_kernel(so.items.front().root, gpu_caps());
  int onarrow = 0;
  for (const auto& i : orows.insts)
    if (i.op == KILN_IR_LOAD && i.dtype == KILN_DTYPE_BF16 && i.vcount == 1) ++onarrow;
  CHECK(onarrow > 1);
}
