#include "ir_builder.h"

#include <algorithm>
#include <cstdlib>

namespace kt {

int32_t IrBuilder::add(kiln_ir_op op, kiln_dtype dt, std::vector<int32_t> srcs, int64_t arg,
                       uint8_t vcount, uint32_t flags) {
  kiln_ir_inst in{};
  in.op = uint16_t(op);
  in.dtype = uint8_t(dt);
  in.vcount = vcount;
  in.flags = flags;
  for (int j = 0; j < KILN_IR_MAX_SRC; ++j) in.src[j] = j < int(srcs.size()) ? srcs[j] : -1;
  in.arg = arg;
  insts_.push_back(in);
  return int32_t(insts_.size() - 1);
}

int32_t IrBuilder::param(kiln_dtype dt, int64_t slot) {
  if (uint32_t(slot) >= n_params) n_params = uint32_t(slot) + 1;
  return add(KILN_IR_PARAM, dt, {}, slot);
}

int32_t IrBuilder::var(kiln_dtype dt, int64_t slot, int64_t min, int64_t max) {
  if (uint32_t(slot) >= n_vars) n_vars = uint32_t(slot) + 1;
  int32_t v = add(KILN_IR_VAR, dt, {}, slot);
  insts_[v].imm.i = min;
  insts_[v].arg2 = max;
  return v;
}

int32_t IrBuilder::ci(kiln_dtype dt, int64_t v, uint8_t lanes) {
  int32_t c = add(KILN_IR_CONST, dt, {}, 0, lanes);
  insts_[c].imm.i = v;
  return c;
}

int32_t IrBuilder::cf(kiln_dtype dt, double v, uint8_t lanes) {
  int32_t c = add(KILN_IR_CONST, dt, {}, 0, lanes);
  insts_[c].imm.f = v;
  return c;
}

int32_t IrBuilder::range(int32_t from, int32_t to, uint32_t flags) {
  return add(KILN_IR_RANGE, dtype(from), {from, to}, 0, 1, flags);
}

int32_t IrBuilder::load(int32_t buf, int32_t idx, uint8_t lanes, int32_t gate, int32_t alt,
                        uint32_t flags) {
  std::vector<int32_t> srcs = {buf, idx};
  if (gate >= 0) srcs.push_back(gate);
  if (alt >= 0) srcs.push_back(alt);
  return add(KILN_IR_LOAD, dtype(buf), srcs, 0, lanes, flags);
}

void IrBuilder::store(int32_t buf, int32_t idx, int32_t value, uint8_t lanes, int32_t gate,
                      uint32_t flags) {
  std::vector<int32_t> srcs = {buf, idx, value};
  if (gate >= 0) srcs.push_back(gate);
  add(KILN_IR_STORE, dtype(buf), srcs, 0, lanes, flags);
}

int32_t IrBuilder::acc(int32_t init) {
  return add(KILN_IR_ACC, dtype(init), {init}, 0, lanes(init));
}

int32_t IrBuilder::alu(kiln_ir_op op, int32_t a, int32_t b, int32_t c) {
  std::vector<int32_t> srcs = {a};
  if (b >= 0) srcs.push_back(b);
  if (c >= 0) srcs.push_back(c);
  // WHERE takes its type from the values, not the condition.
  int32_t like = op == KILN_IR_WHERE ? b : a;
  uint8_t n = lanes(like);
  for (int32_t s : srcs) n = std::max<uint8_t>(n, lanes(s));
  return add(op, dtype(like), srcs, 0, n);
}

int32_t IrBuilder::cmp(kiln_ir_op op, int32_t a, int32_t b) {
  return add(op, KILN_DTYPE_BOOL, {a, b}, 0, std::max(lanes(a), lanes(b)));
}

int32_t IrBuilder::cast(kiln_dtype to, int32_t v) { return add(KILN_IR_CAST, to, {v}, 0, lanes(v)); }

int32_t IrBuilder::bitcast(kiln_dtype to, int32_t v) {
  return add(KILN_IR_BITCAST, to, {v}, 0, lanes(v));
}

int32_t IrBuilder::vectorize(const std::vector<int32_t>& lanes_src) {
  int32_t first = int32_t(operands_.size());
  for (int32_t s : lanes_src) operands_.push_back(s);
  return add(KILN_IR_VECTORIZE, dtype(lanes_src[0]), {first}, 0, uint8_t(lanes_src.size()));
}

int32_t IrBuilder::gep(int32_t v, int64_t lane) { return add(KILN_IR_GEP, dtype(v), {v}, lane); }

kiln_kernel IrBuilder::kernel() const {
  kiln_kernel k{};
  k.ir_version = KILN_IR_VERSION;
  k.name = name_.c_str();
  k.insts = insts_.data();
  k.n_insts = uint32_t(insts_.size());
  k.operands = operands_.empty() ? nullptr : operands_.data();
  k.n_operands = uint32_t(operands_.size());
  k.n_params = n_params;
  k.n_vars = n_vars;
  for (int i = 0; i < 3; ++i) k.global_size[i] = k.local_size[i] = 1;
  return k;
}

}  // namespace kt
