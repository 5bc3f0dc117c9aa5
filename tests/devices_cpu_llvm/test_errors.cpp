// Malformed kernels, bad LLVM text, bad blobs and invalid launches come back as status codes
// with messages; integer division by zero does not trap.
#include <catch2/catch.hpp>

#include <climits>
#include <cstring>

#include "ir_builder.h"

using Catch::Matchers::Contains;
using kt::Cpu;
using kt::IrBuilder;

namespace {

// The status and message of render+compile+load of `b`.
std::pair<kiln_status, std::string> build_error(const IrBuilder& b) {
  std::string err;
  kiln_status st = Cpu::get().try_build(b, &err);
  return {st, err};
}

kiln_status compile_text(const std::string& text, std::string* err) {
  Cpu& cpu = Cpu::get();
  std::vector<char> buf(1 << 16);
  void* blob = nullptr;
  size_t len = 0;
  kiln_status st = cpu.api().compile(cpu.dev(), text.data(), text.size(), &blob, &len,
                                     {buf.data(), buf.size()});
  if (blob) cpu.api().free_blob(cpu.dev(), blob);
  *err = buf.data();
  return st;
}

}  // namespace

TEST_CASE("cpu_llvm: a malformed kernel is KILN_ERR_COMPILE naming the instruction and listing the IR", "[errors]") {
  SECTION("mismatched dtypes") {
    IrBuilder b("bad_types");
    int32_t out = b.param(KILN_DTYPE_F32, 0);
    int32_t i = b.gid(0);
    b.store(out, i, b.add(KILN_IR_ADD, KILN_DTYPE_F32, {i, i}));
    auto [st, err] = build_error(b);
    CHECK(st == KILN_ERR_COMPILE);
    CHECK_THAT(err, Contains("kernel 'bad_types'"));
    CHECK_THAT(err, Contains("%2 = ADD f32 %1 %1"));  // the offending instruction
    CHECK_THAT(err, Contains("%0 = PARAM f32 arg=0"));  // and the whole listing
    CHECK_THAT(err, Contains("expected f32"));
  }
  SECTION("a source that is not earlier") {
    IrBuilder b("forward_ref");
    int32_t out = b.param(KILN_DTYPE_I32, 0);
    b.store(out, b.gid(0), 5);
    auto [st, err] = build_error(b);
    CHECK(st == KILN_ERR_COMPILE);
    CHECK_THAT(err, Contains("does not name an earlier instruction"));
  }
  SECTION("a loop value used after its loop") {
    IrBuilder b("escaped");
    int32_t out = b.param(KILN_DTYPE_I32, 0);
    int32_t r = b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 4));
    int32_t twice = b.alu(KILN_IR_ADD, r, r);
    b.end_range(r);
    b.store(out, b.gid(0), twice);
    auto [st, err] = build_error(b);
    CHECK(st == KILN_ERR_COMPILE);
    CHECK_THAT(err, Contains("already closed"));
  }
  SECTION("an unclosed RANGE, a mismatched ENDIF") {
    IrBuilder b("unclosed");
    b.range(b.ci(KILN_DTYPE_I32, 0), b.ci(KILN_DTYPE_I32, 4));
    CHECK(build_error(b).first == KILN_ERR_COMPILE);
    IrBuilder c("mismatch");
    int32_t r = c.range(c.ci(KILN_DTYPE_I32, 0), c.ci(KILN_DTYPE_I32, 4));
    c.add(KILN_IR_ENDIF, KILN_DTYPE_VOID, {r});
    CHECK(build_error(c).first == KILN_ERR_COMPILE);
  }
  SECTION("slots, lanes, ops, versions and names out of range") {
    IrBuilder slot("bad_slot");
    slot.param(KILN_DTYPE_F32, 0);
    slot.add(KILN_IR_PARAM, KILN_DTYPE_F32, {}, 3);
    CHECK(build_error(slot).first == KILN_ERR_COMPILE);
    IrBuilder lanes("bad_lanes");
    lanes.ci(KILN_DTYPE_I32, 1, 17);
    CHECK(build_error(lanes).first == KILN_ERR_COMPILE);
    IrBuilder op("bad_op");
    op.add(kiln_ir_op(99), KILN_DTYPE_I32);
    CHECK_THAT(build_error(op).second, Contains("unknown op 99"));
    IrBuilder load("load_from_const");
    int32_t c = load.ci(KILN_DTYPE_I32, 0);
    load.load(c, c);
    CHECK_THAT(build_error(load).second, Contains("must be a PARAM or LOCAL"));
    IrBuilder fdiv("int_fdiv");
    int32_t one = fdiv.ci(KILN_DTYPE_I32, 1);
    fdiv.alu(KILN_IR_FDIV, one, one);
    CHECK_THAT(build_error(fdiv).second, Contains("FDIV is not defined on i32"));
    IrBuilder name("not-an-identifier");
    CHECK(build_error(name).first == KILN_ERR_COMPILE);
    IrBuilder unused("unused_src");
    unused.add(KILN_IR_CONST, KILN_DTYPE_I32, {0});
    CHECK_THAT(build_error(unused).second, Contains("must be -1"));

    Cpu& cpu = Cpu::get();
    IrBuilder ok("ok_kernel");
    ok.param(KILN_DTYPE_F32, 0);
    kiln_kernel k = ok.kernel();
    k.ir_version = KILN_IR_VERSION + 1;
    char err[4096];
    char* text = nullptr;
    size_t len = 0;
    CHECK(cpu.api().render(cpu.dev(), &k, &text, &len, {err, sizeof err}) == KILN_ERR_COMPILE);
    CHECK_THAT(std::string(err), Contains("ir_version"));
    CHECK(text == nullptr);
    CHECK(cpu.api().render(cpu.dev(), nullptr, &text, &len, {err, sizeof err}) == KILN_ERR_INVALID);
  }
  SECTION("SHFL_XOR needs warps this device does not have") {
    IrBuilder b("shuffle");
    int32_t v = b.ci(KILN_DTYPE_F32, 1);
    b.add(KILN_IR_SHFL_XOR, KILN_DTYPE_F32, {v}, 1);
    CHECK(build_error(b).first == KILN_ERR_UNSUPPORTED);
  }
  SECTION("MMA needs tensor cores this device does not have") {
    IrBuilder b("mma");
    int32_t h = b.cf(KILN_DTYPE_F16, 1), f = b.cf(KILN_DTYPE_F32, 0);
    int32_t a = b.vectorize({h, h, h, h, h, h, h, h}), w = b.vectorize({h, h, h, h});
    int32_t c = b.vectorize({f, f, f, f});
    b.add(KILN_IR_MMA, KILN_DTYPE_F32, {a, w, c}, 0, 4);
    auto [status, message] = build_error(b);
    CHECK(status == KILN_ERR_UNSUPPORTED);
    CHECK_THAT(message, Contains("MMA needs tensor cores"));
  }
  SECTION("a warp barrier needs warps") {
    IrBuilder b("warp_barrier");
    b.add(KILN_IR_WARP_BARRIER, KILN_DTYPE_VOID);
    auto [status, message] = build_error(b);
    CHECK(status == KILN_ERR_UNSUPPORTED);
    CHECK_THAT(message, Contains("WARP_BARRIER needs warp_size > 1"));
  }
  SECTION("asynchronous copies need a device that reports async_copy") {
    IrBuilder b("copy");
    int32_t p = b.param(KILN_DTYPE_F32, 0), l = b.local(KILN_DTYPE_F32, 64),
            z = b.ci(KILN_DTYPE_I32, 0);
    b.add(KILN_IR_COPY_ASYNC, KILN_DTYPE_F32, {l, z, p, z}, 0, 4, KILN_IR_FLAG_ALIGNED);
    b.add(KILN_IR_COPY_COMMIT, KILN_DTYPE_VOID);
    b.add(KILN_IR_COPY_WAIT, KILN_DTYPE_VOID);
    auto [status, message] = build_error(b);
    CHECK(status == KILN_ERR_UNSUPPORTED);
    CHECK_THAT(message, Contains("COPY_ASYNC needs asynchronous copies"));
  }
}

