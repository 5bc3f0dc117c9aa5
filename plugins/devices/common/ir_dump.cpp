#include "common/ir_dump.h"

#include <cstdio>

#include "common/dtype_facts.h"
#include "common/text_cat.h"

namespace kiln::device_common {

const char* ir_op_name(unsigned op) {
  switch (op) {
    case KILN_IR_NOP: return "NOP";
    case KILN_IR_PARAM: return "PARAM";
    case KILN_IR_VAR: return "VAR";
    case KILN_IR_LOCAL: return "LOCAL";
    case KILN_IR_ACC: return "ACC";
    case KILN_IR_SPECIAL: return "SPECIAL";
    case KILN_IR_CONST: return "CONST";
    case KILN_IR_RANGE: return "RANGE";
    case KILN_IR_ENDRANGE: return "ENDRANGE";
    case KILN_IR_IF: return "IF";
    case KILN_IR_ENDIF: return "ENDIF";
    case KILN_IR_BARRIER: return "BARRIER";
    case KILN_IR_LOAD: return "LOAD";
    case KILN_IR_STORE: return "STORE";
    case KILN_IR_ASSIGN: return "ASSIGN";
    case KILN_IR_NEG: return "NEG";
    case KILN_IR_EXP2: return "EXP2";
    case KILN_IR_LOG2: return "LOG2";
    case KILN_IR_SIN: return "SIN";
    case KILN_IR_SQRT: return "SQRT";
    case KILN_IR_RECIP: return "RECIP";
    case KILN_IR_TRUNC: return "TRUNC";
    case KILN_IR_NOT: return "NOT";
    case KILN_IR_ADD: return "ADD";
    case KILN_IR_SUB: return "SUB";
    case KILN_IR_MUL: return "MUL";
    case KILN_IR_FDIV: return "FDIV";
    case KILN_IR_IDIV: return "IDIV";
    case KILN_IR_MOD: return "MOD";
    case KILN_IR_MAX: return "MAX";
    case KILN_IR_MIN: return "MIN";
    case KILN_IR_CMPLT: return "CMPLT";
    case KILN_IR_CMPNE: return "CMPNE";
    case KILN_IR_CMPEQ: return "CMPEQ";
    case KILN_IR_AND: return "AND";
    case KILN_IR_OR: return "OR";
    case KILN_IR_XOR: return "XOR";
    case KILN_IR_SHL: return "SHL";
    case KILN_IR_SHR: return "SHR";
    case KILN_IR_POW: return "POW";
    case KILN_IR_WHERE: return "WHERE";
    case KILN_IR_MULADD: return "MULADD";
    case KILN_IR_CAST: return "CAST";
    case KILN_IR_BITCAST: return "BITCAST";
    case KILN_IR_VECTORIZE: return "VECTORIZE";
    case KILN_IR_GEP: return "GEP";
    case KILN_IR_SHFL_XOR: return "SHFL_XOR";
    default: return nullptr;
  }
}

static std::string flag_names(uint32_t flags) {
  static const struct { uint32_t bit; const char* name; } table[] = {
      {KILN_IR_FLAG_WRITTEN, "WRITTEN"}, {KILN_IR_FLAG_READ, "READ"},
      {KILN_IR_FLAG_UNROLL, "UNROLL"},   {KILN_IR_FLAG_REDUCE, "REDUCE"},
      {KILN_IR_FLAG_ALIGNED, "ALIGNED"}, {KILN_IR_FLAG_INBOUNDS, "INBOUNDS"}};
  std::string out;
  for (const auto& f : table) {
    if (flags & f.bit) out += cat(out.empty() ? "" : "|", f.name);
    flags &= ~f.bit;
  }
  if (flags) out += cat(out.empty() ? "" : "|", std::to_string(flags));
  return out;
}

std::string dump_inst(const kiln_kernel& k, uint32_t index) {
  if (k.insts == nullptr || index >= k.n_insts) return cat("%", std::to_string(index), " = ?");
  const kiln_ir_inst& in = k.insts[index];
  std::string s = cat("%", std::to_string(index), " = ");
  const char* name = ir_op_name(in.op);
  s += name ? std::string(name) : cat("op", std::to_string(in.op));
  s += " ";
  s += dtype_name(in.dtype);
  if (in.vcount > 1) s += cat("x", std::to_string(in.vcount));
  for (int j = 0; j < KILN_IR_MAX_SRC; ++j) {
    if (in.src[j] >= 0) s += cat(" %", std::to_string(in.src[j]));
  }
  if (in.op == KILN_IR_VECTORIZE && k.operands != nullptr && in.src[0] >= 0) {
    s += " [";
    for (uint32_t j = 0; j < in.vcount; ++j) {
      uint64_t at = uint64_t(in.src[0]) + j;
      s += cat(j ? " %" : "%", at < k.n_operands ? std::to_string(k.operands[at]) : std::string("?"));
    }
    s += "]";
  }
  if (in.arg != 0 || in.op == KILN_IR_PARAM || in.op == KILN_IR_VAR || in.op == KILN_IR_SPECIAL)
    s += cat(" arg=", std::to_string(in.arg));
  if (in.arg2 != 0 || in.op == KILN_IR_VAR) s += cat(" arg2=", std::to_string(in.arg2));
  if (in.op == KILN_IR_CONST || in.op == KILN_IR_VAR) {
    if (is_float(static_cast<kiln_dtype>(in.dtype))) {
      char buf[40];
      std::snprintf(buf, sizeof buf, " imm=%.17g", in.imm.f);
      s += buf;
    } else {
      s += cat(" imm=", std::to_string(in.imm.i));
    }
  }
  if (in.flags) s += cat(" flags=", flag_names(in.flags));
  return s;
}

std::string dump_kernel(const kiln_kernel& k) {
  std::string s = "kernel '" + std::string(k.name ? k.name : "(null)") + "' ir_version=" +
                  std::to_string(k.ir_version) + " params=" + std::to_string(k.n_params) +
                  " vars=" + std::to_string(k.n_vars) + " insts=" + std::to_string(k.n_insts) +
                  " grid=" + std::to_string(k.global_size[0]) + "x" +
                  std::to_string(k.global_size[1]) + "x" + std::to_string(k.global_size[2]) + "\n";
  if (k.insts == nullptr) return s + "  (no instruction array)\n";
  for (uint32_t i = 0; i < k.n_insts; ++i) s += "  " + dump_inst(k, i) + "\n";
  return s;
}

}  // namespace kiln::device_common
