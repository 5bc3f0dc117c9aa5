// The PTX renderer without a GPU: kernels covering every kernel-IR op on every dtype it is
// defined on (scalar and vector lanes), every CAST and BITCAST pair, gated and vector memory,
// shared memory with barriers and warp shuffles, loops, branches, accumulators and variables
// are rendered and given to ptxas (sm_90 and sm_80), which must accept them. ptxas comes from
// KILN_PTXAS, PATH or /usr/local/cuda/bin; without it those checks are reported as skipped.
// Semantics are checked on a GPU by the op suite (`kiln check-device cuda_ptx.so`).
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "errors.h"
#include "ir_builder.h"
#include "ptx_render.h"

using kt::IrBuilder;
namespace fs = std::filesystem;

namespace {

const kiln_dtype kAll[] = {KILN_DTYPE_BOOL, KILN_DTYPE_I8,  KILN_DTYPE_U8,   KILN_DTYPE_I16,
                           KILN_DTYPE_U16,  KILN_DTYPE_I32, KILN_DTYPE_U32,  KILN_DTYPE_I64,
                           KILN_DTYPE_U64,  KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_F32,
                           KILN_DTYPE_F64};

bool is_float(kiln_dtype t) {
  return t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16 || t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64;
}
bool is_int(kiln_dtype t) {
  return t >= KILN_DTYPE_I8 && t <= KILN_DTYPE_U64;
}
unsigned bytes(kiln_dtype t) {
  switch (t) {
    case KILN_DTYPE_BOOL:
    case KILN_DTYPE_I8:
    case KILN_DTYPE_U8:
      return 1;
    case KILN_DTYPE_I16:
    case KILN_DTYPE_U16:
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16:
      return 2;
    case KILN_DTYPE_I64:
    case KILN_DTYPE_U64:
    case KILN_DTYPE_F64:
      return 8;
    default:
      return 4;
  }
}

std::string ptxas_path() {
  if (const char* e = std::getenv("KILN_PTXAS"); e && *e) return e;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    for (size_t s = 0; s <= p.size();) {
      size_t e = p.find(':', s);
      if (e == std::string::npos) e = p.size();
      fs::path cand = fs::path(p.substr(s, e - s)) / "ptxas";
      if (!p.substr(s, e - s).empty() && access(cand.c_str(), X_OK) == 0) return cand.string();
      s = e + 1;
    }
  }
  if (access("/usr/local/cuda/bin/ptxas", X_OK) == 0) return "/usr/local/cuda/bin/ptxas";
  return "";
}

// Runs ptxas on `ptx`; returns "" when accepted, else its output.
std::string ptxas(const std::string& ptx, int sm) {
  static const std::string tool = ptxas_path();
  fs::path dir = fs::temp_directory_path() / ("kiln_ptx_" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path file = dir / "k.ptx";
  std::ofstream(file) << ptx;
  std::string cmd = tool + " -arch=sm_" + std::to_string(sm) + " -o " + (dir / "k.cubin").string() +
                    " " + file.string() + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "cannot run " + cmd;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  fs::remove_all(dir);
  return rc == 0 ? std::string() : (out.empty() ? "ptxas failed" : out);
}

}  // namespace

// "" when ptxas accepts `ptx` or is not installed (then a warning says so), else its output.
std::string ptxas_check(const std::string& ptx, int sm) {
  if (ptxas_path().empty()) {
    WARN("ptxas not found (KILN_PTXAS, PATH, /usr/local/cuda/bin): skipped assembling");
    return "";
  }
  return ptxas(ptx, sm);
}

