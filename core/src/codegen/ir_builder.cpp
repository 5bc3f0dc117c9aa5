#include "codegen/ir_builder.h"

#include <algorithm>
#include <cstring>

#include "kiln/error.h"

namespace kiln::detail {

namespace {
kiln_ir_inst make(kiln_ir_op op, DType t, Val a = -1, Val b = -1, Val c = -1, Val d = -1) {
  kiln_ir_inst i{};
  i.op = static_cast<uint16_t>(op);
  i.dtype = static_cast<uint8_t>(t);
  i.vcount = 1;
  i.src[0] = a;
  i.src[1] = b;
  i.src[2] = c;
  i.src[3] = d;
  return i;
}

int64_t wrap(int64_t v, DType t) {
  switch (t) {
    case DType::I32: return static_cast<int32_t>(v);
    case DType::U32: return static_cast<uint32_t>(v);
    default: return v;
  }
}
}  // namespace

Val IrBuilder::emit(kiln_ir_inst inst, bool pure) {
  if (pure) {
    int64_t immbits;
    std::memcpy(&immbits, &inst.imm, 8);
    Key k{inst.op, inst.dtype, inst.vcount, inst.flags, inst.src[0], inst.src[1],
          inst.src[2], inst.src[3], inst.arg, inst.arg2, immbits};
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(k);
      if (f != it->end()) return f->second;
    }
    Val v = static_cast<Val>(insts_.size());
    ranges_.push_back(compute_range(inst));
    insts_.push_back(inst);
    // Definitions and constants live at kernel scope so later loops can reuse them.
    bool global_scope = inst.op == KILN_IR_CONST || inst.op == KILN_IR_PARAM ||
                        inst.op == KILN_IR_VAR || inst.op == KILN_IR_SPECIAL;
    (global_scope ? scopes_.front() : scopes_.back())[k] = v;
    return v;
  }
  Val v = static_cast<Val>(insts_.size());
  ranges_.push_back(compute_range(inst));
  insts_.push_back(inst);
  return v;
}

Val IrBuilder::param(int slot, DType elem, uint32_t flags) {
  auto i = make(KILN_IR_PARAM, elem);
  i.arg = slot;
  i.flags = flags;
  return emit(i, true);
}

Val IrBuilder::var(int slot, int64_t min_value, int64_t max_value) {
  auto i = make(KILN_IR_VAR, DType::I32);
  i.arg = slot;
  i.imm.i = min_value;
  i.arg2 = max_value;
  return emit(i, true);
}

Val IrBuilder::special(int which, int64_t count) {
  auto i = make(KILN_IR_SPECIAL, DType::I32);
  i.arg = which;
  Val v = emit(i, true);
  if (count > 0) ranges_[v] = Range{0, count - 1};
  return v;
}

Val IrBuilder::const_int(int64_t v, DType t) {
  auto i = make(KILN_IR_CONST, t);
  if (t == DType::Bool) v = v != 0;
  i.imm.i = v;
  return emit(i, true);
}

Val IrBuilder::const_float(double v, DType t) {
  auto i = make(KILN_IR_CONST, t);
  i.imm.f = v;
  return emit(i, true);
}

Val IrBuilder::const_of(double v, DType t) {
  return is_float(t) ? const_float(v, t) : const_int(static_cast<int64_t>(v), t);
}

Val IrBuilder::alu(kiln_ir_op op, DType t, Val a, Val b, Val c) {
  int lanes = 1;
  for (Val v : {a, b, c})
    if (v >= 0) lanes = std::max(lanes, vcount_of(v));
  if (lanes > 1) {
    a = broadcast(a, lanes);
    if (b >= 0) b = broadcast(b, lanes);
    if (c >= 0) c = broadcast(c, lanes);
  }
  auto i = make(op, t, a, b, c);
  i.vcount = static_cast<uint8_t>(lanes);
  return emit(i, true);
}

Val IrBuilder::index_alu(kiln_ir_op op, Val a, Val b) {
  auto i = make(op, dtype_of(a), a, b);
  i.vcount = static_cast<uint8_t>(std::max(vcount_of(a), vcount_of(b)));
  i.flags = KILN_IR_FLAG_NOWRAP;
  if (i.vcount > 1) return alu(op, dtype_of(a), a, b);  // lane vectors keep plain semantics
  return emit(i, true);
}

