// Conversions and literals. f16 lives in LLVM `half` and bf16 as its i16 bit pattern (LLVM 16's
// x86 bfloat support is incomplete); both are computed in f32. Every narrowing rounds once, to
// nearest-even: f64 -> f16/bf16 goes through f32 with round-to-odd, which keeps the final
// rounding exact (f32 has more than twice the bits of either half type, plus two).
#include <bit>
#include <cinttypes>
#include <cstdio>

#include "float_bits.h"
#include "render_emitter.h"

namespace kiln::cpu {

std::string Emitter::literal(kiln_dtype dt, const kiln_ir_imm& imm) {
  char buf[48];
  switch (dt) {
    case KILN_DTYPE_BOOL:
      return imm.i != 0 ? "true" : "false";
    case KILN_DTYPE_I8: case KILN_DTYPE_U8:
      return std::to_string(int(int8_t(uint8_t(imm.i))));
    case KILN_DTYPE_I16: case KILN_DTYPE_U16:
      return std::to_string(int(int16_t(uint16_t(imm.i))));
    case KILN_DTYPE_I32: case KILN_DTYPE_U32:
      return std::to_string(int32_t(uint32_t(imm.i)));
    case KILN_DTYPE_I64: case KILN_DTYPE_U64:
      return std::to_string(imm.i);
    case KILN_DTYPE_F16:
      std::snprintf(buf, sizeof buf, "0xH%04X", unsigned(double_to_f16_bits(imm.f)));
      return buf;
    case KILN_DTYPE_BF16:
      return std::to_string(int(int16_t(double_to_bf16_bits(imm.f))));
    case KILN_DTYPE_F32: {
      // LLVM spells a float constant as the hex of the double holding its exact value.
      float f = std::bit_cast<float>(uint32_t(round_double_to_format(imm.f, 8, 23)));
      std::snprintf(buf, sizeof buf, "0x%016" PRIX64, std::bit_cast<uint64_t>(double(f)));
      return buf;
    }
    case KILN_DTYPE_F64:
      std::snprintf(buf, sizeof buf, "0x%016" PRIX64, std::bit_cast<uint64_t>(imm.f));
      return buf;
    default:
      return "poison";
  }
}

Val Emitter::widen(const Val& v) {
  const std::string f32 = llvm_vec("float", v.lanes);
  if (v.dt == KILN_DTYPE_F16) return {def("fpext " + v.typed() + " to " + f32), KILN_DTYPE_F32, v.lanes};
  if (v.dt != KILN_DTYPE_BF16) return v;
  // bf16 is the top half of an f32: exact.
  const std::string i32 = llvm_vec("i32", v.lanes);
  std::string wide = def("zext " + v.typed() + " to " + i32);
  std::string bits = def("shl " + i32 + " " + wide + ", " + splat_text("i32", "16", v.lanes));
  return {def("bitcast " + i32 + " " + bits + " to " + f32), KILN_DTYPE_F32, v.lanes};
}

Val Emitter::narrow(const Val& f, kiln_dtype to) {
  if (to == KILN_DTYPE_F16)
    return {def("fptrunc " + f.typed() + " to " + llvm_vec("half", f.lanes)), to, f.lanes};
  if (to != KILN_DTYPE_BF16) return f;
  // Round to nearest even on the bit pattern; a NaN keeps its sign and top payload, quieted.
  const unsigned n = f.lanes;
  const std::string i32 = llvm_vec("i32", n);
  auto c = [&](const char* v) { return splat_text("i32", v, n); };
  std::string bits = def("bitcast " + f.typed() + " to " + i32);
  std::string high = def("lshr " + i32 + " " + bits + ", " + c("16"));
  std::string lsb = def("and " + i32 + " " + high + ", " + c("1"));
  std::string biased = def("add " + i32 + " " + bits + ", " + c("32767"));
  std::string rounded = def("add " + i32 + " " + biased + ", " + lsb);
  std::string top = def("lshr " + i32 + " " + rounded + ", " + c("16"));
  std::string is_nan = def("fcmp uno " + f.typed() + ", " + f.text);
  std::string quiet = def("or " + i32 + " " + high + ", " + c("64"));
  std::string pick = def("select " + llvm_vec("i1", n) + " " + is_nan + ", " + i32 + " " + quiet +
                         ", " + i32 + " " + top);
  return {def("trunc " + i32 + " " + pick + " to " + llvm_vec("i16", n)), to, n};
}

// f64 -> f32 rounding to odd: truncate toward zero, then set the last bit if anything was lost.
Val Emitter::round_to_odd_f32(const Val& d) {
  const unsigned n = d.lanes;
  const std::string f32 = llvm_vec("float", n), i32 = llvm_vec("i32", n);
  const std::string i1 = llvm_vec("i1", n);
  std::string t = def("fptrunc " + d.typed() + " to " + f32);
  std::string back = def("fpext " + f32 + " " + t + " to " + d.type());
  std::string inexact = def("fcmp one " + d.type() + " " + back + ", " + d.text);
  Val vb{back, KILN_DTYPE_F64, n}, vd = d;
  std::string abs_back = intrinsic("fabs", {vb}, vb).text;
  std::string abs_d = intrinsic("fabs", {vd}, vd).text;
  std::string away = def("fcmp ogt " + d.type() + " " + abs_back + ", " + abs_d);
  std::string bits = def("bitcast " + f32 + " " + t + " to " + i32);
  std::string less = def("sub " + i32 + " " + bits + ", " + splat_text("i32", "1", n));
  std::string toward = def("select " + i1 + " " + away + ", " + i32 + " " + less + ", " + i32 + " " + bits);
  std::string odd = def("or " + i32 + " " + toward + ", " + splat_text("i32", "1", n));
  std::string pick = def("select " + i1 + " " + inexact + ", " + i32 + " " + odd + ", " + i32 + " " + bits);
  return {def("bitcast " + i32 + " " + pick + " to " + f32), KILN_DTYPE_F32, n};
}

Val Emitter::int_cast(const Val& v, kiln_dtype to) {
  const unsigned from_bits = dtype_bits(v.dt), to_bits = dtype_bits(to);
  const std::string type = llvm_reg(to, v.lanes);
  if (from_bits == to_bits) return {v.text, to, v.lanes};  // same bits, new signedness
  if (from_bits > to_bits) return {def("trunc " + v.typed() + " to " + type), to, v.lanes};
  const char* ext = is_signed_int(v.dt) ? "sext " : "zext ";
  return {def(ext + v.typed() + " to " + type), to, v.lanes};
}

Val Emitter::cast(const Val& v, kiln_dtype to) {
  const kiln_dtype from = v.dt;
  const unsigned n = v.lanes;
  if (from == to) return v;
  const std::string i1 = llvm_vec("i1", n);

  if (to == KILN_DTYPE_BOOL) {  // != 0; a NaN is nonzero
    if (is_float(from)) {
      Val w = widen(v);
      return {def("fcmp une " + w.typed() + ", " + splat_float(w.dt, 0.0, n).text), to, n};
    }
    return {def("icmp ne " + v.typed() + ", " + splat_int(from, 0, n).text), to, n};
  }
  if (from == KILN_DTYPE_BOOL) {  // 0 or 1
    if (is_int(to)) return {def("zext " + v.typed() + " to " + llvm_reg(to, n)), to, n};
    const kiln_dtype via = to == KILN_DTYPE_F64 ? KILN_DTYPE_F64 : KILN_DTYPE_F32;
    Val f{def("uitofp " + v.typed() + " to " + llvm_reg(via, n)), via, n};
    return narrow(f, to);
  }
  if (is_int(from) && is_int(to)) return int_cast(v, to);

  if (is_int(from)) {  // int -> float
    const char* op = is_signed_int(from) ? "sitofp " : "uitofp ";
    if (to == KILN_DTYPE_F32 || to == KILN_DTYPE_F64 || to == KILN_DTYPE_F16) {
      // int -> f16 via f32 rounds once: ints beyond 2^24 are beyond f16's range anyway.
      const kiln_dtype via = to == KILN_DTYPE_F64 ? KILN_DTYPE_F64 : KILN_DTYPE_F32;
      return narrow(Val{def(op + v.typed() + " to " + llvm_reg(via, n)), via, n}, to);
    }
    // bf16: exact in f64 (for up to 53 bits), then one correct rounding via round-to-odd.
    Val d{def(op + v.typed() + " to " + llvm_reg(KILN_DTYPE_F64, n)), KILN_DTYPE_F64, n};
    return narrow(round_to_odd_f32(d), to);
  }

  if (is_int(to)) {  // float -> int: truncate toward zero, saturating; NaN -> 0
    Val w = widen(v);
    const char* name = is_signed_int(to) ? "fptosi.sat" : "fptoui.sat";
    const std::string rt = llvm_reg(to, n);
    const std::string fn = std::string("@llvm.") + name + "." +
                           llvm_mangle(llvm_reg_scalar(to), n) + "." +
                           llvm_mangle(llvm_reg_scalar(w.dt), n);
    declare("declare " + rt + " " + fn + "(" + w.type() + ")");
    return {def("call " + rt + " " + fn + "(" + w.typed() + ")"), to, n};
  }

  // float -> float
  if (to == KILN_DTYPE_F64) {
    Val w = widen(v);
    return {def("fpext " + w.typed() + " to " + llvm_reg(KILN_DTYPE_F64, n)), to, n};
  }
  if (from == KILN_DTYPE_F64) {
    if (to == KILN_DTYPE_F32) return {def("fptrunc " + v.typed() + " to " + llvm_reg(to, n)), to, n};
    return narrow(round_to_odd_f32(v), to);
  }
  return narrow(widen(v), to);  // among f16, bf16, f32: exact widening, one rounding
}

Val Emitter::bitcast(const Val& v, kiln_dtype to) {
  const std::string type = llvm_reg(to, v.lanes);
  if (type == v.type()) return {v.text, to, v.lanes};
  return {def("bitcast " + v.typed() + " to " + type), to, v.lanes};
}

}  // namespace kiln::cpu