TEST_CASE("cpu_llvm: LLVM text that does not parse, verify or select is KILN_ERR_COMPILE with the text", "[errors]") {
  std::string err;
  CHECK(compile_text("define void @f( {\n", &err) == KILN_ERR_COMPILE);
  CHECK_THAT(err, Contains("cannot parse"));
  CHECK_THAT(err, Contains("    1 | define void @f( {"));

  const std::string unverified =
      "define i32 @g(i32 %a) {\nentry:\n  br label %next\nnext:\n  ret i32 %b\n"
      "other:\n  %b = add i32 %a, 1\n  br label %next\n}\n";
  CHECK(compile_text(unverified, &err) == KILN_ERR_COMPILE);
  CHECK_THAT(err, Contains("verifier"));

#ifndef KILN_SANITIZE
  // An intrinsic of another target: LLVM's x86 backend reports a fatal "cannot select", which
  // must come back as an error instead of ending the process. (Not under the sanitizers: the
  // abandoned compile's objects are leaked by design, which LeakSanitizer would report.)
  const std::string foreign =
      "declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
      "define void @h(ptr %p) {\n  %t = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()\n"
      "  store i32 %t, ptr %p\n  ret void\n}\n";
  CHECK(compile_text(foreign, &err) == KILN_ERR_COMPILE);
  CHECK_THAT(err, Contains("LLVM fatal error: Cannot select"));
#endif

  Cpu& cpu = Cpu::get();
  char eb[256];
  void* blob = nullptr;
  size_t len = 0;
  CHECK(cpu.api().compile(cpu.dev(), nullptr, 0, &blob, &len, {eb, sizeof eb}) == KILN_ERR_INVALID);
}

