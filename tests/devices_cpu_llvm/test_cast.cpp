// CAST between every pair of dtypes, BITCAST, and float constants of every float dtype, against
// conversions computed here (f16 via the compiler's _Float16, bf16 by exact rounding).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "ir_builder.h"
#include "ref_numbers.h"

using kt::Cpu;
using kt::IrBuilder;

namespace {

const kiln_dtype kAll[] = {KILN_DTYPE_BOOL, KILN_DTYPE_I8,  KILN_DTYPE_U8,   KILN_DTYPE_I16,
                           KILN_DTYPE_U16,  KILN_DTYPE_I32, KILN_DTYPE_U32,  KILN_DTYPE_I64,
                           KILN_DTYPE_U64,  KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_F32,
                           KILN_DTYPE_F64};

size_t size_of(kiln_dtype dt) {
  switch (dt) {
    case KILN_DTYPE_BOOL: case KILN_DTYPE_I8: case KILN_DTYPE_U8: return 1;
    case KILN_DTYPE_I16: case KILN_DTYPE_U16: case KILN_DTYPE_F16: case KILN_DTYPE_BF16: return 2;
    case KILN_DTYPE_I32: case KILN_DTYPE_U32: case KILN_DTYPE_F32: return 4;
    default: return 8;
  }
}
bool is_float(kiln_dtype dt) {
  return dt == KILN_DTYPE_F16 || dt == KILN_DTYPE_BF16 || dt == KILN_DTYPE_F32 || dt == KILN_DTYPE_F64;
}
bool is_signed(kiln_dtype dt) {
  return dt == KILN_DTYPE_I8 || dt == KILN_DTYPE_I16 || dt == KILN_DTYPE_I32 || dt == KILN_DTYPE_I64;
}

// A source value, exactly: an integer (as __int128) or a float (as long double).
struct Exact {
  bool flt;
  __int128 i;
  long double f;
};

// Stores the exact value `e` (already representable) as dtype dt.
void store(uint8_t* p, kiln_dtype dt, const Exact& e) {
  switch (dt) {
    case KILN_DTYPE_BOOL: p[0] = e.i != 0; break;
    case KILN_DTYPE_F16: { uint16_t u = kt::f16_bits(_Float16(double(e.f))); std::memcpy(p, &u, 2); break; }
    case KILN_DTYPE_BF16: { uint16_t u = kt::bf16_round(e.f); std::memcpy(p, &u, 2); break; }
    case KILN_DTYPE_F32: { float f = float(e.f); std::memcpy(p, &f, 4); break; }
    case KILN_DTYPE_F64: { double d = double(e.f); std::memcpy(p, &d, 8); break; }
    default: { uint64_t u = uint64_t(e.i); std::memcpy(p, &u, size_of(dt)); break; }  // low bytes
  }
}

// Reads dtype dt back as an exact value.
Exact read(const uint8_t* p, kiln_dtype dt) {
  Exact e{is_float(dt), 0, 0};
  switch (dt) {
    case KILN_DTYPE_BOOL: e.i = p[0]; break;
    case KILN_DTYPE_I8: e.i = int8_t(p[0]); break;
    case KILN_DTYPE_U8: e.i = p[0]; break;
    case KILN_DTYPE_I16: { int16_t v; std::memcpy(&v, p, 2); e.i = v; break; }
    case KILN_DTYPE_U16: { uint16_t v; std::memcpy(&v, p, 2); e.i = v; break; }
    case KILN_DTYPE_I32: { int32_t v; std::memcpy(&v, p, 4); e.i = v; break; }
    case KILN_DTYPE_U32: { uint32_t v; std::memcpy(&v, p, 4); e.i = v; break; }
    case KILN_DTYPE_I64: { int64_t v; std::memcpy(&v, p, 8); e.i = v; break; }
    case KILN_DTYPE_U64: { uint64_t v; std::memcpy(&v, p, 8); e.i = v; break; }
    case KILN_DTYPE_F16: { uint16_t v; std::memcpy(&v, p, 2); e.f = double(kt::f16_from_bits(v)); break; }
    case KILN_DTYPE_BF16: { uint16_t v; std::memcpy(&v, p, 2); e.f = kt::bf16_to_float(v); break; }
    case KILN_DTYPE_F32: { float v; std::memcpy(&v, p, 4); e.f = v; break; }
    case KILN_DTYPE_F64: { double v; std::memcpy(&v, p, 8); e.f = v; break; }
    default: break;
  }
  return e;
}

__int128 int_min(kiln_dtype dt) {
  return is_signed(dt) ? -(__int128(1) << (size_of(dt) * 8 - 1)) : 0;
}
__int128 int_max(kiln_dtype dt) {
  return is_signed(dt) ? (__int128(1) << (size_of(dt) * 8 - 1)) - 1
                       : (__int128(1) << (size_of(dt) * 8)) - 1;
}

// The documented CAST semantics, written out: ->bool is != 0 (NaN too); bool -> 0/1;
// int -> int wraps; float -> int truncates toward zero and saturates, NaN -> 0; every
// conversion to a float type rounds once to nearest-even.
void cast_ref(uint8_t* out, const Exact& v, kiln_dtype to) {
  if (to == KILN_DTYPE_BOOL) {
    out[0] = v.flt ? (v.f != 0 || std::isnan(v.f)) : v.i != 0;
    return;
  }
  if (!is_float(to)) {
    Exact r{false, 0, 0};
    if (!v.flt) {
      r.i = v.i;  // store() keeps the low bytes: two's-complement wrap
    } else if (!std::isnan(v.f)) {
      long double t = std::trunc(v.f);
      if (t < (long double)int_min(to)) r.i = int_min(to);
      else if (t > (long double)int_max(to)) r.i = int_max(to);
      else r.i = __int128(t);
    }
    store(out, to, r);
    return;
  }
  Exact r{true, 0, v.flt ? v.f : (long double)v.i};
  switch (to) {
    case KILN_DTYPE_F16: {
      // _Float16 converts straight from the source type, one rounding.
      _Float16 h = v.flt ? _Float16(double(v.f)) : v.i < 0 ? _Float16(int64_t(v.i)) : _Float16(uint64_t(v.i));
      uint16_t u = kt::f16_bits(h);
      std::memcpy(out, &u, 2);
      return;
    }
    case KILN_DTYPE_F32: {
      float f = v.flt ? float(double(v.f)) : v.i < 0 ? float(int64_t(v.i)) : float(uint64_t(v.i));
      std::memcpy(out, &f, 4);
      return;
    }
    case KILN_DTYPE_F64: {
      double d = v.flt ? double(v.f) : v.i < 0 ? double(int64_t(v.i)) : double(uint64_t(v.i));
      std::memcpy(out, &d, 8);
      return;
    }
    default:
      store(out, to, r);  // bf16: exact rounding of the exact value
  }
}

std::vector<Exact> sources(kiln_dtype dt) {
  std::vector<Exact> vals;
  if (dt == KILN_DTYPE_BOOL) {
    for (int i = 0; i < 8; ++i) vals.push_back({false, i & 1, 0});
    return vals;
  }
  if (!is_float(dt)) {
    const __int128 ints[] = {0, 1, -1, 2, 127, 128, -128, 255, 256, 32767, -32768, 65535,
                             70000, 2147483647, -2147483648LL, (__int128(1) << 40) + 3,
                             -(__int128(1) << 40), 16777217, 123456789, -300};
    for (__int128 i : ints) {
      uint8_t buf[8];
      store(buf, dt, {false, i, 0});
      vals.push_back(read(buf, dt));  // the value as the source type holds it
    }
    return vals;
  }
  const long double floats[] = {0.0L, -0.0L, 1.0L, -1.0L, 2.5L, -2.5L, 0.7L, -0.7L, 100.5L,
                                127.9L, 128.5L, -129.5L, 255.5L, 300.0L, -300.0L, 40000.5L,
                                70000.0L, 1e10L, -1e10L, NAN, INFINITY, -INFINITY,
                                // f64 values whose f16 / bf16 rounding differs from rounding
                                // through f32 first (double rounding)
                                1.0L + 0x1p-11L + 0x1p-40L, 1.0L + 0x1p-8L + 0x1p-40L,
                                -(1.0L + 0x1p-11L + 0x1p-40L), 65519.9L, 1e-8L, 3e38L};
  for (long double f : floats) {
    uint8_t buf[8];
    store(buf, dt, {true, 0, f});
    vals.push_back(read(buf, dt));
  }
  return vals;
}

bool same_bits(kiln_dtype dt, const uint8_t* got, const uint8_t* want) {
  Exact g = read(got, dt), w = read(want, dt);
  if (is_float(dt) && std::isnan(w.f)) return std::isnan(g.f);
  return std::memcmp(got, want, size_of(dt)) == 0;
}

}  // namespace