namespace {

std::string render(const IrBuilder& b, int sm = 90, uint32_t local = 1) {
  kiln_kernel k = b.kernel();
  k.local_size[0] = local;
  kiln::cuda::PtxTarget t;
  t.sm = sm;
  return kiln::cuda::render_ptx(k, t);
}

void check_ptxas(const IrBuilder& b, uint32_t local = 1) {
  static const bool have = !ptxas_path().empty();
  std::string ptx = render(b, 90, local);
  if (!have) {
    WARN("ptxas not found (KILN_PTXAS, PATH, /usr/local/cuda/bin): skipped assembling");
    return;
  }
  for (int sm : {90, 80}) {
    std::string text = sm == 90 ? ptx : render(b, sm, local);
    std::string err = ptxas(text, sm);
    INFO("sm_" << sm << " ptxas:\n" << err << "\n--- PTX ---\n" << text);
    CHECK(err.empty());
  }
}

// out[i] = op(a[i], b[i], c[i]) for every op defined on t, lanes 1 and 4 (vector accesses).
IrBuilder alu_kernel(kiln_dtype t, uint8_t lanes) {
  IrBuilder b("alu_" + std::to_string(int(t)) + "_x" + std::to_string(lanes));
  int32_t out = b.param(t, 0), x = b.param(t, 1), y = b.param(t, 2), z = b.param(t, 3);
  int32_t flags_out = b.param(KILN_DTYPE_BOOL, 4);
  int32_t g = b.gid(0);
  int32_t base = b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 64));
  uint32_t f = lanes > 1 ? KILN_IR_FLAG_ALIGNED : 0;
  int32_t a = b.load(x, base, lanes, -1, -1, f), c = b.load(y, base, lanes, -1, -1, f);
  int32_t d = b.load(z, base, lanes, -1, -1, f);
  int slot = 0;
  auto put = [&](int32_t v) {
    int32_t at = b.alu(KILN_IR_ADD, base, b.ci(KILN_DTYPE_I32, lanes * slot++));
    b.store(b.dtype(v) == KILN_DTYPE_BOOL && t != KILN_DTYPE_BOOL ? flags_out : out, at, v, lanes,
            -1, f);
  };
  std::vector<kiln_ir_op> unary, binary;
  if (is_float(t)) {
    unary = {KILN_IR_NEG,  KILN_IR_EXP2,  KILN_IR_LOG2, KILN_IR_SIN,
             KILN_IR_SQRT, KILN_IR_RECIP, KILN_IR_TRUNC};
    binary = {KILN_IR_ADD, KILN_IR_SUB, KILN_IR_MUL, KILN_IR_FDIV,
              KILN_IR_MAX, KILN_IR_MIN, KILN_IR_POW};
  } else if (is_int(t)) {
    unary = {KILN_IR_NEG, KILN_IR_NOT};
    binary = {KILN_IR_ADD, KILN_IR_SUB, KILN_IR_MUL, KILN_IR_IDIV, KILN_IR_MOD, KILN_IR_MAX,
              KILN_IR_MIN, KILN_IR_AND, KILN_IR_OR,  KILN_IR_XOR,  KILN_IR_SHL, KILN_IR_SHR};
  } else {
    unary = {KILN_IR_NOT};
    binary = {KILN_IR_AND, KILN_IR_OR, KILN_IR_XOR, KILN_IR_MAX, KILN_IR_MIN};
  }
  for (kiln_ir_op op : unary) put(b.alu(op, a));
  for (kiln_ir_op op : binary) put(b.alu(op, a, c));
  if (t != KILN_DTYPE_BOOL) put(b.alu(KILN_IR_MULADD, a, c, d));
  for (kiln_ir_op op : {KILN_IR_CMPLT, KILN_IR_CMPNE, KILN_IR_CMPEQ}) put(b.cmp(op, a, c));
  int32_t cond = b.cmp(KILN_IR_CMPLT, a, c);
  put(b.alu(KILN_IR_WHERE, cond, a, c));
  // scalar broadcast into vector lanes
  int32_t k = t == KILN_DTYPE_BOOL ? b.ci(t, 1) : is_float(t) ? b.cf(t, 1.5) : b.ci(t, -3);
  put(b.alu(t == KILN_DTYPE_BOOL ? KILN_IR_AND : KILN_IR_ADD, a, k));
  return b;
}

}  // namespace

TEST_CASE("cuda_ptx: every ALU op on every dtype assembles", "[cuda_ptx][ptx]") {
  for (kiln_dtype t : kAll)
    for (uint8_t lanes : {uint8_t(1), uint8_t(4)}) {
      INFO("dtype " << int(t) << " lanes " << int(lanes));
      check_ptxas(alu_kernel(t, lanes));
    }
}

TEST_CASE("cuda_ptx: on sm_90 a kernel waits for its predecessor grid before any memory access",
          "[cuda_ptx][ptx]") {
  // graphs chain sm_90 kernels with programmatic edges: a kernel that touched a buffer before
  // griddepcontrol.wait could read its producer's output early or overwrite a buffer still read
  IrBuilder b("pdl_order");
  int32_t out = b.param(KILN_DTYPE_F32, 0), in = b.param(KILN_DTYPE_F32, 1);
  int32_t g = b.gid(0);
  b.store(out, g, b.load(in, g));
  const std::string ptx = render(b, 90);
  const size_t wait = ptx.find("griddepcontrol.wait;"),
               trigger = ptx.find("griddepcontrol.launch_dependents;");
  REQUIRE(wait != std::string::npos);
  REQUIRE(trigger != std::string::npos);
  CHECK(wait < ptx.find("ld.global"));
  CHECK(wait < ptx.find("st.global"));
  // the dependent may launch once this kernel's own wait is over (one kernel ahead), not as it
  // starts: a trigger at the start let a whole chain of later kernels launch and wait on the SMs
  CHECK(wait < trigger);
  CHECK(trigger < ptx.find("ld.global"));
  kiln_kernel kk = b.kernel();
  kiln::cuda::PtxTarget other;
  other.sm = 90;
  other.trigger = kiln::cuda::PtxTarget::Trigger::Start;
  const std::string ptx_start = kiln::cuda::render_ptx(kk, other);
  CHECK(ptx_start.find("griddepcontrol.launch_dependents;") <
        ptx_start.find("griddepcontrol.wait;"));
  other.trigger = kiln::cuda::PtxTarget::Trigger::FirstStore;
  const std::string ptx_store = kiln::cuda::render_ptx(kk, other);
  CHECK(ptx_store.find("ld.global") < ptx_store.find("griddepcontrol.launch_dependents;"));
  CHECK(ptx_store.find("griddepcontrol.launch_dependents;") < ptx_store.find("st.global"));
  CHECK(render(b, 80).find("griddepcontrol") == std::string::npos);  // sm_80 has no PDL
  check_ptxas(b);
}

