#include <sstream>

#include "codegen/lowerer.h"
#include "kiln/dtypes.h"

namespace kiln::detail {

std::string format_ir(const kiln_kernel& k) {
  std::ostringstream os;
  os << "kernel " << k.name << " params=" << k.n_params << " vars=" << k.n_vars << " global=("
     << k.global_size[0] << "," << k.global_size[1] << "," << k.global_size[2] << ") local=("
     << k.local_size[0] << "," << k.local_size[1] << "," << k.local_size[2] << ")\n";
  int depth = 1;
  for (uint32_t i = 0; i < k.n_insts; ++i) {
    const auto& in = k.insts[i];
    if (in.op == KILN_IR_ENDRANGE || in.op == KILN_IR_ENDIF) --depth;
    const char* op = kiln_ir_op_name(in.op);
    os << "  %" << i << std::string(static_cast<size_t>(depth) * 2, ' ') << (op ? op : "?");
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
