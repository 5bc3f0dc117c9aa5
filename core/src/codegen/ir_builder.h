// Builds a kernel IR instruction list with common-subexpression elimination and integer
// constant folding, scoped by loop nesting so a value made inside a loop is never reused
// after it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "kiln/dtypes.h"
#include "kiln/kernel_ir.h"

namespace kiln::detail {

using Val = int32_t;  // index of an instruction; -1 = none

class IrBuilder {
 public:
  Val param(int slot, DType elem, uint32_t flags);
  Val var(int slot, int64_t min_value, int64_t max_value);
  // Launch index `which`; `count` (> 0) bounds it to [0, count) for index simplification.
  Val special(int which, int64_t count = 0);
  Val const_int(int64_t v, DType t);
  Val const_float(double v, DType t);
  Val const_of(double v, DType t);  // int or float by dtype
  Val const_bool(bool b) { return const_int(b ? 1 : 0, DType::Bool); }
  Val alu(kiln_ir_op op, DType t, Val a, Val b = -1, Val c = -1);
  Val cast(Val v, DType to);
  Val bitcast(Val v, DType to);
  // vcount > 1: consecutive elements from index (a scalar gate covers all lanes)
  Val load(Val buf, Val index, DType t, Val gate = -1, Val alt = -1, int vcount = 1);
  Val vectorize(const std::vector<Val>& lanes);
  Val broadcast(Val v, int lanes);  // a scalar repeated (vectors pass through)
  Val gep(Val v, int lane);         // lane of a vector (scalars pass through)
  Val shfl_xor(Val v, int mask);    // v of warp lane (lane ^ mask); never merged with another
  Val mma(Val a, Val b, Val c);      // KILN_IR_MMA: 8 half lanes, 4 half lanes, 4 f32 lanes
  Val local(DType t, int64_t count);  // a workgroup-shared array (each call a new one)
  void barrier();                     // workgroup barrier (local-memory fence)
  void warp_barrier();                // KILN_IR_WARP_BARRIER: the lanes of one warp (GPUs)
  // KILN_IR_COPY_ASYNC of `lanes` elements from buffer `param` to LOCAL `local`; both indexes
  // must be provably multiples of lanes (multiple_of)
  void copy_async(Val local, Val local_index, Val param, Val param_index, int lanes);
  void copy_commit();           // KILN_IR_COPY_COMMIT
  void copy_wait(int pending);  // KILN_IR_COPY_WAIT: at most `pending` groups still in flight
  int vcount_of(Val v) const { return insts_.at(v).vcount; }
  // acc + v, as one fused multiply-add when v is a float product (reduction bodies)
  Val accumulate_add(Val acc, Val v, DType t);
  void store(Val buf, Val index, Val value, Val gate = -1);
  void add_flags(Val v, uint32_t flags) { insts_.at(v).flags |= flags; }
  Val acc(Val init);
  void assign(Val acc, Val value);
  Val range(Val start, Val end, uint32_t flags = 0);
  void end_range(Val r);
  Val if_(Val cond);
  void end_if(Val i);

  DType dtype_of(Val v) const { return static_cast<DType>(insts_.at(v).dtype); }
  bool is_const(Val v) const { return v >= 0 && insts_[v].op == KILN_IR_CONST; }
  int64_t const_value_int(Val v) const { return insts_[v].imm.i; }
  const std::vector<kiln_ir_inst>& insts() const { return insts_; }
  const std::vector<int32_t>& operands() const { return operands_; }
  // Integer helpers with folding.
  // Index arithmetic (add/mul below): flagged KILN_IR_FLAG_NOWRAP, the lowerer picks an index
  // type wide enough that it cannot overflow.
  Val index_alu(kiln_ir_op op, Val a, Val b);
  Val add(Val a, Val b);
  Val mul(Val a, Val b);
  Val mul_const(Val a, int64_t c);
  Val add_const(Val a, int64_t c);
  Val idiv_const(Val a, int64_t c);
  Val mod_const(Val a, int64_t c);
  Val and_(Val a, Val b);  // bool, -1 = true
  Val lt(Val a, Val b);     // folded when the value ranges decide it

  // True when the integer value is provably a multiple of n (its linear form's coefficients
  // and constant all are).
  bool multiple_of(Val index, int64_t n) const;
  // v (an integer) is provably a multiple of n: its linear form's coefficients and constant
  // are, or it is a remainder a % c of such an a >= 0 by a multiple c of n. lanes_stay uses
  // it; ALIGNED flags keep the linear-only multiple_of, as measured on the GPU.
  bool known_multiple(Val v, int64_t n) const;
  // True when index = stride * lanes * q + r with 0 <= r < stride, provably: `lanes`
  // consecutive steps of `stride` from it stay on one row-major axis of that stride.
  bool lanes_stay(Val index, int64_t stride, int64_t lanes) const;

  // Inclusive bounds an integer value is known to lie in (index simplification).
  struct Range {
    int64_t lo, hi;
  };
  Range range_of(Val v) const { return ranges_.at(v); }

 private:
  // An index value as sum(coef * atom) + constant, atoms being values that are not
  // NOWRAP adds or multiplications by constants.
  struct Linear {
    std::vector<std::pair<Val, int64_t>> terms;
    int64_t constant = 0;
  };
  Linear linear_of(Val v) const;
  Range range_of(const Linear& l) const;
  Val build(const Linear& l, DType t);
  Range compute_range(const kiln_ir_inst& inst) const;
  std::vector<Range> ranges_;
  Val emit(kiln_ir_inst inst, bool pure);
  using Key = std::tuple<uint16_t, uint8_t, uint8_t, uint32_t, int32_t, int32_t, int32_t, int32_t,
                         int64_t, int64_t, int64_t>;
  std::vector<kiln_ir_inst> insts_;
  std::vector<int32_t> operands_;
  std::vector<std::map<Key, Val>> scopes_{1};
  std::vector<std::map<std::pair<Val, int>, Val>> broadcasts_{1};  // scoped like scopes_
  void push_scope();
  void pop_scope();
};

}  // namespace kiln::detail