Val IrBuilder::accumulate_add(Val acc, Val v, DType t) {
  const kiln_ir_inst& i = insts_[v];
  if (is_float(t) && i.op == KILN_IR_MUL && i.dtype == static_cast<uint8_t>(t))
    return alu(KILN_IR_MULADD, t, i.src[0], i.src[1], acc);
  return alu(KILN_IR_ADD, t, acc, v);
}

Val IrBuilder::vectorize(const std::vector<Val>& lanes) {
  if (lanes.size() == 1) return lanes[0];
  bool same = true;
  for (Val v : lanes) same &= v == lanes[0];
  auto i = make(KILN_IR_VECTORIZE, dtype_of(lanes[0]));
  i.vcount = static_cast<uint8_t>(lanes.size());
  // identical operand lists share one pool entry range
  i.src[0] = static_cast<int32_t>(operands_.size());
  for (Val v : lanes) operands_.push_back(v);
  (void)same;
  return emit(i, false);
}

Val IrBuilder::broadcast(Val v, int lanes) {
  if (v < 0 || lanes == 1 || vcount_of(v) == lanes) return v;
  auto key = std::make_pair(v, lanes);
  for (auto it = broadcasts_.rbegin(); it != broadcasts_.rend(); ++it) {
    auto f = it->find(key);
    if (f != it->end()) return f->second;
  }
  Val r = vectorize(std::vector<Val>(static_cast<size_t>(lanes), v));
  broadcasts_.back()[key] = r;
  return r;
}

Val IrBuilder::gep(Val v, int lane) {
  if (vcount_of(v) == 1) return v;
  if (insts_[v].op == KILN_IR_VECTORIZE) return operands_[insts_[v].src[0] + lane];
  auto i = make(KILN_IR_GEP, dtype_of(v), v);
  i.arg = lane;
  return emit(i, true);
}

Val IrBuilder::shfl_xor(Val v, int mask) {
  auto i = make(KILN_IR_SHFL_XOR, dtype_of(v), v);
  i.vcount = static_cast<uint8_t>(vcount_of(v));
  i.arg = mask;
  return emit(i, false);  // reads an accumulator's current value: no CSE
}

Val IrBuilder::mma(Val a, Val b, Val c) {
  auto i = make(KILN_IR_MMA, DType::F32, a, b, c);
  i.vcount = 4;
  return emit(i, false);  // reads an accumulator's current value: no CSE
}

Val IrBuilder::local(DType t, int64_t count) {
  auto i = make(KILN_IR_LOCAL, t);
  i.arg = count;
  return emit(i, false);
}

void IrBuilder::barrier() { emit(make(KILN_IR_BARRIER, DType(KILN_DTYPE_VOID)), false); }
void IrBuilder::warp_barrier() { emit(make(KILN_IR_WARP_BARRIER, DType(KILN_DTYPE_VOID)), false); }

void IrBuilder::copy_async(Val local, Val local_index, Val param, Val param_index, int lanes) {
  if (!multiple_of(local_index, lanes) || !multiple_of(param_index, lanes))
    throw Error("internal: COPY_ASYNC index not a provable multiple of its lanes");
  auto i = make(KILN_IR_COPY_ASYNC, dtype_of(local), local, local_index, param, param_index);
  i.vcount = static_cast<uint8_t>(lanes);
  i.flags |= KILN_IR_FLAG_ALIGNED;
  emit(i, false);
}

void IrBuilder::copy_commit() {
  emit(make(KILN_IR_COPY_COMMIT, DType(KILN_DTYPE_VOID)), false);
}

void IrBuilder::copy_wait(int pending) {
  auto i = make(KILN_IR_COPY_WAIT, DType(KILN_DTYPE_VOID));
  i.arg = pending;
  emit(i, false);
}

Val IrBuilder::cast(Val v, DType to) {
  if (dtype_of(v) == to) return v;
  // a half widened to f32 and narrowed back is the half itself (the widening is exact)
  if (insts_[v].op == KILN_IR_CAST && dtype_of(v) == DType::F32 && is_half(to) && dtype_of(insts_[v].src[0]) == to)
    return insts_[v].src[0];
  if (is_const(v) && !is_float(to) && !is_float(dtype_of(v))) {
    return const_int(wrap(const_value_int(v), to), to);
  }
  auto i = make(KILN_IR_CAST, to, v);
  i.vcount = insts_[v].vcount;
  return emit(i, true);
}

Val IrBuilder::bitcast(Val v, DType to) {
  if (dtype_of(v) == to) return v;
  auto i = make(KILN_IR_BITCAST, to, v);
  i.vcount = insts_[v].vcount;
  return emit(i, true);
}