// How many L2 prefetches a rendered kernel issues.
static size_t prefetches(const std::string& ptx) {
  size_t n = 0;
  for (size_t at = ptx.find("prefetch.global.L2"); at != std::string::npos;
       at = ptx.find("prefetch.global.L2", at + 1))
    ++n;
  return n;
}

// A GEMV row: out[g] = sum_k w[g * n + k] * x[k] over n iterations (ungated loads, indices
// from the launch id and the counter), with `gated`: plus a load of x[k] gated by k < 32
static void gemv_row(IrBuilder& b, int64_t n, bool gated) {
  int32_t out = b.param(KILN_DTYPE_F32, 0), w = b.param(KILN_DTYPE_F32, 1),
          x = b.param(KILN_DTYPE_F32, 2);
  int32_t g = b.gid(0);
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0));
  int32_t k = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, n), KILN_IR_FLAG_REDUCE);
  int32_t wi = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, n)), k);
  int32_t xk = b.load(x, k);
  if (gated)
    xk = b.alu(KILN_IR_ADD, xk, b.load(x, k, 1, b.cmp(KILN_IR_CMPLT, k, b.ci(KILN_DTYPE_I32, 32))));
  b.assign(acc, b.alu(KILN_IR_MULADD, b.load(w, wi), xk, acc));
  b.end_range(k);
  b.store(out, g, acc);
}

TEST_CASE(
    "cuda_ptx: on sm_90 a loop's first iterations' ungated loads of graph constants are prefetched "
    "into L2 before the wait",
    "[cuda_ptx][ptx]") {
  // the gated load is never prefetched
  IrBuilder b("prefetch_row");
  gemv_row(b, 64, true);
  const std::string ptx = render(b, 90);
  const size_t wait = ptx.find("griddepcontrol.wait;");
  REQUIRE(wait != std::string::npos);
  size_t count = 0;
  for (size_t at = ptx.find("prefetch.global.L2"); at != std::string::npos;
       at = ptx.find("prefetch.global.L2", at + 1)) {
    CHECK(at < wait);
    ++count;
  }
  CHECK(count == 2);  // w and the ungated x load; the gated one is not touched early
  // each only where its slot's bit of kiln_const_mask says no kernel of the graph writes it
  CHECK(ptx.find(".param .u32 kiln_const_mask") != std::string::npos);
  CHECK(ptx.find("and.b32", ptx.find("ld.param.u32")) < ptx.find("prefetch.global.L2"));
  CHECK(wait < ptx.find("ld.global"));
  kiln_kernel kk = b.kernel();
  kiln::cuda::PtxTarget off;
  off.sm = 90;
  off.prefetch = 0;
  CHECK(kiln::cuda::render_ptx(kk, off).find("prefetch.global") == std::string::npos);
  // three iterations: the same two loads at counter + 0, + 1, + 2, each behind its own bound
  kiln::cuda::PtxTarget three;
  three.sm = 90;
  three.prefetch = 3;
  const std::string ptx3 = kiln::cuda::render_ptx(kk, three);
  const size_t count3 = prefetches(ptx3);
  CHECK(count3 == 6);
  // a byte budget for the whole grid's prefetch (KILN_CUDA_PREFETCH_MB): 2048 threads reading
  // 8 bytes an iteration fit 3 iterations in 48 KiB, and never fewer than `prefetch`
  kiln::cuda::PtxTarget budget;
  budget.sm = 90;
  budget.prefetch = 1;
  budget.prefetch_bytes = 48 << 10;
  kk.global_size[0] = 64;
  kk.local_size[0] = 32;
  CHECK(prefetches(kiln::cuda::render_ptx(kk, budget)) == 6);
  budget.prefetch_bytes = 1 << 10;
  CHECK(prefetches(kiln::cuda::render_ptx(kk, budget)) == 2);
  // whole loops only (KILN_CUDA_PREFETCH_WHOLE): 64 iterations are more than 8, the default
  budget.prefetch_whole = true;
  budget.prefetch_bytes = 48 << 10;
  CHECK(prefetches(kiln::cuda::render_ptx(kk, budget)) == 2);
  // ... and a loop of 4 iterations of 16 KiB over the grid: all of it in 64 KiB, else the default
  IrBuilder s("prefetch_short");
  gemv_row(s, 4, false);
  kiln_kernel sk = s.kernel();
  sk.global_size[0] = 64;
  sk.local_size[0] = 32;
  budget.prefetch_bytes = 64 << 10;
  CHECK(prefetches(kiln::cuda::render_ptx(sk, budget)) == 8);
  budget.prefetch_bytes = 48 << 10;
  CHECK(prefetches(kiln::cuda::render_ptx(sk, budget)) == 2);
  CHECK(ptx3.find(", 2;") < ptx3.find("griddepcontrol.wait;"));
  CHECK(render(b, 80).find("prefetch.global") == std::string::npos);  // no grid wait to hide behind
  check_ptxas(b);
}