TEST_CASE("cpu_llvm: integer division by zero and MIN / -1 do not trap", "[errors]") {
  Cpu& cpu = Cpu::get();
  for (kiln_dtype dt : {KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_U8, KILN_DTYPE_I8}) {
    for (uint8_t lanes : {uint8_t(1), uint8_t(8)}) {
      IrBuilder b("div_zero_" + std::to_string(dt) + "_" + std::to_string(lanes));
      int32_t q = b.param(dt, 0), r = b.param(dt, 1), x = b.param(dt, 2), y = b.param(dt, 3);
      int32_t at = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, lanes));
      int32_t a = b.load(x, at, lanes), d = b.load(y, at, lanes);
      b.store(q, at, b.alu(KILN_IR_IDIV, a, d), lanes);
      b.store(r, at, b.alu(KILN_IR_MOD, a, d), lanes);
      kiln_program* p = cpu.build(b);
      const size_t n = 16, w = dt == KILN_DTYPE_I64 ? 8 : dt == KILN_DTYPE_I32 ? 4 : 1;
      std::vector<uint8_t> xs(n * w, 0), ys(n * w, 0);  // every divisor 0 ...
      for (size_t k = 0; k < n; ++k) {
        xs[k * w + w - 1] = 0x80;  // ... and every dividend the most negative value (signed)
        if (k % 2) std::memset(&ys[k * w], 0xff, w);  // odd divisors are -1 (all ones)
      }
      auto *bq = cpu.alloc(n * w), *br = cpu.alloc(n * w);
      auto *bx = cpu.upload(xs), *by = cpu.upload(ys);
      cpu.run(p, {bq, br, bx, by}, {}, uint32_t(n / lanes));
      auto rq = cpu.download<uint8_t>(bq, n * w), rr = cpu.download<uint8_t>(br, n * w);
      for (size_t k = 0; k < n; k += 2) {  // x / 0 = 0 and x % 0 = 0
        for (size_t j = 0; j < w; ++j) REQUIRE(rq[k * w + j] == 0);
        for (size_t j = 0; j < w; ++j) REQUIRE(rr[k * w + j] == 0);
      }
      for (auto* buf : {bq, br, bx, by}) cpu.free(buf);
      cpu.api().unload(cpu.dev(), p);
    }
  }
}

