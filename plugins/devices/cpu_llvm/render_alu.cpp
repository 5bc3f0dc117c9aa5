// ALU ops of kernel IR as LLVM instructions. Semantics follow kernel_ir.h; where C leaves a
// case undefined the device defines it so a kernel can never trap: integer division by zero
// yields 0, INT_MIN / -1 wraps, shift counts are taken modulo the bit width.
#include "errors.h"
#include "render_emitter.h"

namespace kiln::cpu {
namespace {

const char* float_math_intrinsic(unsigned op) {
  switch (op) {
    case KILN_IR_EXP2: return "exp2";
    case KILN_IR_LOG2: return "log2";
    case KILN_IR_SIN: return "sin";
    case KILN_IR_SQRT: return "sqrt";
    case KILN_IR_TRUNC: return "trunc";
    default: return nullptr;
  }
}

}  // namespace

Val Emitter::alu(const kiln_ir_inst& in, uint32_t index) {
  const auto t = static_cast<kiln_dtype>(in.dtype);
  const unsigned lanes = lanes_of(in);
  const std::string type = llvm_reg(t, lanes);
  // Float adds and multiplies may contract into FMA; a reduction step may also reassociate.
  const std::string fmf = reduce_update_[index] ? "reassoc contract " : "contract ";
  auto result = [&](const std::string& text) { return Val{text, t, lanes}; };

  switch (in.op) {
    case KILN_IR_NEG: {
      Val a = operand(in.src[0], lanes);
      if (!is_float(t)) return result(def("sub " + type + " " + splat_int(t, 0, lanes).text + ", " + a.text));
      Val w = widen(a);
      return narrow(Val{def("fneg " + w.typed()), w.dt, lanes}, t);
    }
    case KILN_IR_NOT: {
      Val a = operand(in.src[0], lanes);
      return result(def("xor " + a.typed() + ", " + splat_int(t, -1, lanes).text));
    }
    case KILN_IR_EXP2: case KILN_IR_LOG2: case KILN_IR_SIN: case KILN_IR_SQRT:
    case KILN_IR_TRUNC: {
      Val w = widen(operand(in.src[0], lanes));
      return narrow(intrinsic(float_math_intrinsic(in.op), {w}, w), t);
    }
    case KILN_IR_RECIP: {
      Val w = widen(operand(in.src[0], lanes));
      Val one = splat_float(w.dt, 1.0, lanes);
      return narrow(Val{def("fdiv " + w.type() + " " + one.text + ", " + w.text), w.dt, lanes}, t);
    }
    case KILN_IR_ADD: case KILN_IR_SUB: case KILN_IR_MUL: case KILN_IR_FDIV: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      static const char* const int_ops[] = {"add", "sub", "mul"};
      static const char* const float_ops[] = {"fadd", "fsub", "fmul", "fdiv"};
      const unsigned k = in.op - KILN_IR_ADD;
      if (!is_float(t)) {
        // Index math the code generator proved cannot overflow: nsw lets LLVM fold the
        // sign extension into addressing and strength-reduce loop indices.
        const bool nsw = (in.flags & KILN_IR_FLAG_NOWRAP) && is_signed_int(t);
        return result(def(std::string(int_ops[k]) + (nsw ? " nsw " : " ") + a.typed() + ", " + b.text));
      }
      Val wa = widen(a), wb = widen(b);
      std::string flags = in.op == KILN_IR_FDIV ? "" : fmf;
      return narrow(Val{def(std::string(float_ops[k]) + " " + flags + wa.typed() + ", " + wb.text),
                        wa.dt, lanes}, t);
    }
    case KILN_IR_IDIV: case KILN_IR_MOD: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      const std::string zero = splat_int(t, 0, lanes).text;
      const std::string one = splat_int(t, 1, lanes).text;
      const std::string cond = llvm_vec("i1", lanes);
      const bool div = in.op == KILN_IR_IDIV;
      std::string is_zero = def("icmp eq " + b.typed() + ", " + zero);
      if (!is_signed_int(t)) {
        std::string safe = def("select " + cond + " " + is_zero + ", " + type + " " + one + ", " + b.typed());
        std::string q = def(std::string(div ? "udiv " : "urem ") + a.typed() + ", " + safe);
        return result(def("select " + cond + " " + is_zero + ", " + type + " " + zero + ", " + type + " " + q));
      }
      // -1 is special-cased too: INT_MIN / -1 would trap on x86.
      std::string is_m1 = def("icmp eq " + b.typed() + ", " + splat_int(t, -1, lanes).text);
      std::string bad = def("or " + cond + " " + is_zero + ", " + is_m1);
      std::string safe = def("select " + cond + " " + bad + ", " + type + " " + one + ", " + b.typed());
      std::string q = def(std::string(div ? "sdiv " : "srem ") + a.typed() + ", " + safe);
      std::string r = q;
      if (div) {
        std::string neg = def("sub " + type + " " + zero + ", " + a.text);
        r = def("select " + cond + " " + is_m1 + ", " + type + " " + neg + ", " + type + " " + q);
      } else {
        r = def("select " + cond + " " + is_m1 + ", " + type + " " + zero + ", " + type + " " + q);
      }
      return result(def("select " + cond + " " + is_zero + ", " + type + " " + zero + ", " + type + " " + r));
    }
    case KILN_IR_MAX: case KILN_IR_MIN: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      // MAX: a < b ? b : a.  MIN: b < a ? b : a.
      const Val& lhs = in.op == KILN_IR_MAX ? a : b;
      const Val& rhs = in.op == KILN_IR_MAX ? b : a;
      std::string c;
      if (is_float(t)) {
        Val wl = widen(lhs), wr = widen(rhs);
        c = def("fcmp olt " + wl.typed() + ", " + wr.text);
      } else {
        c = def(std::string("icmp ") + (is_signed_int(t) ? "slt " : "ult ") + lhs.typed() + ", " + rhs.text);
      }
      return result(def("select " + llvm_vec("i1", lanes) + " " + c + ", " + b.typed() + ", " + a.typed()));
    }
    case KILN_IR_CMPLT: case KILN_IR_CMPNE: case KILN_IR_CMPEQ: {
      const auto st = static_cast<kiln_dtype>(k_.insts[in.src[0]].dtype);
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      if (is_float(st)) {
        Val wa = widen(a), wb = widen(b);
        // NaN: not less than anything, unequal to everything (C semantics).
        const char* pred = in.op == KILN_IR_CMPLT ? "olt " : in.op == KILN_IR_CMPNE ? "une " : "oeq ";
        return result(def(std::string("fcmp ") + pred + wa.typed() + ", " + wb.text));
      }
      const char* pred = in.op == KILN_IR_CMPLT ? (is_signed_int(st) ? "slt " : "ult ")
                         : in.op == KILN_IR_CMPNE ? "ne "
                                                  : "eq ";
      return result(def(std::string("icmp ") + pred + a.typed() + ", " + b.text));
    }
    case KILN_IR_AND: case KILN_IR_OR: case KILN_IR_XOR: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      const char* op = in.op == KILN_IR_AND ? "and " : in.op == KILN_IR_OR ? "or " : "xor ";
      return result(def(op + a.typed() + ", " + b.text));
    }
    case KILN_IR_SHL: case KILN_IR_SHR: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      std::string count = def("and " + b.typed() + ", " + splat_int(t, dtype_bits(t) - 1, lanes).text);
      const char* op = in.op == KILN_IR_SHL ? "shl " : is_signed_int(t) ? "ashr " : "lshr ";
      return result(def(op + a.typed() + ", " + count));
    }
    case KILN_IR_POW: {
      Val wa = widen(operand(in.src[0], lanes));
      Val wb = widen(operand(in.src[1], lanes));
      return narrow(intrinsic("pow", {wa, wb}, wa), t);
    }
    case KILN_IR_WHERE: {
      Val c = operand(in.src[0], lanes_of(k_.insts[in.src[0]]));
      Val a = operand(in.src[1], lanes);
      Val b = operand(in.src[2], lanes);
      return result(def("select " + c.typed() + ", " + a.typed() + ", " + b.typed()));
    }
    case KILN_IR_MULADD: {
      Val a = operand(in.src[0], lanes);
      Val b = operand(in.src[1], lanes);
      Val c = operand(in.src[2], lanes);
      if (!is_float(t)) {
        std::string m = def("mul " + a.typed() + ", " + b.text);
        return result(def("add " + type + " " + m + ", " + c.text));
      }
      Val wa = widen(a), wb = widen(b), wc = widen(c);
      const std::string fn = "@llvm.fmuladd." + llvm_mangle(llvm_reg_scalar(wa.dt), lanes);
      const std::string wt = wa.type();
      declare("declare " + wt + " " + fn + "(" + wt + ", " + wt + ", " + wt + ")");
      std::string r = def("call " + fmf + wt + " " + fn + "(" + wa.typed() + ", " + wb.typed() +
                          ", " + wc.typed() + ")");
      return narrow(Val{r, wa.dt, lanes}, t);
    }
    case KILN_IR_DOT4:
      return dot4(in);
    case KILN_IR_CAST:
      return cast(operand(in.src[0], lanes), t);
    case KILN_IR_BITCAST:
      return bitcast(operand(in.src[0], lanes), t);
    default:
      fail(KILN_ERR_INTERNAL, "cpu_llvm: renderer has no rule for op " + std::to_string(in.op));
  }
}

}  // namespace kiln::cpu