Val IrBuilder::load(Val buf, Val index, DType t, Val gate, Val alt, int vcount) {
  // Loads are pure within a scope (buffers a kernel writes are never read back by it at
  // another index), so identical loads are shared.
  if (gate >= 0 && alt < 0) alt = is_float(t) ? const_float(0, t) : const_int(0, t);
  if (gate >= 0 && vcount > 1) alt = broadcast(alt, vcount);
  auto i = make(KILN_IR_LOAD, t, buf, index, gate, gate >= 0 ? alt : -1);
  i.vcount = static_cast<uint8_t>(vcount);
  if (multiple_of(index, vcount)) i.flags |= KILN_IR_FLAG_ALIGNED;
  return emit(i, true);
}

void IrBuilder::store(Val buf, Val index, Val value, Val gate) {
  auto i = make(KILN_IR_STORE, DType(KILN_DTYPE_VOID), buf, index, value, gate);
  i.vcount = insts_[value].vcount;
  if (multiple_of(index, i.vcount)) i.flags |= KILN_IR_FLAG_ALIGNED;
  emit(i, false);
}

// True when the integer index is provably a multiple of n (every coefficient of its linear
// form and its constant are): a vector access there is naturally aligned, since buffers and
// LOCAL arrays are at least 16-byte aligned and the vector is at most 16 lanes of its type.
bool IrBuilder::multiple_of(Val index, int64_t n) const {
  if (n <= 1) return false;
  Linear l = linear_of(index);
  if (l.constant % n != 0) return false;
  for (auto [atom, coef] : l.terms)
    if (coef % n != 0) return false;
  return true;
}

Val IrBuilder::acc(Val init) {
  auto i = make(KILN_IR_ACC, dtype_of(init), init);
  i.vcount = insts_[init].vcount;
  return emit(i, false);
}

void IrBuilder::assign(Val acc, Val value) {
  emit(make(KILN_IR_ASSIGN, DType(KILN_DTYPE_VOID), acc, value), false);
}

void IrBuilder::push_scope() {
  scopes_.emplace_back();
  broadcasts_.emplace_back();
}

void IrBuilder::pop_scope() {
  scopes_.pop_back();
  broadcasts_.pop_back();
}

Val IrBuilder::range(Val start, Val end, uint32_t flags) {
  auto i = make(KILN_IR_RANGE, dtype_of(end), start, end);
  i.flags = flags;
  Val v = emit(i, false);
  push_scope();
  return v;
}

void IrBuilder::end_range(Val r) {
  pop_scope();
  emit(make(KILN_IR_ENDRANGE, DType(KILN_DTYPE_VOID), r), false);
}

Val IrBuilder::if_(Val cond) {
  Val v = emit(make(KILN_IR_IF, DType(KILN_DTYPE_VOID), cond), false);
  push_scope();
  return v;
}

void IrBuilder::end_if(Val i) {
  pop_scope();
  emit(make(KILN_IR_ENDIF, DType(KILN_DTYPE_VOID), i), false);
}

Val IrBuilder::add(Val a, Val b) {
  DType t = dtype_of(a);
  if (is_const(b) && const_value_int(b) == 0) return a;
  if (is_const(a) && const_value_int(a) == 0) return b;
  if (is_const(a) && is_const(b)) return const_int(wrap(const_value_int(a) + const_value_int(b), t), t);
  return index_alu(KILN_IR_ADD, a, b);
}

Val IrBuilder::mul(Val a, Val b) {
  if (is_const(b)) return mul_const(a, const_value_int(b));
  if (is_const(a)) return mul_const(b, const_value_int(a));
  return index_alu(KILN_IR_MUL, a, b);
}

Val IrBuilder::mul_const(Val a, int64_t c) {
  DType t = dtype_of(a);
  if (c == 0) return const_int(0, t);
  if (c == 1) return a;
  if (is_const(a)) return const_int(wrap(const_value_int(a) * c, t), t);
  return index_alu(KILN_IR_MUL, a, const_int(c, t));
}

Val IrBuilder::add_const(Val a, int64_t c) { return add(a, const_int(c, dtype_of(a))); }

Val IrBuilder::and_(Val a, Val b) {
  if (a < 0) return b;
  if (b < 0) return a;
  if (is_const(a)) return const_value_int(a) ? b : a;
  if (is_const(b)) return const_value_int(b) ? a : b;
  if (a == b) return a;
  return alu(KILN_IR_AND, DType::Bool, a, b);
}


}  // namespace kiln::detail