TEST_CASE("cpu_llvm: invalid launches are refused with a message, never run", "[errors]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("copy_kernel");
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
  int32_t i = b.gid(0);
  b.store(out, i, b.load(x, i));
  kiln_program* p = cpu.build(b);
  auto *bo = cpu.alloc(64), *bx = cpu.alloc(64);
  std::string err;
  CHECK(cpu.launch(p, {bo}, {}, 16, 1, 1, &err) == KILN_ERR_INVALID);  // missing buffer
  CHECK_THAT(err, Contains("needs 2 buffers, got 1"));
  CHECK_THAT(err, Contains("copy_kernel"));
  CHECK(cpu.launch(p, {bo, nullptr}, {}, 16, 1, 1, &err) == KILN_ERR_INVALID);
  CHECK_THAT(err, Contains("slot 1 is NULL"));
  CHECK(cpu.launch(p, {bo, bo}, {}, 16, 1, 1, &err) == KILN_ERR_INVALID);  // written slot aliased
  CHECK_THAT(err, Contains("written"));
  CHECK(cpu.launch(nullptr, {bo, bx}, {}, 16, 1, 1, &err) == KILN_ERR_INVALID);
  CHECK(cpu.launch(p, {bo, bx}, {}, 0x80000000u, 1, 1, &err) == KILN_ERR_INVALID);

  kiln_buffer* bufs[] = {bo, bx};
  kiln_launch l{p, bufs, 2, nullptr, 0, {4, 1, 1}, {2, 1, 1}};
  char eb[512];
  CHECK(cpu.api().launch(cpu.dev(), &l, nullptr, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK_THAT(std::string(eb), Contains("local_size"));
  CHECK(cpu.api().launch(cpu.dev(), nullptr, nullptr, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK(cpu.api().launch(nullptr, &l, nullptr, {eb, sizeof eb}) == KILN_ERR_INVALID);
  // A zero grid runs nothing and is fine.
  CHECK(cpu.launch(p, {bo, bx}, {}, 0, 1, 1, &err) == KILN_OK);
  // A tiny error buffer is truncated and terminated, never overrun.
  char tiny[8];
  std::memset(tiny, 'x', sizeof tiny);
  l.local_size[0] = 2;
  CHECK(cpu.api().launch(cpu.dev(), &l, nullptr, {tiny, 5}) == KILN_ERR_INVALID);
  CHECK(std::strlen(tiny) == 4);
  CHECK(tiny[5] == 'x');
  cpu.free(bo), cpu.free(bx);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: damaged blobs and unknown kernel names are refused at load", "[errors]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("blob_kernel");
  int32_t out = b.param(KILN_DTYPE_I32, 0);
  b.store(out, b.gid(0), b.ci(KILN_DTYPE_I32, 1));
  kiln_kernel k = b.kernel();
  char eb[2048];
  char* text = nullptr;
  size_t len = 0;
  REQUIRE(cpu.api().render(cpu.dev(), &k, &text, &len, {eb, sizeof eb}) == KILN_OK);
  void* blob = nullptr;
  size_t blob_len = 0;
  REQUIRE(cpu.api().compile(cpu.dev(), text, len, &blob, &blob_len, {eb, sizeof eb}) == KILN_OK);
  cpu.api().free_text(cpu.dev(), text);
  std::vector<char> bytes(static_cast<char*>(blob), static_cast<char*>(blob) + blob_len);
  cpu.api().free_blob(cpu.dev(), blob);

  kiln_program* p = nullptr;
  auto load = [&](const std::vector<char>& v, const char* name) {
    p = nullptr;
    return cpu.api().load(cpu.dev(), v.data(), v.size(), name, &p, {eb, sizeof eb});
  };
  std::vector<char> flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x55;
  CHECK(load(flipped, "blob_kernel") == KILN_ERR_INVALID);
  CHECK_THAT(std::string(eb), Contains("checksum"));
  std::vector<char> cut(bytes.begin(), bytes.end() - 10);
  CHECK(load(cut, "blob_kernel") == KILN_ERR_INVALID);
  std::vector<char> junk(200, 'k');
  CHECK(load(junk, "blob_kernel") == KILN_ERR_INVALID);
  CHECK(load(std::vector<char>(3), "blob_kernel") == KILN_ERR_INVALID);
  CHECK(load(bytes, "other_kernel") != KILN_OK);
  CHECK_THAT(std::string(eb), Contains("other_kernel"));
  CHECK(load(bytes, "bad name") == KILN_ERR_INVALID);
  CHECK(p == nullptr);
  REQUIRE(load(bytes, "blob_kernel") == KILN_OK);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: device, allocator and copies", "[errors]") {
  Cpu& cpu = Cpu::get();
  const kiln_device_api& api = cpu.api();
  char eb[512];
  CHECK(api.device_count({eb, sizeof eb}) == 1);
  kiln_device* other = nullptr;
  CHECK(api.open(1, &other, {eb, sizeof eb}) == KILN_ERR_NO_DEVICE);
  CHECK(other == nullptr);

  kiln_device_caps caps;
  api.get_caps(cpu.dev(), &caps);
  CHECK(caps.struct_size == sizeof caps);
  CHECK(std::string(caps.name) == "cpu");
  CHECK(std::string(caps.arch).rfind("x86_64-", 0) == 0);
  CHECK(caps.warp_size == 1);
  CHECK(caps.max_local_size[0] == 1);
  CHECK(caps.max_threads_per_group == 1);
  CHECK(caps.local_memory_bytes == 0);
  CHECK(caps.unified_memory == 1);
  CHECK(caps.compute_units >= 1);
  CHECK(caps.preferred_vector_bytes >= 16);
  CHECK(caps.dtype_mask == 0x3ffeu);
  std::string id = api.compiler_id(cpu.dev());
  CHECK_THAT(id, Contains("llvm-16"));
  CHECK_THAT(id, Contains("cpu="));
  CHECK_THAT(id, Contains("features="));

  kiln_buffer* b = cpu.alloc(100);
  void* host = api.host_pointer(cpu.dev(), b);
  REQUIRE(host != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(host) % 64 == 0);
  std::vector<uint8_t> src(100, 7), dst(100, 0);
  CHECK(api.copy_in(cpu.dev(), b, 0, src.data(), 100, {eb, sizeof eb}) == KILN_OK);
  CHECK(api.copy_in(cpu.dev(), b, 1, src.data(), 100, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK_THAT(std::string(eb), Contains("outside the buffer of 100 bytes"));
  CHECK(api.copy_in(cpu.dev(), b, SIZE_MAX, src.data(), 2, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK(api.copy_out(cpu.dev(), dst.data(), b, 50, 51, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK(api.copy_out(cpu.dev(), dst.data(), b, 0, 100, {eb, sizeof eb}) == KILN_OK);
  CHECK(dst == src);
  CHECK(api.copy_in(cpu.dev(), nullptr, 0, src.data(), 1, {eb, sizeof eb}) == KILN_ERR_INVALID);
  kiln_buffer* c = cpu.alloc(10);
  CHECK(api.copy_device(cpu.dev(), c, 0, b, 95, 5, {eb, sizeof eb}) == KILN_OK);
  CHECK(api.copy_device(cpu.dev(), c, 6, b, 0, 5, {eb, sizeof eb}) == KILN_ERR_INVALID);
  CHECK(api.copy_device(cpu.dev(), b, 10, b, 0, 50, {eb, sizeof eb}) == KILN_OK);  // overlapping
  kiln_buffer* empty = cpu.alloc(0);
  CHECK(api.copy_in(cpu.dev(), empty, 0, nullptr, 0, {eb, sizeof eb}) == KILN_OK);
  kiln_buffer* huge = nullptr;
  CHECK(api.alloc(cpu.dev(), SIZE_MAX / 2, &huge, {eb, sizeof eb}) == KILN_ERR_OUT_OF_MEMORY);
  CHECK(huge == nullptr);
  CHECK(api.synchronize(cpu.dev(), {eb, sizeof eb}) == KILN_OK);
  cpu.free(b), cpu.free(c), cpu.free(empty);
}