// A GEMV block's form: a first loop over the input (its nested norm) before the weight loop,
// whose row index is computed after the first loop
TEST_CASE("cuda_ptx: the weights of a later loop are prefetched before the wait",
          "[cuda_ptx][ptx]") {
  IrBuilder b("prefetch_later");
  int32_t out = b.param(KILN_DTYPE_F32, 0), w = b.param(KILN_DTYPE_F32, 1),
          x = b.param(KILN_DTYPE_F32, 2), y = b.param(KILN_DTYPE_F32, 3);
  int32_t g = b.gid(0);
  int32_t ss = b.acc(b.cf(KILN_DTYPE_F32, 0));
  int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 64), KILN_IR_FLAG_REDUCE);
  int32_t xj = b.load(x, j);
  b.assign(ss, b.alu(KILN_IR_MULADD, xj, xj, ss));
  b.end_range(j);
  int32_t row = b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 64));
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0));
  int32_t k = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 64), KILN_IR_FLAG_REDUCE);
  b.assign(acc, b.alu(KILN_IR_MULADD, b.load(w, b.alu(KILN_IR_ADD, row, k)), b.load(x, k), acc));
  // a load under a branch inside the loop (which may be what keeps its index in bounds): never
  b.if_(b.cmp(KILN_IR_CMPLT, k, b.ci(KILN_DTYPE_I32, 8)));
  b.assign(acc,
           b.alu(KILN_IR_ADD, acc, b.load(y, b.alu(KILN_IR_MUL, k, b.ci(KILN_DTYPE_I32, 1000)))));
  b.end_if();
  b.end_range(k);
  b.store(out, g, b.alu(KILN_IR_MUL, acc, ss));
  kiln::cuda::PtxTarget two;
  two.sm = 90;
  two.prefetch = 2;
  kiln_kernel kk = b.kernel();
  const std::string ptx = kiln::cuda::render_ptx(kk, two);
  const size_t wait = ptx.find("griddepcontrol.wait;");
  REQUIRE(wait != std::string::npos);
  std::set<std::string> addresses;
  size_t count = 0;
  for (size_t at = ptx.find("prefetch.global.L2"); at != std::string::npos;
       at = ptx.find("prefetch.global.L2", at + 1)) {
    CHECK(at < wait);
    addresses.insert(ptx.substr(at, ptx.find(']', at) - at));
    ++count;
  }
  INFO(ptx);
  // x at iterations 0 and 1 of the first loop, w and x at those of the weight loop (whether
  // each runs is the const mask's call), each at its own address
  CHECK(count == 6);
  CHECK(addresses.size() == count);
  // the loop's own loads compute their addresses from its counter (not the prefetches')
  const std::string head = "$L_r" + std::to_string(k) + "_head:";
  const size_t in_loop = ptx.find(head);
  REQUIRE(in_loop != std::string::npos);
  const size_t exit = ptx.find("$L_r" + std::to_string(k) + "_exit:");
  const std::string body = ptx.substr(in_loop, exit - in_loop);
  CHECK(body.find("mul.wide") != std::string::npos);
  CHECK(body.find("ld.global") != std::string::npos);
  check_ptxas(b);
}