TEST_CASE("cpu_llvm: CAST between every pair of dtypes", "[cast]") {
  Cpu& cpu = Cpu::get();
  for (kiln_dtype from : kAll) {
    std::vector<Exact> vals = sources(from);
    const size_t n = vals.size();
    IrBuilder b("cast_from_" + std::to_string(from));
    int32_t in = b.param(from, 0);
    std::vector<int32_t> outs;
    for (size_t t = 0; t < std::size(kAll); ++t) outs.push_back(b.param(kAll[t], int64_t(t + 1)));
    int32_t i = b.gid(0);
    int32_t v = b.load(in, i);
    for (size_t t = 0; t < std::size(kAll); ++t) b.store(outs[t], i, b.cast(kAll[t], v));
    kiln_program* p = cpu.build(b);

    std::vector<uint8_t> src(n * size_of(from));
    for (size_t k = 0; k < n; ++k) store(src.data() + k * size_of(from), from, vals[k]);
    std::vector<kiln_buffer*> bufs = {cpu.upload(src)};
    for (kiln_dtype to : kAll) bufs.push_back(cpu.alloc(n * size_of(to)));
    cpu.run(p, bufs, {}, uint32_t(n));
    for (size_t t = 0; t < std::size(kAll); ++t) {
      const kiln_dtype to = kAll[t];
      auto got = cpu.download<uint8_t>(bufs[t + 1], n * size_of(to));
      for (size_t k = 0; k < n; ++k) {
        uint8_t want[8] = {};
        cast_ref(want, vals[k], to);
        INFO("cast " << int(from) << " -> " << int(to) << " of element " << k << " = "
                     << (vals[k].flt ? double(vals[k].f) : double(vals[k].i)));
        REQUIRE(same_bits(to, got.data() + k * size_of(to), want));
      }
    }
    for (auto* buf : bufs) cpu.free(buf);
    cpu.api().unload(cpu.dev(), p);
  }
}

