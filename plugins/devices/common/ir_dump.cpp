#include "common/ir_dump.h"

#include <cstdio>

#include "common/dtype_facts.h"
#include "common/text_cat.h"

namespace kiln::device_common {

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
  const char* name = kiln_ir_op_name(in.op);
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