// KILN_CUDA_STAMPS: a kiln_stamps parameter and three timer stamps (start and past the wait
// from block 0's thread 0, the end from each warp's lane 0, also on the early-exit path), each a
// `red` that no thread waits for
TEST_CASE("cuda_ptx: kernels rendered with stamps time themselves", "[cuda_ptx][ptx]") {
  IrBuilder b("stamped");
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
  int32_t g = b.gid(0);
  b.store(out, g, b.alu(KILN_IR_ADD, b.load(x, g), b.cf(KILN_DTYPE_F32, 1)));
  kiln_kernel k = b.kernel();
  k.global_size[0] = 1000;  // flat: threads past the end leave early
  kiln::cuda::PtxTarget t;
  t.sm = 90;
  t.stamps = true;
  const std::string ptx = kiln::cuda::render_ptx(k, t);
  INFO(ptx);
  CHECK(ptx.find(".param .u64 kiln_stamps") != std::string::npos);
  const size_t start = ptx.find("red.global.min.u64"), wait = ptx.find("griddepcontrol.wait;");
  const size_t past = ptx.find("red.global.min.u64", start + 1);
  const size_t end = ptx.find("red.global.max.u64"), exit = ptx.find("$L_exit:");
  REQUIRE(start != std::string::npos);
  CHECK(start < wait);
  CHECK(past > wait);
  CHECK(end > exit);
  CHECK(ptx.find("%globaltimer") != std::string::npos);
  CHECK(ptx.find("%ctaid.x") < wait);  // block 0 alone stamps the start
  CHECK(ptx.find("atom.") == std::string::npos);
  CHECK(ptx.find("[kiln_stamps]") != std::string::npos);
  CHECK(kiln::cuda::render_ptx(k, kiln::cuda::PtxTarget{90}).find("kiln_stamps") ==
        std::string::npos);
  CHECK(ptxas_check(ptx, 90).empty());
}

TEST_CASE("cuda_ptx: every CAST and BITCAST pair assembles", "[cuda_ptx][ptx]") {
  for (kiln_dtype s : kAll) {
    IrBuilder b("cast_from_" + std::to_string(int(s)));
    int32_t in = b.param(s, 0);
    int32_t g = b.gid(0);
    int32_t v = b.load(in, g);
    int slot = 1;
    for (kiln_dtype t : kAll) {
      int32_t out = b.param(t, slot++);
      b.store(out, g, b.cast(t, v));
      if (s != t && s != KILN_DTYPE_BOOL && t != KILN_DTYPE_BOOL && bytes(s) == bytes(t)) {
        int32_t out2 = b.param(t, slot++);
        b.store(out2, g, b.bitcast(t, v));
      }
    }
    INFO("from dtype " << int(s));
    check_ptxas(b);
  }
}

TEST_CASE("cuda_ptx: gated, per-lane gated, vector and 64-bit indexed memory assembles",
          "[cuda_ptx][ptx]") {
  for (kiln_dtype t : kAll) {
    IrBuilder b("mem_" + std::to_string(int(t)));
    int32_t out = b.param(t, 0), in = b.param(t, 1);
    int32_t n = b.var(KILN_DTYPE_I32, 0, 0, 1 << 20),
            big = b.var(KILN_DTYPE_I64, 1, 0, int64_t(1) << 40);
    int32_t g = b.gid(0);
    int32_t i4 = b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 4));
    int32_t ok = b.cmp(KILN_IR_CMPLT, g, n);
    int32_t alt = t == KILN_DTYPE_BOOL ? b.ci(t, 1) : is_float(t) ? b.cf(t, -1.0) : b.ci(t, 7);
    int32_t v1 = b.load(in, g, 1, ok, alt);
    int32_t v4 = b.load(in, i4, 4, ok, -1, KILN_IR_FLAG_ALIGNED);
    int32_t lane_ok = b.vectorize({ok, b.cmp(KILN_IR_CMPLT, i4, n), ok, ok});
    int32_t v4g = b.load(in, i4, 4, lane_ok, b.vectorize({alt, alt, alt, alt}));
    int32_t v8 = b.load(in, b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 8)), 8, -1, -1,
                        KILN_IR_FLAG_ALIGNED | KILN_IR_FLAG_INBOUNDS);
    b.store(out, g, v1, 1, ok);
    b.store(out, i4, v4, 4, -1, KILN_IR_FLAG_ALIGNED);
    b.store(out, i4, v4g, 4, lane_ok);
    b.store(out, b.alu(KILN_IR_MUL, g, b.ci(KILN_DTYPE_I32, 8)), v8, 8, -1, KILN_IR_FLAG_ALIGNED);
    int32_t wide = b.alu(KILN_IR_ADD, b.cast(KILN_DTYPE_I64, g), big);
    b.store(out, wide, b.gep(v4, 2));
    b.store(out, b.cast(KILN_DTYPE_U32, g), b.load(in, b.cast(KILN_DTYPE_U64, g)));
    INFO("dtype " << int(t));
    check_ptxas(b);
  }
}