TEST_CASE("cpu_llvm: 8-lane casts match scalar casts", "[cast]") {
  Cpu& cpu = Cpu::get();
  // f32 -> {f16, bf16, i32, u8, bool} and back, 8 lanes at a time.
  const kiln_dtype targets[] = {KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_I32, KILN_DTYPE_U8,
                                KILN_DTYPE_BOOL, KILN_DTYPE_F64};
  IrBuilder b("cast_x8");
  int32_t in = b.param(KILN_DTYPE_F32, 0);
  int32_t idx = b.alu(KILN_IR_MUL, b.gid(0), b.ci(KILN_DTYPE_I32, 8));
  int32_t v = b.load(in, idx, 8, -1, -1, KILN_IR_FLAG_ALIGNED);
  int64_t slot = 1;
  for (kiln_dtype to : targets) {
    int32_t out = b.param(to, slot++);
    b.store(out, idx, b.cast(to, v), 8);
  }
  kiln_program* p = cpu.build(b);
  std::vector<float> xs = {0.f, -0.f, 1.5f, -2.5f, 300.7f, -1e10f, NAN, INFINITY,
                           65519.f, 65520.f, 1.00390625f, 3.0e38f, -7.5f, 0.25f, 255.5f, 1e-30f};
  std::vector<kiln_buffer*> bufs = {cpu.upload(xs)};
  for (kiln_dtype to : targets) bufs.push_back(cpu.alloc(xs.size() * size_of(to)));
  cpu.run(p, bufs, {}, uint32_t(xs.size() / 8));
  for (size_t t = 0; t < std::size(targets); ++t) {
    auto got = cpu.download<uint8_t>(bufs[t + 1], xs.size() * size_of(targets[t]));
    for (size_t k = 0; k < xs.size(); ++k) {
      uint8_t want[8] = {};
      cast_ref(want, {true, 0, xs[k]}, targets[t]);
      INFO("f32 " << xs[k] << " -> dtype " << int(targets[t]));
      REQUIRE(same_bits(targets[t], got.data() + k * size_of(targets[t]), want));
    }
  }
  for (auto* buf : bufs) cpu.free(buf);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: BITCAST keeps the bits", "[cast]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("bitcasts");
  int32_t f32 = b.param(KILN_DTYPE_F32, 0), i32 = b.param(KILN_DTYPE_I32, 1);
  int32_t f16 = b.param(KILN_DTYPE_F16, 2), u16 = b.param(KILN_DTYPE_U16, 3);
  int32_t bf16 = b.param(KILN_DTYPE_BF16, 4), i16 = b.param(KILN_DTYPE_I16, 5);
  int32_t f64 = b.param(KILN_DTYPE_F64, 6), u64 = b.param(KILN_DTYPE_U64, 7);
  int32_t o_u32 = b.param(KILN_DTYPE_U32, 8);
  int32_t i = b.gid(0);
  b.store(i32, i, b.bitcast(KILN_DTYPE_I32, b.load(f32, i)));
  b.store(u16, i, b.bitcast(KILN_DTYPE_U16, b.load(f16, i)));
  b.store(i16, i, b.bitcast(KILN_DTYPE_I16, b.load(bf16, i)));
  b.store(u64, i, b.bitcast(KILN_DTYPE_U64, b.load(f64, i)));
  b.store(o_u32, i, b.bitcast(KILN_DTYPE_U32, b.bitcast(KILN_DTYPE_F32, b.load(i32, i))));
  kiln_program* p = cpu.build(b);
  std::vector<float> xf = {1.0f, -2.5f, NAN, 1e-40f};
  std::vector<uint16_t> xh = {0x3C00, 0xFC00, 0x7E01, 0x0001}, xb = {0x3F80, 0xC020, 0x7FC1, 0x0001};
  std::vector<double> xd = {1.0, -0.0, 1e300, 5e-324};
  auto *bf = cpu.upload(xf), *bh = cpu.upload(xh), *bb = cpu.upload(xb), *bd = cpu.upload(xd);
  auto *oi = cpu.alloc(16), *ou16 = cpu.alloc(8), *oi16 = cpu.alloc(8), *ou64 = cpu.alloc(32), *ou32 = cpu.alloc(16);
  cpu.run(p, {bf, oi, bh, ou16, bb, oi16, bd, ou64, ou32}, {}, 4);
  auto ri = cpu.download<uint32_t>(oi, 4);
  auto r16 = cpu.download<uint16_t>(ou16, 4), rb16 = cpu.download<uint16_t>(oi16, 4);
  auto r64 = cpu.download<uint64_t>(ou64, 4);
  auto r32 = cpu.download<uint32_t>(ou32, 4);
  for (size_t k = 0; k < 4; ++k) {
    uint64_t d;
    std::memcpy(&d, &xd[k], 8);
    CHECK(ri[k] == kt::float_bits(xf[k]));
    CHECK(r16[k] == xh[k]);
    CHECK(rb16[k] == xb[k]);
    CHECK(r64[k] == d);
    CHECK(r32[k] == ri[k]);
  }
  for (auto* buf : {bf, bh, bb, bd, oi, ou16, oi16, ou64, ou32}) cpu.free(buf);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: float constants round once to each float dtype", "[cast]") {
  Cpu& cpu = Cpu::get();
  const double consts[] = {0.1, -1.0 / 3.0, 65504.0, 65520.0, 1e-7, 6e-8, 1.0 + 0x1p-11 + 0x1p-40,
                           3.4e38, 1e39, -0.0, NAN, INFINITY, 1.0 + 0x1p-8 + 0x1p-40, 5e-324};
  const kiln_dtype fts[] = {KILN_DTYPE_F16, KILN_DTYPE_BF16, KILN_DTYPE_F32, KILN_DTYPE_F64};
  IrBuilder b("float_consts");
  std::vector<int32_t> outs;
  for (size_t t = 0; t < 4; ++t) outs.push_back(b.param(fts[t], int64_t(t)));
  for (size_t t = 0; t < 4; ++t)
    for (size_t k = 0; k < std::size(consts); ++k)
      b.store(outs[t], b.ci(KILN_DTYPE_I32, int64_t(k)), b.cf(fts[t], consts[k]));
  kiln_program* p = cpu.build(b);
  std::vector<kiln_buffer*> bufs;
  for (kiln_dtype t : fts) bufs.push_back(cpu.alloc(std::size(consts) * size_of(t)));
  cpu.run(p, bufs, {}, 1);
  for (size_t t = 0; t < 4; ++t) {
    auto got = cpu.download<uint8_t>(bufs[t], std::size(consts) * size_of(fts[t]));
    for (size_t k = 0; k < std::size(consts); ++k) {
      uint8_t want[8] = {};
      cast_ref(want, {true, 0, (long double)consts[k]}, fts[t]);
      INFO("constant " << consts[k] << " as dtype " << int(fts[t]));
      REQUIRE(same_bits(fts[t], got.data() + k * size_of(fts[t]), want));
    }
  }
  for (auto* buf : bufs) cpu.free(buf);
  cpu.api().unload(cpu.dev(), p);
}
