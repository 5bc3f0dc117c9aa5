// The PTX emitter. Every IR value is scalarized: a value of N lanes is N registers. Register
// classes by dtype: bool -> .pred; 8/16/32-bit integers -> .b32 kept canonical (sign- or
// zero-extended from their width after every operation); 64-bit integers -> .b64; f16, bf16
// and f32 -> .f32 (halves hold values exactly representable in their format: each operation
// computes in f32 and rounds back once); f64 -> .f64. Structured control flow becomes labels
// and branches; an ACC is a register that ASSIGN overwrites.
#include "ptx_render.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <vector>

#include "common/ir_scopes.h"
#include "dtype_info.h"
#include "errors.h"
#include "float_bits.h"
#include "ir_check.h"
#include "ir_dump.h"
#include "text_cat.h"

namespace kiln::cuda {

namespace {

#include "math/math_ptx.inc"

enum RC { P, R, RD, F, FD, H, RC_COUNT };
const char* const kRcDecl[RC_COUNT] = {".pred", ".b32", ".b64", ".f32", ".f64", ".b16"};
const char* const kRcPrefix[RC_COUNT] = {"%p", "%r", "%rd", "%f", "%fd", "%h"};
const char* const kRcMov[RC_COUNT] = {"pred", "b32", "b64", "f32", "f64", "b16"};

RC rc_of(kiln_dtype t) {
  switch (t) {
    case KILN_DTYPE_BOOL:
      return P;
    case KILN_DTYPE_I64:
    case KILN_DTYPE_U64:
      return RD;
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16:
    case KILN_DTYPE_F32:
      return F;
    case KILN_DTYPE_F64:
      return FD;
    default:
      return R;
  }
}

// Integer instruction type of a register class and signedness: s32 u32 s64 u64.
std::string ityp(kiln_dtype t) {
  bool s = is_signed_int(t);
  return rc_of(t) == RD ? (s ? "s64" : "u64") : (s ? "s32" : "u32");
}
std::string ftyp(kiln_dtype t) {
  return t == KILN_DTYPE_F64 ? "f64" : "f32";
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}
std::string hex64(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}
std::string f32_lit(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  char b[16];
  std::snprintf(b, sizeof b, "0f%08X", u);
  return b;
}
std::string f64_lit(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  char b[24];
  std::snprintf(b, sizeof b, "0d%016llX", static_cast<unsigned long long>(u));
  return b;
}
float f16_bits_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
  uint32_t bits;
  if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp == 0) {
    float v = float(man) * (1.0f / 16777216.0f);  // man * 2^-24, exact
    return sign ? -v : v;
  } else {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float bf16_bits_to_float(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Memory instruction type of one element: what ld/st move for a dtype.
const char* mem_type(kiln_dtype t) {
  switch (t) {
    case KILN_DTYPE_BOOL:
    case KILN_DTYPE_U8:
      return "u8";
    case KILN_DTYPE_I8:
      return "s8";
    case KILN_DTYPE_I16:
      return "s16";
    case KILN_DTYPE_U16:
      return "u16";
    case KILN_DTYPE_F16:
    case KILN_DTYPE_BF16:
      return "b16";
    case KILN_DTYPE_I32:
    case KILN_DTYPE_U32:
      return "b32";
    case KILN_DTYPE_F32:
      return "f32";
    case KILN_DTYPE_I64:
    case KILN_DTYPE_U64:
      return "b64";
    case KILN_DTYPE_F64:
      return "f64";
    default:
      return "?";
  }
}

using Lanes = std::vector<std::string>;

constexpr int kWarpsPerBlock = 4;

class Emitter {
 public:
  Emitter(const kiln_kernel& k, const KernelSummary& sum, const PtxTarget& target)
      : k_(k), sum_(sum), target_(target), vals_(k.n_insts) {
    flat_ =
        !sum.uses_threads && k.local_size[0] <= 1 && k.local_size[1] <= 1 && k.local_size[2] <= 1;
    // One-warp groups that share no memory: several groups per block (a block of one warp
    // would cap an SM at 32 warps' worth of blocks, half its threads).
    if (!flat_ && !sum.uses_shared && k.local_size[0] == 32 && k.local_size[1] <= 1 &&
        k.local_size[2] <= 1)
      pack_ = kWarpsPerBlock;
  }

  std::string render() {
    hz_ = reg(H);
    pro("mov.b16 " + hz_ + ", 0");
    emit_launch_ids();
    for (uint32_t i = 0; i < k_.n_insts; ++i) emit_inst(i);
    return module_text();
  }

 private:
  // ---- text ----
  std::string reg(RC c) { return kRcPrefix[c] + std::to_string(++count_[c]); }
  void op(const std::string& s) { body_ += "\t" + s + ";\n"; }
  void pro(const std::string& s) { prologue_ += "\t" + s + ";\n"; }
  void label(const std::string& l) { body_ += l + ":\n"; }

  [[noreturn]] void bad(uint32_t i, const std::string& why) {
    fail(KILN_ERR_COMPILE, "cuda_ptx: kernel '" + std::string(k_.name) + "': instruction " +
                               dump_inst(k_, i) + ": " + why + "\n" + dump_kernel(k_));
  }

  kiln_dtype dt(int32_t idx) const { return static_cast<kiln_dtype>(k_.insts[idx].dtype); }
  const std::string& lane(int32_t idx, unsigned j) const {
    const Lanes& v = vals_[idx];
    return v.size() == 1 ? v[0] : v[j];
  }

  // ---- canonical forms ----
  void normalize(kiln_dtype t, const std::string& r) {
    switch (t) {
      case KILN_DTYPE_I8:
        op("cvt.s32.s8 " + r + ", " + r);
        break;
      case KILN_DTYPE_U8:
        op("and.b32 " + r + ", " + r + ", 255");
        break;
      case KILN_DTYPE_I16:
        op("cvt.s32.s16 " + r + ", " + r);
        break;
      case KILN_DTYPE_U16:
        op("and.b32 " + r + ", " + r + ", 65535");
        break;
      default:
        break;
    }
  }
  // f32 register -> 16 bits of a half type (exact when the value is representable)
  std::string half_bits(kiln_dtype t, const std::string& f) {
    std::string h = reg(H);
    op(std::string(t == KILN_DTYPE_F16 ? "cvt.rn.f16.f32 " : "cvt.rn.bf16.f32 ") + h + ", " + f);
    return h;
  }
  void widen_half(kiln_dtype t, const std::string& f, const std::string& h) {
    if (t == KILN_DTYPE_F16)
      op("cvt.f32.f16 " + f + ", " + h);
    else
      op("mov.b32 " + f + ", {" + hz_ + ", " + h + "}");
  }
  // Rounds an f32 register to the half type in place (no-op for other types).
  void round_half(kiln_dtype t, const std::string& f) {
    if (t != KILN_DTYPE_F16 && t != KILN_DTYPE_BF16) return;
    widen_half(t, f, half_bits(t, f));
  }
  // f64 -> f32 rounded to odd, so a following rounding to a half type is a single rounding.
  std::string f64_to_f32_odd(const std::string& d) {
    std::string f = reg(F), back = reg(FD), bits = reg(R), odd = reg(R);
    std::string p = reg(P);
    op("cvt.rz.f32.f64 " + f + ", " + d);
    op("cvt.f64.f32 " + back + ", " + f);
    op("setp.neu.f64 " + p + ", " + back + ", " + d);
    op("mov.b32 " + bits + ", " + f);
    op("or.b32 " + odd + ", " + bits + ", 1");
    op("selp.b32 " + bits + ", " + odd + ", " + bits + ", " + p);
    op("mov.b32 " + f + ", " + bits);
    return f;
  }
  std::string f64_to_half(kiln_dtype t, const std::string& d) {
    std::string f = f64_to_f32_odd(d);
    round_half(t, f);
    return f;
  }

  // ---- calls into the f64 math helpers ----
  std::string call_math(const char* fn, const std::vector<std::string>& args) {
    use_math(fn);
    std::string out = reg(FD);
    std::string s = "\t{\n\t.param .b64 kiln_ret;\n";
    for (size_t a = 0; a < args.size(); ++a)
      s += "\t.param .b64 kiln_arg" + std::to_string(a) + ";\n\tst.param.f64 [kiln_arg" +
           std::to_string(a) + "], " + args[a] + ";\n";
    s += std::string("\tcall.uni (kiln_ret), ") + fn + ", (";
    for (size_t a = 0; a < args.size(); ++a)
      s += (a ? ", kiln_arg" : "kiln_arg") + std::to_string(a);
    s += ");\n\tld.param.f64 " + out + ", [kiln_ret];\n\t}\n";
    body_ += s;
    return out;
  }
  void use_math(const std::string& fn) {
    if (fn == "kiln_pow_f64") {
      use_math("kiln_exp2_f64");
      use_math("kiln_log2_f64");
    }
    for (const auto& m : math_)
      if (m == fn) return;
    math_.push_back(fn);
  }
  // An f32-register float function computed through the f64 helper.
  std::string via_f64(kiln_dtype t, const char* fn, const std::vector<std::string>& args) {
    if (t == KILN_DTYPE_F64) return call_math(fn, args);
    std::vector<std::string> wide;
    for (const auto& a : args) {
      std::string d = reg(FD);
      op("cvt.f64.f32 " + d + ", " + a);
      wide.push_back(d);
    }
    std::string r = call_math(fn, wide);
    if (t == KILN_DTYPE_F32) {
      std::string f = reg(F);
      op("cvt.rn.f32.f64 " + f + ", " + r);
      return f;
    }
    return f64_to_half(t, r);
  }

  // ---- definitions (hoisted into the prologue: visible everywhere) ----
  void emit_launch_ids() {
    for (int a = 0; a < 3; ++a) {
      ctaid_[a] = reg(R);
      tid_[a] = reg(R);
      pro("mov.u32 " + ctaid_[a] + ", %ctaid." + "xyz"[a]);
      pro("mov.u32 " + tid_[a] + ", %tid." + "xyz"[a]);
    }
    if (pack_ > 1) {
      // group x = block * pack + warp; lane = tid.x % 32; a whole warp leaves together
      std::string warp = reg(R), lane = reg(R), gx = reg(R), lim = reg(R);
      std::string p = reg(P);
      pro("shr.u32 " + warp + ", " + tid_[0] + ", 5");
      pro("and.b32 " + lane + ", " + tid_[0] + ", 31");
      pro("mad.lo.u32 " + gx + ", " + ctaid_[0] + ", " + std::to_string(pack_) + ", " + warp);
      pro("ld.param.u32 " + lim + ", [kiln_grid_x]");
      pro("setp.ge.u32 " + p + ", " + gx + ", " + lim);
      pro("@" + p + " bra $L_exit");
      ctaid_[0] = gx;
      tid_[0] = lane;
    }
    if (flat_) {
      // One kernel group per CUDA thread: threads past the grid's x extent leave at once.
      std::string ntid = reg(R), gx = reg(R), lim = reg(R);
      std::string p = reg(P);
      pro("mov.u32 " + ntid + ", %ntid.x");
      pro("mad.lo.u32 " + gx + ", " + ctaid_[0] + ", " + ntid + ", " + tid_[0]);
      pro("ld.param.u32 " + lim + ", [kiln_grid_x]");
      pro("setp.ge.u32 " + p + ", " + gx + ", " + lim);
      pro("@" + p + " bra $L_exit");
      ctaid_[0] = gx;
    }
  }

  void emit_const(uint32_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    const auto t = dt(int32_t(i));
    RC c = rc_of(t);
    std::string r = reg(c);
    switch (c) {
      case P: {
        std::string tmp = reg(R);
        pro("mov.b32 " + tmp + ", " + (in.imm.i != 0 ? "1" : "0"));
        pro("setp.ne.u32 " + r + ", " + tmp + ", 0");
        break;
      }
      case R: {
        int64_t v = in.imm.i;
        switch (t) {
          case KILN_DTYPE_I8:
            v = int8_t(v);
            break;
          case KILN_DTYPE_U8:
            v = uint8_t(v);
            break;
          case KILN_DTYPE_I16:
            v = int16_t(v);
            break;
          case KILN_DTYPE_U16:
            v = uint16_t(v);
            break;
          default:
            break;
        }
        pro("mov.b32 " + r + ", " + hex32(uint32_t(v)));
        break;
      }
      case RD:
        pro("mov.b64 " + r + ", " + hex64(uint64_t(in.imm.i)));
        break;
      case F: {
        float f = t == KILN_DTYPE_F16    ? f16_bits_to_float(double_to_f16_bits(in.imm.f))
                  : t == KILN_DTYPE_BF16 ? bf16_bits_to_float(double_to_bf16_bits(in.imm.f))
                                         : static_cast<float>(in.imm.f);
        pro("mov.f32 " + r + ", " + f32_lit(f));
        break;
      }
      case FD:
        pro("mov.f64 " + r + ", " + f64_lit(in.imm.f));
        break;
      default:
        break;
    }
    vals_[i] = {r};
  }

  void emit_definition(uint32_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    const auto t = dt(int32_t(i));
    switch (in.op) {
      case KILN_IR_PARAM: {
        std::string p = reg(RD);
        pro("ld.param.u64 " + p + ", [kiln_p" + std::to_string(in.arg) + "]");
        pro("cvta.to.global.u64 " + p + ", " + p);
        vals_[i] = {p};
        break;
      }
      case KILN_IR_VAR: {
        std::string v = reg(RD);
        pro("ld.param.u64 " + v + ", [kiln_v" + std::to_string(in.arg) + "]");
        if (t == KILN_DTYPE_I64) {
          vals_[i] = {v};
        } else {
          std::string r = reg(R);
          pro("cvt.u32.u64 " + r + ", " + v);
          vals_[i] = {r};
        }
        break;
      }
      case KILN_IR_LOCAL: {
        std::string sym = "kiln_smem" + std::to_string(i);
        uint64_t bytes = uint64_t(in.arg) * dtype_bytes(t);
        shared_ += "\t.shared .align 16 .b8 " + sym + "[" + std::to_string(bytes) + "];\n";
        std::string p = reg(RD);
        pro("mov.u64 " + p + ", " + sym);
        vals_[i] = {p};
        break;
      }
      case KILN_IR_SPECIAL: {
        std::string src = in.arg < 3 ? ctaid_[in.arg] : tid_[in.arg - 3];
        if (t == KILN_DTYPE_I64) {
          std::string r = reg(RD);
          pro("cvt.u64.u32 " + r + ", " + src);
          vals_[i] = {r};
        } else {
          vals_[i] = {src};
        }
        break;
      }
      case KILN_IR_CONST:
        emit_const(i);
        break;
      default:
        break;
    }
  }

  // ---- memory ----
  bool is_shared(int32_t buf) const { return k_.insts[buf].op == KILN_IR_LOCAL; }
  std::string space(int32_t buf, bool load) const {
    if (is_shared(buf)) return "shared";
    const kiln_ir_inst& p = k_.insts[buf];
    // Buffers the kernel only reads go through the read-only data cache; launches that bind a
    // written buffer to a second slot are refused, so no written memory is read this way.
    bool read_only = (sum_.param_flags[p.arg] & PARAM_WRITTEN) == 0;
    return load && read_only ? "global.nc" : "global";
  }
  // byte address of element `index` of buffer `buf`. An index that is another value plus a
  // constant, proven not to wrap (ADD flagged NOWRAP), is that value's address plus a byte
  // offset, which ptxas folds into the access: a decode attention thread's 48 row loads share
  // two address computations instead of one multiply-add each. Addresses are reused within the
  // scope (RANGE/IF body) that computed them.
  std::string address(int32_t buf, int32_t index) {
    const std::pair<int32_t, int32_t> key{buf, index};
    for (auto s = addresses_.rbegin(); s != addresses_.rend(); ++s)
      if (auto f = s->find(key); f != s->end()) return f->second;
    const unsigned size = dtype_bytes(dt(buf));
    std::string a = reg(RD);
    addresses_.back()[key] = a;
    const kiln_ir_inst& ixi = k_.insts[index];
    if (ixi.op == KILN_IR_ADD && (ixi.flags & KILN_IR_FLAG_NOWRAP) && is_signed_int(dt(index)) &&
        lanes_of(ixi) == 1)
      for (int s = 0; s < 2; ++s) {
        const int32_t c = ixi.src[s], x = ixi.src[1 - s];
        if (k_.insts[c].op != KILN_IR_CONST || k_.insts[x].op == KILN_IR_ACC) continue;
        const std::string from = address(buf, x);
        op("add.s64 " + a + ", " + from + ", " + std::to_string(k_.insts[c].imm.i * int64_t(size)));
        return a;
      }
    const std::string& base = vals_[buf][0];
    const std::string& ix = lane(index, 0);
    if (rc_of(dt(index)) == RD) {
      op("mad.lo.s64 " + a + ", " + ix + ", " + std::to_string(size) + ", " + base);
    } else {
      op(std::string(is_signed_int(dt(index)) ? "mul.wide.s32 " : "mul.wide.u32 ") + a + ", " + ix +
         ", " + std::to_string(size));
      op("add.s64 " + a + ", " + a + ", " + base);
    }
    return a;
  }
  static std::string at(const std::string& a, unsigned off) {
    return cat("[", a, off ? cat("+", std::to_string(off)) : std::string(), "]");
  }
  // Elements per vector access: 16 bytes at most, only for aligned accesses of 2/4/8-byte types.
  unsigned vector_width(const kiln_ir_inst& in, kiln_dtype t, unsigned lanes) const {
    if (!(in.flags & KILN_IR_FLAG_ALIGNED) || lanes < 2) return 1;
    unsigned size = dtype_bytes(t);
    if (t == KILN_DTYPE_BOOL || size == 1 || (size == 2 && is_int(t))) return 1;
    unsigned w = std::min(4u, 16u / size);
    while (w > 1 && lanes % w != 0) w /= 2;
    return w;
  }

  void emit_load(uint32_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    const auto t = dt(int32_t(i));
    const unsigned lanes = lanes_of(in);
    const RC c = rc_of(t);
    const unsigned size = dtype_bytes(t);
    const std::string sp = space(in.src[0], true);
    Lanes out(lanes);
    for (auto& r : out) r = reg(c);
    const bool gated = in.src[2] >= 0;
    const bool lane_gates = gated && lanes_of(k_.insts[in.src[2]]) > 1;
    if (gated) {
      for (unsigned j = 0; j < lanes; ++j) {
        if (in.src[3] >= 0) {
          op("mov." + std::string(kRcMov[c]) + " " + out[j] + ", " + lane(in.src[3], j));
        } else if (c == P) {
          op("setp.ne.u32 " + out[j] + ", " + zero_r() + ", 0");
        } else {
          op("mov." + std::string(kRcMov[c]) + " " + out[j] + ", " + zero_lit(c));
        }
      }
    }
    std::string a = address(in.src[0], in.src[1]);
    auto guard = [&](unsigned j) {
      if (!gated) return std::string();
      return "@" + lane(in.src[2], lane_gates ? j : 0) + " ";
    };
    // a streamed buffer (a GEMV's weights) is read under an L2 evict_first policy, so it does not
    // push out what later kernels read again (activations, the KV cache)
    std::string sp_hint = sp, policy;
    if ((in.flags & KILN_IR_FLAG_STREAM) && !is_shared(in.src[0]) && target_.sm >= 80) {
      sp_hint += ".L2::cache_hint";
      policy = ", " + evict_first_policy();
    }
    const bool half = t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16;
    if (half && !lane_gates && (in.flags & KILN_IR_FLAG_ALIGNED) && lanes >= 4 && lanes % 2 == 0) {
      // aligned halves travel as 32-bit pairs, so 8 of them are one 16-byte access
      unsigned ww = std::min(4u, lanes / 2);
      while ((lanes / 2) % ww != 0) ww /= 2;
      for (unsigned j = 0; j < lanes; j += 2 * ww) {
        const std::string g = guard(j);
        Lanes words(ww);
        std::string dst = "{";
        for (unsigned x = 0; x < ww; ++x) {
          words[x] = reg(R);
          dst += (x ? ", " : "") + words[x];
        }
        dst += "}";
        op(g + "ld." + sp_hint + (ww > 1 ? ".v" + std::to_string(ww) : std::string()) + ".b32 " +
           (ww > 1 ? dst : words[0]) + ", " + at(a, j * size) + policy);
        if (!gated) {
          Lanes& pairs = half_pairs_[i];
          pairs.resize(lanes / 2);
          for (unsigned x = 0; x < ww; ++x) pairs[j / 2 + x] = words[x];
        }
        for (unsigned x = 0; x < ww; ++x) {
          const std::string& lo = out[j + 2 * x];
          const std::string& hi = out[j + 2 * x + 1];
          if (t == KILN_DTYPE_BF16) {
            op(g + "shl.b32 " + lo + ", " + words[x] + ", 16");
            op(g + "and.b32 " + hi + ", " + words[x] + ", 0xFFFF0000");
          } else {
            std::string hl = reg(H), hh = reg(H);
            op(g + "mov.b32 {" + hl + ", " + hh + "}, " + words[x]);
            op(g + "cvt.f32.f16 " + lo + ", " + hl);
            op(g + "cvt.f32.f16 " + hi + ", " + hh);
          }
        }
      }
      vals_[i] = out;
      return;
    }
    const unsigned w = lane_gates ? 1 : vector_width(in, t, lanes);
    for (unsigned j = 0; j < lanes; j += w) {
      const std::string g = guard(j);
      // the registers the memory operation writes
      Lanes raw(w);
      for (unsigned x = 0; x < w; ++x) {
        if (c == P)
          raw[x] = reg(R);
        else if (t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16)
          raw[x] = reg(H);
        else
          raw[x] = out[j + x];
      }
      std::string dst = raw[0];
      std::string vec;
      if (w > 1) {
        dst = "{";
        for (unsigned x = 0; x < w; ++x) dst += (x ? ", " : "") + raw[x];
        dst += "}";
        vec = ".v" + std::to_string(w);
      }
      op(g + "ld." + sp_hint + vec + "." + mem_type(t) + " " + dst + ", " + at(a, j * size) +
         policy);
      for (unsigned x = 0; x < w; ++x) {
        if (c == P)
          op(g + "setp.ne.u32 " + out[j + x] + ", " + raw[x] + ", 0");
        else if (t == KILN_DTYPE_F16)
          op(g + "cvt.f32.f16 " + out[j + x] + ", " + raw[x]);
        else if (t == KILN_DTYPE_BF16)
          op(g + "mov.b32 " + out[j + x] + ", {" + hz_ + ", " + raw[x] + "}");
      }
    }
    vals_[i] = out;
  }

  void emit_store(uint32_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    const auto t = dt(in.src[0]);
    const unsigned lanes = lanes_of(in);
    const unsigned size = dtype_bytes(t);
    const std::string sp = space(in.src[0], false);
    const bool gated = in.src[3] >= 0;
    const bool lane_gates = gated && lanes_of(k_.insts[in.src[3]]) > 1;
    std::string a = address(in.src[0], in.src[1]);
    const bool half = t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16;
    if (half && !lane_gates && (in.flags & KILN_IR_FLAG_ALIGNED) && lanes >= 2 && lanes % 2 == 0) {
      // aligned halves go as 32-bit pairs: the words they were loaded in (a copy through shared
      // memory stores them untouched) or one cvt.rn.*x2 per pair
      const std::string g = gated ? "@" + lane(in.src[3], 0) + " " : "";
      const unsigned ww = std::min(4u, lanes / 2);
      for (unsigned j = 0; j < lanes; j += 2 * ww) {
        std::string src;
        for (unsigned x = 0; x < ww; ++x) src += (x ? ", " : "") + half_pair(in.src[2], j + 2 * x);
        if (ww > 1) src = "{" + src + "}";
        op(g + "st." + sp + (ww > 1 ? ".v" + std::to_string(ww) : std::string()) + ".b32 " +
           at(a, j * size) + ", " + src);
      }
      return;
    }
    Lanes raw(lanes);
    for (unsigned j = 0; j < lanes; ++j) {
      const std::string& v = lane(in.src[2], j);
      if (t == KILN_DTYPE_BOOL) {
        raw[j] = reg(R);
        op("selp.u32 " + raw[j] + ", 1, 0, " + v);
      } else if (t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16) {
        raw[j] = half_bits(t, v);
      } else {
        raw[j] = v;
      }
    }
    const unsigned w = lane_gates ? 1 : vector_width(in, t, lanes);
    for (unsigned j = 0; j < lanes; j += w) {
      std::string g = gated ? "@" + lane(in.src[3], lane_gates ? j : 0) + " " : "";
      std::string src = raw[j], vec;
      if (w > 1) {
        src = "{";
        for (unsigned x = 0; x < w; ++x) src += (x ? ", " : "") + raw[j + x];
        src += "}";
        vec = ".v" + std::to_string(w);
      }
      op(g + "st." + sp + vec + "." + mem_type(t) + " " + at(a, j * size) + ", " + src);
    }
  }

  std::string evict_first_policy() {
    if (policy_.empty()) {
      policy_ = reg(RD);
      pro("createpolicy.fractional.L2::evict_first.b64 " + policy_ + ", 1.0");
    }
    return policy_;
  }
  std::string zero_r() {
    if (zero_r_.empty()) {
      zero_r_ = reg(R);
      pro("mov.b32 " + zero_r_ + ", 0");
    }
    return zero_r_;
  }
  static std::string zero_lit(RC c) {
    switch (c) {
      case F:
        return "0f00000000";
      case FD:
        return "0d0000000000000000";
      default:
        return "0";
    }
  }

  // ---- ALU, one lane ----
  std::string alu(const kiln_ir_inst& in, uint32_t i, unsigned j) {
    const auto t = dt(int32_t(i));
    const RC c = rc_of(t);
    auto a = [&](int s) { return lane(in.src[s], j); };
    std::string d;
    auto fresh = [&](RC rc) {
      d = reg(rc);
      return d;
    };
    switch (in.op) {
      case KILN_IR_NEG:
        if (c == F || c == FD) {
          op("neg." + ftyp(t) + " " + fresh(c) + ", " + a(0));
        } else {
          op("neg." + std::string(c == RD ? "s64 " : "s32 ") + fresh(c) + ", " + a(0));
          normalize(t, d);
        }
        return d;
      case KILN_IR_NOT:
        if (c == P)
          op("not.pred " + fresh(P) + ", " + a(0));
        else
          op(std::string(c == RD ? "not.b64 " : "not.b32 ") + fresh(c) + ", " + a(0));
        normalize(t, d);
        return d;
      case KILN_IR_EXP2:
        if (c == FD) return call_math("kiln_exp2_f64", {a(0)});
        op("ex2.approx.f32 " + fresh(F) + ", " + a(0));
        round_half(t, d);
        return d;
      case KILN_IR_LOG2:
        if (c == FD) return call_math("kiln_log2_f64", {a(0)});
        op("lg2.approx.f32 " + fresh(F) + ", " + a(0));
        round_half(t, d);
        return d;
      case KILN_IR_SIN:
        return via_f64(t, "kiln_sin_f64", {a(0)});
      case KILN_IR_POW:
        return via_f64(t, "kiln_pow_f64", {a(0), a(1)});
      case KILN_IR_SQRT:
        op("sqrt.rn." + ftyp(t) + " " + fresh(c) + ", " + a(0));
        round_half(t, d);
        return d;
      case KILN_IR_RECIP:
        op("rcp.rn." + ftyp(t) + " " + fresh(c) + ", " + a(0));
        round_half(t, d);
        return d;
      case KILN_IR_TRUNC:
        op("cvt.rzi." + ftyp(t) + "." + ftyp(t) + " " + fresh(c) + ", " + a(0));
        return d;
      case KILN_IR_ADD:
      case KILN_IR_SUB:
      case KILN_IR_MUL: {
        const char* name = in.op == KILN_IR_ADD ? "add" : in.op == KILN_IR_SUB ? "sub" : "mul";
        if (c == F || c == FD) {
          // halves: .rn keeps ptxas from contracting the f32 step into an fma
          bool half = t == KILN_DTYPE_F16 || t == KILN_DTYPE_BF16;
          op(std::string(name) + (half ? ".rn." : ".") + ftyp(t) + " " + fresh(c) + ", " + a(0) +
             ", " + a(1));
          round_half(t, d);
        } else {
          op(std::string(name) + (in.op == KILN_IR_MUL ? ".lo." : ".") + ityp(t) + " " + fresh(c) +
             ", " + a(0) + ", " + a(1));
          normalize(t, d);
        }
        return d;
      }
      case KILN_IR_FDIV:
        op("div.rn." + ftyp(t) + " " + fresh(c) + ", " + a(0) + ", " + a(1));
        round_half(t, d);
        return d;
      case KILN_IR_IDIV:
      case KILN_IR_MOD:
        return int_divide(in, t, a(0), a(1));
      case KILN_IR_MAX:
      case KILN_IR_MIN: {
        // MAX: a < b ? b : a;  MIN: b < a ? b : a  (the NaN behaviour the IR documents)
        if (c == P) {
          op(std::string(in.op == KILN_IR_MAX ? "or.pred " : "and.pred ") + fresh(P) + ", " + a(0) +
             ", " + a(1));
          return d;
        }
        std::string p = reg(P);
        std::string ct = (c == F || c == FD) ? ftyp(t) : ityp(t);
        if (in.op == KILN_IR_MAX)
          op("setp.lt." + ct + " " + p + ", " + a(0) + ", " + a(1));
        else
          op("setp.lt." + ct + " " + p + ", " + a(1) + ", " + a(0));
        op("selp." + std::string(kRcMov[c]) + " " + fresh(c) + ", " + a(1) + ", " + a(0) + ", " +
           p);
        return d;
      }
      case KILN_IR_CMPLT:
      case KILN_IR_CMPNE:
      case KILN_IR_CMPEQ: {
        const auto s = dt(in.src[0]);
        const RC sc = rc_of(s);
        if (sc == P) {
          if (in.op == KILN_IR_CMPLT) {
            std::string n = reg(P);
            op("not.pred " + n + ", " + a(0));
            op("and.pred " + fresh(P) + ", " + n + ", " + a(1));
          } else {
            op("xor.pred " + fresh(P) + ", " + a(0) + ", " + a(1));
            if (in.op == KILN_IR_CMPEQ) op("not.pred " + d + ", " + d);
          }
          return d;
        }
        std::string cmp;
        if (sc == F || sc == FD) {
          cmp = in.op == KILN_IR_CMPLT ? "lt." : in.op == KILN_IR_CMPNE ? "neu." : "eq.";
          cmp += ftyp(s);
        } else {
          cmp = in.op == KILN_IR_CMPLT ? "lt." : in.op == KILN_IR_CMPNE ? "ne." : "eq.";
          cmp += ityp(s);
        }
        op("setp." + cmp + " " + fresh(P) + ", " + a(0) + ", " + a(1));
        return d;
      }
      case KILN_IR_AND:
      case KILN_IR_OR:
      case KILN_IR_XOR: {
        const char* name = in.op == KILN_IR_AND ? "and" : in.op == KILN_IR_OR ? "or" : "xor";
        std::string ty = c == P ? "pred" : c == RD ? "b64" : "b32";
        op(std::string(name) + "." + ty + " " + fresh(c) + ", " + a(0) + ", " + a(1));
        return d;
      }
      case KILN_IR_SHL:
      case KILN_IR_SHR: {
        const unsigned bits = dtype_bits(t);
        std::string n = reg(R);
        if (c == RD)
          op("cvt.u32.u64 " + n + ", " + a(1));
        else
          op("mov.b32 " + n + ", " + a(1));
        op("and.b32 " + n + ", " + n + ", " + std::to_string(bits - 1));
        std::string w = c == RD ? "64" : "32";
        if (in.op == KILN_IR_SHL)
          op("shl.b" + w + " " + fresh(c) + ", " + a(0) + ", " + n);
        else
          op(std::string("shr.") + (is_signed_int(t) ? "s" : "u") + w + " " + fresh(c) + ", " +
             a(0) + ", " + n);
        normalize(t, d);
        return d;
      }
      case KILN_IR_WHERE: {
        const std::string& cond = lane(in.src[0], j);
        if (c == P) {
          std::string x = reg(P), y = reg(P), nc = reg(P);
          op("and.pred " + x + ", " + cond + ", " + a(1));
          op("not.pred " + nc + ", " + cond);
          op("and.pred " + y + ", " + nc + ", " + a(2));
          op("or.pred " + fresh(P) + ", " + x + ", " + y);
          return d;
        }
        op("selp." + std::string(kRcMov[c]) + " " + fresh(c) + ", " + a(1) + ", " + a(2) + ", " +
           cond);
        return d;
      }
      case KILN_IR_MULADD:
        if (c == F || c == FD) {
          op("fma.rn." + ftyp(t) + " " + fresh(c) + ", " + a(0) + ", " + a(1) + ", " + a(2));
          round_half(t, d);
        } else {
          op("mad.lo." + ityp(t) + " " + fresh(c) + ", " + a(0) + ", " + a(1) + ", " + a(2));
          normalize(t, d);
        }
        return d;
      case KILN_IR_DOT4:  // dp4a: sm_61 and newer, so every GPU this plugin accepts
        op("dp4a.u32.s32 " + fresh(c) + ", " + a(0) + ", " + a(1) + ", " + a(2));
        return d;
      case KILN_IR_CAST:
        return convert(dt(in.src[0]), t, a(0));
      case KILN_IR_BITCAST:
        return bitcast(dt(in.src[0]), t, a(0));
      default:
        bad(i, "op not handled by the PTX renderer");
    }
  }

  // IDIV / MOD, defined everywhere: x/0 = 0, MIN/-1 = MIN (wraps), x%0 = 0, x%-1 = 0.
  std::string int_divide(const kiln_ir_inst& in, kiln_dtype t, const std::string& x,
                         const std::string& y) {
    const RC c = rc_of(t);
    const std::string b = c == RD ? "b64" : "b32";
    const std::string it = ityp(t);
    std::string pz = reg(P), safe = reg(c), q = reg(c);
    op("setp.eq." + it + " " + pz + ", " + y + ", 0");
    std::string bad = pz;
    std::string pm;
    if (is_signed_int(t)) {
      pm = reg(P);
      bad = reg(P);
      op("setp.eq." + it + " " + pm + ", " + y + ", -1");
      op("or.pred " + bad + ", " + pz + ", " + pm);
    }
    op("selp." + b + " " + safe + ", 1, " + y + ", " + bad);
    if (in.op == KILN_IR_IDIV) {
      op("div." + it + " " + q + ", " + x + ", " + safe);
      if (!pm.empty()) {
        std::string nx = reg(c);
        op("neg." + std::string(c == RD ? "s64 " : "s32 ") + nx + ", " + x);
        op("selp." + b + " " + q + ", " + nx + ", " + q + ", " + pm);
      }
      op("selp." + b + " " + q + ", 0, " + q + ", " + pz);
    } else {
      op("rem." + it + " " + q + ", " + x + ", " + safe);
      op("selp." + b + " " + q + ", 0, " + q + ", " + bad);
    }
    normalize(t, q);
    return q;
  }

  // CAST semantics of docs/kernel-ir.md.
  std::string convert(kiln_dtype s, kiln_dtype t, const std::string& v) {
    const RC sc = rc_of(s), tc = rc_of(t);
    std::string d = reg(tc);
    if (s == t) {  // a copy: the result must not alias an ACC's register
      op("mov." + std::string(kRcMov[tc]) + " " + d + ", " + v);
      return d;
    }
    if (t == KILN_DTYPE_BOOL) {
      if (sc == P)
        op("mov.pred " + d + ", " + v);
      else if (sc == F)
        op("setp.neu.f32 " + d + ", " + v + ", 0f00000000");
      else if (sc == FD)
        op("setp.neu.f64 " + d + ", " + v + ", 0d0000000000000000");
      else
        op(std::string(sc == RD ? "setp.ne.u64 " : "setp.ne.u32 ") + d + ", " + v + ", 0");
      return d;
    }
    if (s == KILN_DTYPE_BOOL) {
      if (tc == F) {
        op("selp.f32 " + d + ", 0f3F800000, 0f00000000, " + v);
      } else if (tc == FD) {
        op("selp.f64 " + d + ", 0d3FF0000000000000, 0d0000000000000000, " + v);
      } else {
        op(std::string(tc == RD ? "selp.u64 " : "selp.u32 ") + d + ", 1, 0, " + v);
      }
      return d;
    }
    if (is_int(s) && is_int(t)) {
      if (sc == R && tc == R) {
        op("mov.b32 " + d + ", " + v);
        normalize(t, d);
      } else if (sc == RD && tc == R) {
        op("cvt.u32.u64 " + d + ", " + v);
        normalize(t, d);
      } else if (sc == R && tc == RD) {
        op(std::string(is_signed_int(s) ? "cvt.s64.s32 " : "cvt.u64.u32 ") + d + ", " + v);
      } else {
        op("mov.b64 " + d + ", " + v);
      }
      return d;
    }
    if (is_int(s)) {  // -> float
      const std::string st = ityp(s);
      if (t == KILN_DTYPE_F32 || t == KILN_DTYPE_F64) {
        op("cvt.rn." + ftyp(t) + "." + st + " " + d + ", " + v);
        return d;
      }
      // halves: through f64 (exact for 32-bit sources; 64-bit ones rounded to odd) and f32
      // rounded to odd, so the final rounding is the only one
      std::string w = reg(FD);
      if (sc == R) {
        op("cvt.rn.f64." + st + " " + w + ", " + v);
      } else {
        std::string back = reg(RD), bits = reg(RD), odd = reg(RD);
        std::string p = reg(P);
        op("cvt.rz.f64." + st + " " + w + ", " + v);
        op("cvt.rzi." + st + ".f64 " + back + ", " + w);
        op("setp.ne." + st + " " + p + ", " + back + ", " + v);
        op("mov.b64 " + bits + ", " + w);
        op("or.b64 " + odd + ", " + bits + ", 1");
        op("selp.b64 " + bits + ", " + odd + ", " + bits + ", " + p);
        op("mov.b64 " + w + ", " + bits);
      }
      return f64_to_half(t, w);
    }
    if (is_int(t)) {  // float -> int: truncates, saturates, NaN -> 0 (PTX cvt)
      const std::string fs = sc == FD ? "f64" : "f32";
      if (tc == RD) {
        op("cvt.rzi." + ityp(t) + "." + fs + " " + d + ", " + v);
      } else {
        const char* nt = t == KILN_DTYPE_I8    ? "s8"
                         : t == KILN_DTYPE_U8  ? "u8"
                         : t == KILN_DTYPE_I16 ? "s16"
                         : t == KILN_DTYPE_U16 ? "u16"
                         : t == KILN_DTYPE_I32 ? "s32"
                                               : "u32";
        op(std::string("cvt.rzi.") + nt + "." + fs + " " + d + ", " + v);
        normalize(t, d);
      }
      return d;
    }
    // float -> float
    if (t == KILN_DTYPE_F64) {
      op("cvt.f64.f32 " + d + ", " + v);
    } else if (s == KILN_DTYPE_F64) {
      if (t == KILN_DTYPE_F32)
        op("cvt.rn.f32.f64 " + d + ", " + v);
      else
        return f64_to_half(t, v);
    } else {
      op("mov.f32 " + d + ", " + v);
      round_half(t, d);
    }
    return d;
  }

  // 16 bits of a value of a 2-byte dtype.
  std::string bits16(kiln_dtype s, const std::string& v) {
    std::string h = reg(H);
    if (s == KILN_DTYPE_F16) {
      op("cvt.rn.f16.f32 " + h + ", " + v);
    } else if (s == KILN_DTYPE_BF16) {
      std::string lo = reg(H);
      op("mov.b32 {" + lo + ", " + h + "}, " + v);
    } else {
      op("cvt.u16.u32 " + h + ", " + v);
    }
    return h;
  }

  std::string bitcast(kiln_dtype s, kiln_dtype t, const std::string& v) {
    const RC tc = rc_of(t);
    std::string d = reg(tc);
    unsigned size = dtype_bytes(t);
    if (size == 2) {
      std::string h = bits16(s, v);
      if (t == KILN_DTYPE_F16)
        op("cvt.f32.f16 " + d + ", " + h);
      else if (t == KILN_DTYPE_BF16)
        op("mov.b32 " + d + ", {" + hz_ + ", " + h + "}");
      else
        op(std::string(t == KILN_DTYPE_I16 ? "cvt.s32.s16 " : "cvt.u32.u16 ") + d + ", " + h);
      return d;
    }
    op(std::string(size == 8 ? "mov.b64 " : "mov.b32 ") + d + ", " + v);
    normalize(t, d);
    return d;
  }

  std::string shuffle(kiln_dtype t, const std::string& v, int64_t mask) {
    const RC c = rc_of(t);
    const std::string m = std::to_string(mask);
    auto shfl32 = [&](const std::string& dst, const std::string& src) {
      op("shfl.sync.bfly.b32 " + dst + ", " + src + ", " + m + ", 31, -1");
    };
    std::string d = reg(c);
    if (c == R || c == F) {
      shfl32(d, v);
    } else if (c == RD || c == FD) {
      std::string lo = reg(R), hi = reg(R), lo2 = reg(R), hi2 = reg(R);
      op("mov.b64 {" + lo + ", " + hi + "}, " + v);
      shfl32(lo2, lo);
      shfl32(hi2, hi);
      op("mov.b64 " + d + ", {" + lo2 + ", " + hi2 + "}");
    } else {  // pred
      std::string x = reg(R), y = reg(R);
      op("selp.u32 " + x + ", 1, 0, " + v);
      shfl32(y, x);
      op("setp.ne.u32 " + d + ", " + y + ", 0");
    }
    return d;
  }

  // ---- L2 prefetch before the grid dependency wait (sm_90) ----
  // A kernel waits for its predecessor before its first memory access; until then only index
  // math runs. Prefetching the first iterations of its top-level loops into L2 (the ungated
  // loads whose indices are integer math of launch ids, constants and the loop counter) starts
  // the weight reads of a GEMV while the predecessor finishes — and, in a GEMV block, while its
  // nested norm runs (a later loop). Only buffers that no kernel of the launch's graph writes
  // (bit p of the kiln_const_mask parameter, which graphs set and plain launches leave 0;
  // known only at run time, so every loop's loads are issued under it): a line of a buffer the
  // predecessor still writes, touched before the wait, was read stale afterwards. An iteration
  // the loop does not run is not prefetched.
  void prefetch_weights(uint32_t from, int iterations) {
    const std::vector<int64_t> ends = scope_ends(k_.insts, k_.n_insts);
    int issued = 0;
    for (uint32_t j = from; j < k_.n_insts && issued < kMaxPrefetches; ++j) {
      const uint16_t o = k_.insts[j].op;
      if (o == KILN_IR_IF && ends[j] > 0) j = uint32_t(ends[j]);  // (a gated loop may not run)
      if (o == KILN_IR_RANGE && ends[j] > 0) {
        const int n = std::max(iterations, budget_iterations(j, ends));
        issued += prefetch_iterations(j, ends, n, kMaxPrefetches - issued);
        j = uint32_t(ends[j]);
      }
    }
  }

  // (KILN_CUDA_PREFETCH_MB, PtxTarget::prefetch_bytes) the iterations of loop `range` whose
  // streamed loads (a GEMV's matrix; else all its ungated loads) over the kernel's whole grid fit
  // in the budget, at most 8; 0 without a budget
  int budget_iterations(uint32_t range, const std::vector<int64_t>& ends) const {
    if (target_.prefetch_bytes == 0) return 0;
    uint64_t streamed = 0, all = 0;
    for (uint32_t j : weight_loads(range, ends)) {
      const kiln_ir_inst& in = k_.insts[j];
      const uint64_t bytes = uint64_t(lanes_of(in)) * dtype_bytes(dt(int32_t(j)));
      all += bytes;
      if (in.flags & KILN_IR_FLAG_STREAM) streamed += bytes;
    }
    uint64_t threads = 1;
    for (int a = 0; a < 3; ++a) threads *= uint64_t(k_.global_size[a]) * k_.local_size[a];
    const uint64_t per_iteration = (streamed ? streamed : all) * threads;
    if (per_iteration == 0) return 0;
    if (target_.prefetch_whole) {  // all of a loop of at most 8 iterations, or the default
      const kiln_ir_inst& r = k_.insts[range];
      const kiln_ir_inst &lo = k_.insts[r.src[0]], &hi = k_.insts[r.src[1]];
      if (lo.op != KILN_IR_CONST || hi.op != KILN_IR_CONST) return 0;
      const int64_t trips = hi.imm.i - lo.imm.i;
      return trips > 0 && trips <= 8 && uint64_t(trips) * per_iteration <= target_.prefetch_bytes
                 ? int(trips)
                 : 0;
    }
    return int(std::min<uint64_t>(8, target_.prefetch_bytes / per_iteration));
  }

  // The loads in loop `range` that may be prefetched: ungated loads of a parameter slot the const
  // mask covers (below 32). Loads under an IF inside the loop are left alone: the branch may be
  // what keeps their index in bounds. (`ends`: scope_ends)
  std::vector<uint32_t> weight_loads(uint32_t range, const std::vector<int64_t>& ends) const {
    std::vector<uint32_t> out;
    for (uint32_t j = range + 1; j < uint32_t(ends[range]); ++j) {
      const kiln_ir_inst& in = k_.insts[j];
      if (in.op == KILN_IR_IF && ends[j] > 0)
        j = uint32_t(ends[j]);
      else if (in.op == KILN_IR_LOAD && in.src[2] < 0 && k_.insts[in.src[0]].op == KILN_IR_PARAM &&
               k_.insts[in.src[0]].arg < 32)
        out.push_back(j);
    }
    return out;
  }

  // Prefetches loop `range`'s weight loads (at most `budget`); returns how many. Each
  // iteration has an address scope of its own: its addresses stand for no other's.
  int prefetch_iterations(uint32_t range, const std::vector<int64_t>& ends, int iterations,
                          int budget) {
    const kiln_ir_inst& r = k_.insts[range];
    const std::vector<uint32_t> loads = weight_loads(range, ends);
    const std::string t = ityp(dt(int32_t(range)));
    std::map<int32_t, std::string> bounds;
    const std::string first = iteration_value(r.src[0], range, bounds);
    const std::string last = iteration_value(r.src[1], range, bounds);
    if (first.empty() || last.empty()) return 0;
    int issued = 0;
    for (int it = 0; it < iterations && issued < budget; ++it) {
      addresses_.emplace_back();
      std::string counter = first;
      if (it > 0) {
        counter = reg(rc_of(dt(int32_t(range))));
        op("add." + t + " " + counter + ", " + first + ", " + std::to_string(it));
      }
      std::map<int32_t, std::string> memo = bounds;
      memo[int32_t(range)] = counter;
      std::string runs;
      for (uint32_t j : loads) {
        if (issued >= budget) break;
        const kiln_ir_inst& in = k_.insts[j];
        const int64_t slot = k_.insts[in.src[0]].arg;
        const std::string ix = iteration_value(in.src[1], range, memo);
        if (ix.empty()) continue;
        if (runs.empty()) {
          runs = reg(P);
          op("setp.lt." + t + " " + runs + ", " + counter + ", " + last);
          if (mask_.empty()) {
            mask_ = reg(R);
            pro("ld.param.u32 " + mask_ + ", [kiln_const_mask]");
          }
        }
        const std::string bit = reg(R), ok = reg(P);
        op("and.b32 " + bit + ", " + mask_ + ", " + std::to_string(1u << slot));
        op("setp.ne.and.u32 " + ok + ", " + bit + ", 0, " + runs);
        if (vals_[in.src[0]].empty()) emit_definition(uint32_t(in.src[0]));
        Lanes saved = vals_[in.src[1]];
        vals_[in.src[1]] = {ix};
        const std::string a = address(in.src[0], in.src[1]);
        vals_[in.src[1]] = saved;
        op("@" + ok + " prefetch.global.L2 [" + a + "]");
        ++issued;
      }
      addresses_.pop_back();
    }
    return issued;
  }

  // Instruction `idx` (a scalar integer) with loop `range` at the value memo holds for it, in a
  // register; empty when it depends on anything but integer math of definitions and the counter.
  std::string iteration_value(int32_t idx, uint32_t range, std::map<int32_t, std::string>& memo) {
    if (auto it = memo.find(idx); it != memo.end()) return it->second;
    const kiln_ir_inst& in = k_.insts[idx];
    if (lanes_of(in) != 1 || !is_int(dt(idx))) return {};
    // (one before the loop not yet emitted is computed here too when it is such math)
    if (uint32_t(idx) < range && !vals_[idx].empty()) return lane(idx, 0);
    switch (in.op) {
      case KILN_IR_CONST:
      case KILN_IR_SPECIAL:
      case KILN_IR_VAR:
        emit_definition(uint32_t(idx));  // emitted again where it stands: pure
        return memo[idx] = lane(idx, 0);
      case KILN_IR_ADD:
      case KILN_IR_SUB:
      case KILN_IR_MUL:
      case KILN_IR_IDIV:
      case KILN_IR_MOD:
      case KILN_IR_MAX:
      case KILN_IR_MIN:
      case KILN_IR_AND:
      case KILN_IR_OR:
      case KILN_IR_XOR:
      case KILN_IR_SHL:
      case KILN_IR_SHR:
      case KILN_IR_MULADD:
      case KILN_IR_CAST:
        break;
      default:
        return {};
    }
    std::vector<std::pair<int32_t, Lanes>> saved;
    for (int32_t src : in.src) {
      if (src < 0) continue;
      const std::string v = iteration_value(src, range, memo);
      if (v.empty()) return {};
      saved.emplace_back(src, vals_[src]);
      vals_[src] = {v};
    }
    const std::string out = alu(in, uint32_t(idx), 0);
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) vals_[it->first] = it->second;
    return memo[idx] = out;
  }
  static constexpr int kMaxPrefetches = 64;

  // KILN_CUDA_STAMPS (PtxTarget::stamps): the global timer into the node's stamps (graph_stamps.h)
  // by a `red` `how` (min / max) that no thread waits for: from thread 0 of block 0 into word
  // `slot` of the first line, or from lane 0 of each warp into the first word of one of 31 end
  // lines, by block (few same-address atomics: all of a big GEMV's warps on one address, each
  // waited for, made a step 1.5x as long)
  std::string stamp(int slot, const char* how, bool each_warp) {
    const std::string at = reg(RD), now = reg(RD), on = reg(P), who = reg(R), p = reg(P);
    std::string s =
        "\tld.param.u64 " + at + ", [kiln_stamps];\n\tsetp.ne.u64 " + on + ", " + at + ", 0;\n";
    if (each_warp) {
      const std::string line = reg(R), off = reg(RD);
      s += "\tmov.u32 " + who + ", %laneid;\n\tmov.u32 " + line + ", %ctaid.x;\n\trem.u32 " + line +
           ", " + line + ", " + std::to_string(kStampEndLines) + ";\n\tmad.lo.u32 " + line + ", " +
           line + ", " + std::to_string(kStampLineBytes) + ", " + std::to_string(kStampLineBytes) +
           ";\n\tcvt.u64.u32 " + off + ", " + line + ";\n\tadd.u64 " + at + ", " + at + ", " + off +
           ";\n";
    } else {  // (block 0 starts first: the grid's first start and first pass of the wait)
      const std::string t = reg(R);
      s += "\tmov.u32 " + who + ", %tid.x;\n";
      for (const char* sreg : {"%tid.y", "%tid.z", "%ctaid.x", "%ctaid.y", "%ctaid.z"})
        s += "\tmov.u32 " + t + ", " + sreg + ";\n\tor.b32 " + who + ", " + who + ", " + t + ";\n";
    }
    s += "\tsetp.eq.and.u32 " + p + ", " + who + ", 0, " + on + ";\n\tcvta.to.global.u64 " + at +
         ", " + at + ";\n\tmov.u64 " + now + ", %globaltimer;\n\t@" + p + " red.global." + how +
         ".u64 [" + at + "+" + std::to_string(each_warp ? 0 : 8 * slot) + "], " + now + ";\n";
    return s;
  }

  // griddepcontrol.wait (sm_90), stamped when the kernel takes stamps
  std::string grid_wait() {
    return "\tgriddepcontrol.wait;\n" + (target_.stamps ? stamp(1, "min", false) : std::string());
  }

  std::string mask_;  // the kiln_const_mask register, loaded once

  // ---- one instruction ----
  void emit_inst(uint32_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    const unsigned lanes = lanes_of(in);
    const auto t = dt(int32_t(i));
    body_ += "\t// " + dump_inst(k_, i) + "\n";
    // sm_90+: the wait for the predecessor grid (see module_text) goes before the first memory
    // access or control flow; the parameter, launch-id and index arithmetic before it overlaps
    // the predecessor's last blocks
    const bool pure = (in.op < KILN_IR_RANGE || in.op >= KILN_IR_NEG || in.op == KILN_IR_ASSIGN) &&
                      in.op != KILN_IR_COPY_ASYNC && in.op != KILN_IR_COPY_WAIT;
    if (!waited_ && !pure && target_.sm >= 90) {
      if (target_.prefetch > 0) prefetch_weights(i, target_.prefetch);
      body_ += grid_wait();
      if (target_.trigger == PtxTarget::Trigger::AfterWait) op("griddepcontrol.launch_dependents");
      waited_ = true;
    }
    switch (in.op) {
      case KILN_IR_NOP:
        return;
      case KILN_IR_PARAM:
      case KILN_IR_VAR:
      case KILN_IR_LOCAL:
      case KILN_IR_SPECIAL:
      case KILN_IR_CONST:
        emit_definition(i);
        return;
      case KILN_IR_BARRIER:
        op("bar.sync 0");
        return;
      case KILN_IR_WARP_BARRIER:
        op("bar.warp.sync -1");
        return;  // orders shared memory too
      case KILN_IR_ACC: {
        const RC c = rc_of(t);
        Lanes acc(lanes);
        for (unsigned j = 0; j < lanes; ++j) {
          acc[j] = reg(c);
          op("mov." + std::string(kRcMov[c]) + " " + acc[j] + ", " + lane(in.src[0], j));
        }
        vals_[i] = acc;
        return;
      }
      case KILN_IR_ASSIGN: {
        const Lanes& acc = vals_[in.src[0]];
        const RC c = rc_of(dt(in.src[0]));
        // Read every new lane before writing any (a lane's value may read another lane).
        Lanes next(acc.size());
        for (unsigned j = 0; j < acc.size(); ++j) next[j] = lane(in.src[1], j);
        for (unsigned j = 0; j < acc.size(); ++j)
          if (next[j] != acc[j])
            op("mov." + std::string(kRcMov[c]) + " " + acc[j] + ", " + next[j]);
        return;
      }
      case KILN_IR_RANGE: {
        const RC c = rc_of(t);
        std::string iv = reg(c), end = reg(c);
        std::string p = reg(P);
        op("mov." + std::string(kRcMov[c]) + " " + iv + ", " + lane(in.src[0], 0));
        op("mov." + std::string(kRcMov[c]) + " " + end + ", " + lane(in.src[1], 0));
        label("$L_r" + std::to_string(i) + "_head");
        op("setp.lt." + ityp(t) + " " + p + ", " + iv + ", " + end);
        op("@!" + p + " bra $L_r" + std::to_string(i) + "_exit");
        vals_[i] = {iv};
        addresses_.emplace_back();
        return;
      }
      case KILN_IR_ENDRANGE: {
        const int32_t r = in.src[0];
        op("add." + ityp(dt(r)) + " " + vals_[r][0] + ", " + vals_[r][0] + ", 1");
        op("bra $L_r" + std::to_string(r) + "_head");
        label("$L_r" + std::to_string(r) + "_exit");
        addresses_.pop_back();
        return;
      }
      case KILN_IR_IF:
        op("@!" + lane(in.src[0], 0) + " bra $L_if" + std::to_string(i) + "_end");
        addresses_.emplace_back();
        return;
      case KILN_IR_ENDIF:
        label("$L_if" + std::to_string(in.src[0]) + "_end");
        addresses_.pop_back();
        return;
      case KILN_IR_LOAD:
        emit_load(i);
        return;
      case KILN_IR_STORE:
        if (!triggered_ && target_.sm >= 90 && target_.trigger == PtxTarget::Trigger::FirstStore &&
            space(in.src[0], false) == "global") {
          op("griddepcontrol.launch_dependents");
          triggered_ = true;
        }
        emit_store(i);
        return;
      case KILN_IR_VECTORIZE: {
        const RC c = rc_of(t);
        Lanes out(lanes);
        for (unsigned j = 0; j < lanes; ++j) {
          out[j] = reg(c);
          op("mov." + std::string(kRcMov[c]) + " " + out[j] + ", " +
             lane(k_.operands[in.src[0] + j], 0));
        }
        vals_[i] = out;
        return;
      }
      case KILN_IR_GEP: {
        const RC c = rc_of(t);
        std::string r = reg(c);
        op("mov." + std::string(kRcMov[c]) + " " + r + ", " + lane(in.src[0], unsigned(in.arg)));
        vals_[i] = {r};
        return;
      }
      case KILN_IR_MMA: {
        const kiln_dtype h = dt(in.src[0]);
        const std::string ty = h == KILN_DTYPE_BF16 ? "bf16" : "f16";
        std::string a = "{", b = "{", c = "{", d = "{";
        for (unsigned p = 0; p < 4; ++p) a += (p ? ", " : "") + half_pair(in.src[0], 2 * p);
        for (unsigned p = 0; p < 2; ++p) b += (p ? ", " : "") + half_pair(in.src[1], 2 * p);
        Lanes out(4);
        for (unsigned j = 0; j < 4; ++j) {
          out[j] = reg(F);
          c += (j ? ", " : "") + lane(in.src[2], j);
          d += (j ? ", " : "") + out[j];
        }
        op("mma.sync.aligned.m16n8k16.row.col.f32." + ty + "." + ty + ".f32 " + d + "}, " + a +
           "}, " + b + "}, " + c + "}");
        vals_[i] = out;
        return;
      }
      case KILN_IR_COPY_ASYNC: {
        // 16 bytes go around L1 (.cg: the stage is read from shared memory, not again from L1)
        const unsigned bytes = lanes * dtype_bytes(t);
        const std::string dst = address(in.src[0], in.src[1]), from = address(in.src[2], in.src[3]);
        op(std::string(bytes == 16 ? "cp.async.cg" : "cp.async.ca") + ".shared.global [" + dst +
           "], [" + from + "], " + std::to_string(bytes));
        return;
      }
      case KILN_IR_COPY_COMMIT:
        op("cp.async.commit_group");
        return;
      case KILN_IR_COPY_WAIT:
        op("cp.async.wait_group " + std::to_string(in.arg));
        return;
      case KILN_IR_SHFL_XOR: {
        Lanes out(lanes);
        for (unsigned j = 0; j < lanes; ++j) out[j] = shuffle(t, lane(in.src[0], j), in.arg);
        vals_[i] = out;
        return;
      }
      default: {
        Lanes out(lanes);
        for (unsigned j = 0; j < lanes; ++j) out[j] = alu(in, i, j);
        vals_[i] = out;
        return;
      }
    }
  }

  // Lanes j, j+1 of a half-typed value as one .b32 register (lane j in the low half): the
  // 32-bit word an aligned load brought them in when both come from there, else packed from
  // their f32 registers (exact: they hold half values).
  std::pair<int32_t, unsigned> lane_origin(int32_t v, unsigned j) const {
    for (;;) {
      const kiln_ir_inst& in = k_.insts[v];
      if (in.op == KILN_IR_VECTORIZE) {
        v = k_.operands[in.src[0] + j];
        j = 0;
      } else if (in.op == KILN_IR_GEP) {
        j = unsigned(in.arg);
        v = in.src[0];
      } else {
        return {v, j};
      }
    }
  }
  std::string half_pair(int32_t v, unsigned j) {
    auto [lo_inst, lo_lane] = lane_origin(v, j);
    auto [hi_inst, hi_lane] = lane_origin(v, j + 1);
    if (lo_inst == hi_inst && lo_lane % 2 == 0 && hi_lane == lo_lane + 1) {
      auto it = half_pairs_.find(lo_inst);
      if (it != half_pairs_.end() && lo_lane / 2 < it->second.size() &&
          !it->second[lo_lane / 2].empty())
        return it->second[lo_lane / 2];
    }
    std::string r = reg(R);
    op(std::string("cvt.rn.") + (dt(v) == KILN_DTYPE_BF16 ? "bf16x2" : "f16x2") + ".f32 " + r +
       ", " + lane(v, j + 1) + ", " + lane(v, j));
    return r;
  }

  // threads of a block when fixed by the kernel (shared memory sized for them), else 0
  uint32_t max_threads() const {
    if (flat_ || pack_ > 1 || !sum_.uses_shared) return 0;
    return std::max(k_.local_size[0], 1u) * std::max(k_.local_size[1], 1u) *
           std::max(k_.local_size[2], 1u);
  }

  std::string meta_line() const {
    std::string s = "// kiln-meta v1 flat=" + std::to_string(flat_ ? 1 : 0) +
                    " pack=" + std::to_string(pack_) + " params=" + std::to_string(k_.n_params) +
                    " vars=" + std::to_string(k_.n_vars) +
                    " local=" + std::to_string(sum_.local_bytes) +
                    " maxntid=" + std::to_string(max_threads()) + " written=";
    for (uint32_t p = 0; p < k_.n_params; ++p)
      s += (sum_.param_flags[p] & PARAM_WRITTEN) ? '1' : '0';
    for (uint32_t v = 0; v < k_.n_vars; ++v)
      s += " var" + std::to_string(v) + "=" + std::to_string(sum_.var_min[v]) + ":" +
           std::to_string(sum_.var_max[v]);
    return s + "\n";
  }

  std::string module_text() {
    std::string out = meta_line();
    out += "// Kiln kernel rendered by the cuda_ptx device plugin\n";
    std::string listing = dump_kernel(k_);
    for (size_t start = 0; start < listing.size();) {
      size_t nl = listing.find('\n', start);
      out += "// " + listing.substr(start, nl - start) + "\n";
      start = nl == std::string::npos ? listing.size() : nl + 1;
    }
    out += ".version 8.0\n.target sm_" + std::to_string(target_.sm) + "\n.address_size 64\n";
    for (const auto& m : math_) {
      if (m == "kiln_exp2_f64")
        out += k_exp2_f64_ptx;
      else if (m == "kiln_log2_f64")
        out += k_log2_f64_ptx;
      else if (m == "kiln_sin_f64")
        out += k_sin_f64_ptx;
      else if (m == "kiln_pow_f64")
        out += k_pow_f64_ptx;
    }
    out += "\n.visible .entry " + ptx_entry_name(k_.name) + "(\n";
    std::string params;
    for (uint32_t p = 0; p < k_.n_params; ++p)
      params += "\t.param .u64 kiln_p" + std::to_string(p) + ",\n";
    for (uint32_t v = 0; v < k_.n_vars; ++v)
      params += "\t.param .u64 kiln_v" + std::to_string(v) + ",\n";
    params += "\t.param .u32 kiln_grid_x,\n\t.param .u32 kiln_const_mask";
    params += target_.stamps ? ",\n\t.param .u64 kiln_stamps\n" : "\n";
    out += params + ")\n";
    // (before the registers are declared: the stamps take some)
    const std::string entry_stamp = target_.stamps ? stamp(0, "min", false) : "";
    const std::string exit_stamp = target_.stamps ? stamp(0, "max", true) : "";
    // a group sharing memory runs at its own size only: ptxas keeps the registers within what
    // that many threads may hold, so the launch cannot fail for want of them (decode attention
    // with more warps, KILN_GPU_ATTN_WARPS)
    if (const uint32_t n = max_threads()) out += ".maxntid " + std::to_string(n) + ", 1, 1\n";
    out += "{\n";
    for (int c = 0; c < RC_COUNT; ++c)
      out += "\t.reg " + std::string(kRcDecl[c]) + " " + kRcPrefix[c] + "<" +
             std::to_string(count_[c] + 1) + ">;\n";
    // sm_90+: graphs chain kernels with programmatic edges (graph.cpp). Dependents may start
    // once every block of this grid has passed the trigger (PtxTarget::trigger); this grid waits
    // for its predecessor's completion and memory before touching any buffer (a read or a
    // write, since buffers are reused; emit_inst places the wait), which keeps the chain as
    // ordered as full serialization. Outside PDL both are no-ops.
    const std::string trigger = target_.sm >= 90 && target_.trigger == PtxTarget::Trigger::Start
                                    ? "\tgriddepcontrol.launch_dependents;\n"
                                    : "";
    // a kernel with no memory access at all still waits before it ends
    const std::string wait = target_.sm >= 90 && !waited_ ? grid_wait() : "";
    out += shared_ + trigger + entry_stamp + prologue_ + body_ + wait + "$L_exit:\n" + exit_stamp +
           "\tret;\n}\n";
    return out;
  }

  const kiln_kernel& k_;
  const KernelSummary& sum_;
  PtxTarget target_;
  bool flat_ = false;
  int pack_ = 1;            // groups (warps) per CUDA block for one-warp groups
  bool waited_ = false;     // griddepcontrol.wait emitted (sm_90+)
  bool triggered_ = false;  // griddepcontrol.launch_dependents emitted (sm_90+, at a store)
  std::vector<Lanes> vals_;
  std::map<int32_t, Lanes> half_pairs_;  // aligned half loads: the .b32 word of each lane pair
  unsigned count_[RC_COUNT] = {0, 0, 0, 0, 0, 0};
  std::string prologue_, body_, shared_;
  std::string hz_, zero_r_, policy_;
  std::string ctaid_[3], tid_[3];
  std::vector<std::string> math_;
  // addresses computed per (buffer, index), one map per open scope (address())
  std::vector<std::map<std::pair<int32_t, int32_t>, std::string>> addresses_ =
      std::vector<std::map<std::pair<int32_t, int32_t>, std::string>>(1);
};

}  // namespace

std::string render_ptx(const kiln_kernel& k, const PtxTarget& target) {
  // shared memory per block; arrays 16-byte aligned for vector access; warps of 32
  CheckTarget cuda{"cuda_ptx", target.max_local_bytes, 16, true};
  cuda.has_mma = target.sm >= 80;
  cuda.has_async_copy = target.sm >= 80;
  KernelSummary sum = check_kernel(k, cuda);
  return Emitter(k, sum, target).render();
}

}  // namespace kiln::cuda