TEST_CASE("cuda_ptx: loops, branches, accumulators and launch ids assemble", "[cuda_ptx][ptx]") {
  IrBuilder b("control");
  int32_t out = b.param(KILN_DTYPE_F32, 0), in = b.param(KILN_DTYPE_F32, 1);
  int32_t n = b.var(KILN_DTYPE_I32, 0, 1, 4096);
  int32_t gx = b.gid(0), gy = b.gid(1), gz = b.gid(2);
  int32_t row = b.alu(KILN_IR_ADD, gx, b.alu(KILN_IR_MUL, gy, b.alu(KILN_IR_ADD, gz, n)));
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0, 4));
  int32_t mx = b.acc(b.cf(KILN_DTYPE_F32, -INFINITY));
  int32_t r = b.range(b.ci(KILN_DTYPE_I32, 0), n, KILN_IR_FLAG_REDUCE);
  int32_t inner = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 4), KILN_IR_FLAG_UNROLL);
  int32_t ix = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, r, b.ci(KILN_DTYPE_I32, 4)), inner);
  int32_t v = b.load(in, ix, 4);
  b.if_(b.cmp(KILN_IR_CMPLT, b.gep(v, 0), b.cf(KILN_DTYPE_F32, 100.0)));
  b.assign(acc, b.alu(KILN_IR_MULADD, v, v, acc));
  b.end_if();
  b.assign(mx, b.alu(KILN_IR_MAX, mx, b.gep(acc, 3)));
  b.end_range(inner);
  b.end_range(r);
  b.store(out, row, b.alu(KILN_IR_ADD, b.gep(acc, 1), mx));
  // an i64 loop and a u8 loop
  int32_t r64 = b.range(b.ci(KILN_DTYPE_I64, 0), b.cast(KILN_DTYPE_I64, n));
  b.store(out, r64, b.cast(KILN_DTYPE_F32, r64));
  b.end_range(r64);
  int32_t r8 = b.range(b.ci(KILN_DTYPE_U8, 250), b.ci(KILN_DTYPE_U8, 255));
  b.store(out, r8, b.cast(KILN_DTYPE_F32, r8));
  b.end_range(r8);
  check_ptxas(b);
}

TEST_CASE("cuda_ptx: shared memory, barriers and warp shuffles assemble", "[cuda_ptx][ptx]") {
  for (kiln_dtype t : {KILN_DTYPE_F32, KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_F64,
                       KILN_DTYPE_I64, KILN_DTYPE_I8, KILN_DTYPE_BOOL}) {
    IrBuilder b("reduce_" + std::to_string(int(t)));
    int32_t out = b.param(t, 0), in = b.param(t, 1);
    int32_t lid = b.add(KILN_IR_SPECIAL, KILN_DTYPE_I32, {}, 3);
    int32_t grp = b.gid(0);
    int32_t sh = b.local(t, 256);
    int32_t ix = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, grp, b.ci(KILN_DTYPE_I32, 256)), lid);
    int32_t v = b.load(in, ix);
    b.store(sh, lid, v);
    b.add(KILN_IR_BARRIER, KILN_DTYPE_VOID);
    int32_t w = b.load(sh, b.alu(KILN_IR_XOR, lid, b.ci(KILN_DTYPE_I32, 1)));
    int32_t s = b.add(KILN_IR_SHFL_XOR, t, {w}, 16);
    int32_t s2 = b.add(KILN_IR_SHFL_XOR, t, {b.vectorize({s, w})}, 1, 2);
    b.add(KILN_IR_BARRIER, KILN_DTYPE_VOID);
    b.if_(b.cmp(KILN_IR_CMPEQ, lid, b.ci(KILN_DTYPE_I32, 0)));
    b.store(out, grp, b.gep(s2, 1));
    b.end_if();
    std::string ptx = render(b, 90, 256);
    CHECK(ptx.find("bar.sync 0") != std::string::npos);
    CHECK(ptx.find("shfl.sync.bfly.b32") != std::string::npos);
    CHECK(ptx.find("flat=0") != std::string::npos);  // threads of a group are real threads
    INFO("dtype " << int(t));
    check_ptxas(b, 256);
  }
}

