#include <sstream>

#include "codegen/lowerer.h"
#include "kiln/dtypes.h"

namespace kiln::detail {

namespace {
const char* ir_op_name(uint16_t op) {
  switch (op) {
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
    default: return "?";
  }
}
}  // namespace

std::string format_ir(const kiln_kernel& k) {
  std::ostringstream os;
  os << "kernel " << k.name << " params=" << k.n_params << " vars=" << k.n_vars << " global=("
     << k.global_size[0] << "," << k.global_size[1] << "," << k.global_size[2] << ") local=("
     << k.local_size[0] << "," << k.local_size[1] << "," << k.local_size[2] << ")\n";
  int depth = 1;
  for (uint32_t i = 0; i < k.n_insts; ++i) {
    const auto& in = k.insts[i];
    if (in.op == KILN_IR_ENDRANGE || in.op == KILN_IR_ENDIF) --depth;
    os << "  %" << i << std::string(static_cast<size_t>(depth) * 2, ' ') << ir_op_name(in.op);
    if (in.dtype) os << ":" << dtype_name(static_cast<DType>(in.dtype));
    if (in.vcount > 1) os << "x" << int(in.vcount);
    for (int s = 0; s < KILN_IR_MAX_SRC; ++s)
      if (in.src[s] >= 0) os << " %" << in.src[s];
    if (in.op == KILN_IR_CONST) {
      if (is_float(static_cast<DType>(in.dtype))) os << " " << in.imm.f;
      else os << " " << in.imm.i;
    }
    if (in.op == KILN_IR_PARAM || in.op == KILN_IR_VAR || in.op == KILN_IR_SPECIAL ||
        in.op == KILN_IR_GEP || in.op == KILN_IR_LOCAL)
      os << " arg=" << in.arg;
    if (in.flags) os << " flags=" << in.flags;
    os << "\n";
    if (in.op == KILN_IR_RANGE || in.op == KILN_IR_IF) ++depth;
  }
  return os.str();
}

}  // namespace kiln::detail