TEST_CASE("cuda_ptx: asynchronous copies into shared memory assemble, malformed ones are refused",
          "[cuda_ptx][ptx]") {
  // 16, 8 and 4 bytes a copy: cp.async.cg for 16, .ca below; two groups, wait for the first
  auto kernel = [](int lanes16, bool aligned, bool local_dst) {
    IrBuilder b("copy_async");
    int32_t out = b.param(KILN_DTYPE_F32, 0), in = b.param(KILN_DTYPE_F32, 1);
    int32_t lid = b.add(KILN_IR_SPECIAL, KILN_DTYPE_I32, {}, 3);
    int32_t sh = b.local(KILN_DTYPE_F32, 1024);
    int32_t at = b.alu(KILN_IR_MUL, lid, b.ci(KILN_DTYPE_I32, 4));
    const uint32_t flags = aligned ? KILN_IR_FLAG_ALIGNED : 0;
    b.add(KILN_IR_COPY_ASYNC, KILN_DTYPE_F32, {local_dst ? sh : out, at, in, at}, 0,
          uint8_t(lanes16), flags);
    b.add(KILN_IR_COPY_COMMIT, KILN_DTYPE_VOID);
    int32_t at2 = b.alu(KILN_IR_ADD, at, b.ci(KILN_DTYPE_I32, 512));
    b.add(KILN_IR_COPY_ASYNC, KILN_DTYPE_F32, {sh, at2, in, at2}, 0, 2, KILN_IR_FLAG_ALIGNED);
    b.add(KILN_IR_COPY_ASYNC, KILN_DTYPE_F32,
          {sh, b.alu(KILN_IR_ADD, at2, b.ci(KILN_DTYPE_I32, 2)), in,
           b.alu(KILN_IR_ADD, at2, b.ci(KILN_DTYPE_I32, 2))},
          0, 1, KILN_IR_FLAG_ALIGNED);
    b.add(KILN_IR_COPY_COMMIT, KILN_DTYPE_VOID);
    b.add(KILN_IR_COPY_WAIT, KILN_DTYPE_VOID, {}, 1);
    b.add(KILN_IR_BARRIER, KILN_DTYPE_VOID);
    b.store(out, lid, b.load(sh, b.alu(KILN_IR_XOR, lid, b.ci(KILN_DTYPE_I32, 1))));
    b.add(KILN_IR_COPY_WAIT, KILN_DTYPE_VOID, {}, 0);
    return b;
  };
  IrBuilder good = kernel(4, true, true);
  const std::string ptx = render(good, 90, 128);
  CHECK(ptx.find("cp.async.cg.shared.global") != std::string::npos);
  CHECK(ptx.find("cp.async.ca.shared.global") != std::string::npos);
  CHECK(ptx.find("cp.async.commit_group") != std::string::npos);
  CHECK(ptx.find("cp.async.wait_group 1") != std::string::npos);
  // the copies read global memory: after the wait for the predecessor grid
  CHECK(ptx.find("griddepcontrol.wait") < ptx.find("cp.async.cg"));
  check_ptxas(good, 128);
  CHECK_THROWS_WITH(render(good, 75, 128), Catch::Contains("COPY_ASYNC needs asynchronous copies"));
  CHECK_THROWS_WITH(render(kernel(4, false, true), 90, 128), Catch::Contains("needs flag ALIGNED"));
  CHECK_THROWS_WITH(render(kernel(3, true, true), 90, 128),
                    Catch::Contains("copies 4, 8 or 16 bytes"));
  CHECK_THROWS_WITH(render(kernel(4, true, false), 90, 128),
                    Catch::Contains("source 0 must be a LOCAL"));
}

TEST_CASE("cuda_ptx: a kernel without threads runs flat and bound-checks the grid", "[cuda_ptx]") {
  IrBuilder b("flat");
  int32_t out = b.param(KILN_DTYPE_F32, 0);
  b.store(out, b.gid(0), b.cf(KILN_DTYPE_F32, 1.0));
  std::string ptx = render(b);
  CHECK(ptx.rfind("// kiln-meta v1 flat=1 pack=1 params=1 vars=0 local=0 maxntid=0 written=1", 0) ==
        0);
  CHECK(ptx.find("kiln_grid_x") != std::string::npos);
  CHECK(ptx.find(".entry kiln_flat(") != std::string::npos);
  // f64 math is pasted in only when used
  CHECK(ptx.find("kiln_sin_f64") == std::string::npos);
}

TEST_CASE("cuda_ptx: one-warp groups that share no memory run several to a block", "[cuda_ptx]") {
  // a warp-split row sum: lane l adds x[row*1024 + l + 32 j], then a butterfly
  IrBuilder b("warp_rows");
  int32_t out = b.param(KILN_DTYPE_F32, 0), in = b.param(KILN_DTYPE_F32, 1);
  int32_t row = b.gid(0), lane = b.add(KILN_IR_SPECIAL, KILN_DTYPE_I32, {}, 3);
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0));
  int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 32), KILN_IR_FLAG_REDUCE);
  int32_t ix = b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, row, b.ci(KILN_DTYPE_I32, 1024)),
                     b.alu(KILN_IR_ADD, b.alu(KILN_IR_MUL, j, b.ci(KILN_DTYPE_I32, 32)), lane));
  b.assign(acc, b.alu(KILN_IR_ADD, acc, b.load(in, ix)));
  b.end_range(j);
  for (int m = 16; m >= 1; m /= 2)
    b.assign(acc, b.alu(KILN_IR_ADD, acc, b.add(KILN_IR_SHFL_XOR, KILN_DTYPE_F32, {acc}, m)));
  b.store(out, row, acc);
  std::string ptx = render(b, 90, 32);
  CHECK(ptx.find("flat=0 pack=4") != std::string::npos);
  CHECK(render(b, 90, 64).find("flat=0 pack=1") != std::string::npos);  // two-warp groups
  check_ptxas(b, 32);
}

TEST_CASE("cuda_ptx: malformed kernels are refused with the instruction named", "[cuda_ptx]") {
  IrBuilder b("bad");
  int32_t out = b.param(KILN_DTYPE_F32, 0);
  int32_t x = b.cf(KILN_DTYPE_F32, 1.0);
  b.add(KILN_IR_STORE, KILN_DTYPE_VOID, {out, x, x});  // float index
  try {
    render(b);
    FAIL("rendered a kernel with a float index");
  } catch (const kiln::cuda::DeviceError& e) {
    CHECK(e.status() == KILN_ERR_COMPILE);
    CHECK(std::string(e.what()).find("index must be a scalar integer") != std::string::npos);
    CHECK(std::string(e.what()).find("STORE") != std::string::npos);
  }
  IrBuilder big("too_much_shared");
  int32_t o = big.param(KILN_DTYPE_F32, 0);
  int32_t l = big.local(KILN_DTYPE_F32, 1 << 20);
  big.store(o, big.gid(0), big.load(l, big.gid(0)));
  CHECK_THROWS_AS(render(big), kiln::cuda::DeviceError);
}

TEST_CASE("cuda_ptx: an index plus a constant reuses its base's address in the same scope",
          "[cuda_ptx][ptx]") {
  IrBuilder b("fold");
  int32_t out = b.param(KILN_DTYPE_F32, 0), in = b.param(KILN_DTYPE_F32, 1);
  int32_t base = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 8));
  auto plus = [&](int64_t c) {
    int32_t s = b.alu(KILN_IR_ADD, base, b.ci(KILN_DTYPE_I32, c));
    b.inst(s).flags |= KILN_IR_FLAG_NOWRAP;
    return s;
  };
  // inside the IF: base's address once, then +4 and +8 bytes from it
  b.if_(b.cmp(KILN_IR_CMPLT, base, b.ci(KILN_DTYPE_I32, 64)));
  int32_t x = b.alu(KILN_IR_ADD, b.load(in, plus(1)), b.load(in, plus(2)));
  b.store(out, base, x);
  b.end_if();
  // after it the address computed inside may not have been: computed again
  b.store(out, plus(3), b.load(in, base));
  // a streamed load: evict_first in L2
  b.store(out, plus(4), b.load(in, plus(5), 1, -1, -1, KILN_IR_FLAG_STREAM));
  const std::string ptx = render(b, 90, 1);
  size_t muls = 0;
  for (size_t at = ptx.find("mul.wide.s32"); at != std::string::npos;
       at = ptx.find("mul.wide.s32", at + 1))
    ++muls;
  INFO(ptx);
  CHECK(muls == 4);  // in: inside the IF and after it; out: inside the IF and after it
  CHECK(ptx.find(", 4;") != std::string::npos);  // +1 element
  CHECK(ptx.find(", 8;") != std::string::npos);  // +2 elements
  CHECK(ptx.find("ld.global.nc.L2::cache_hint.f32") != std::string::npos);
  CHECK(ptx.find("createpolicy.fractional.L2::evict_first.b64") != std::string::npos);
  check_ptxas(b, 1);
}

TEST_CASE("cuda_ptx: WARP_BARRIER is bar.warp.sync and a shared-memory kernel gets .maxntid",
          "[cuda_ptx][ptx]") {
  IrBuilder b("warp_barrier");
  int32_t out = b.param(KILN_DTYPE_F32, 0);
  int32_t lid = b.add(KILN_IR_SPECIAL, KILN_DTYPE_I32, {}, 3);
  int32_t sh = b.local(KILN_DTYPE_F32, 64);
  b.store(sh, lid, b.cast(KILN_DTYPE_F32, lid));
  b.add(KILN_IR_WARP_BARRIER, KILN_DTYPE_VOID);
  b.store(out, lid, b.load(sh, b.alu(KILN_IR_XOR, lid, b.ci(KILN_DTYPE_I32, 1))));
  const std::string ptx = render(b, 90, 64);
  CHECK(ptx.find("bar.warp.sync -1") != std::string::npos);
  CHECK(ptx.find(".maxntid 64, 1, 1") != std::string::npos);
  CHECK(ptx.find("maxntid=64") != std::string::npos);  // the meta line: launch checks it
  check_ptxas(b, 64);
}
