#include "index_probe.h"

#include <optional>
#include <vector>

#include "common/dtype_facts.h"
#include "common/ir_scopes.h"
#include "kiln/kernel_ir.h"
#include "reference/ndarray.h"

namespace kiln::test {
namespace {

using Value = std::optional<int64_t>;

bool is_integer(uint8_t t) {
  return device_common::is_bool(kiln_dtype(t)) || device_common::is_int(kiln_dtype(t));
}

// v lies in the range of t (the op suite reference's; 64-bit types and floats hold any value
// the probe computes)
bool fits(int64_t v, uint8_t t) {
  if (!is_integer(t) || ref::bit_width(DType(t)) == 64) return true;
  return double(v) >= ref::int_min(DType(t)) && double(v) <= ref::int_max(DType(t));
}

class Prober {
 public:
  Prober(const detail::LoweredKernel& k, uint32_t group, uint32_t thread)
      : k_(k),
        group_(group),
        thread_(thread),
        vals_(k.insts.size()),
        match_(device_common::scope_ends(k.insts.data(), k.insts.size())) {}

  IndexProbe run() {
    for (size_t pc = 0; pc < k_.insts.size() && out_.error.empty();) pc = step(pc);
    return out_;
  }

 private:
  Value v(int32_t s) const { return s < 0 ? Value() : vals_[size_t(s)]; }

  void fail(size_t i, const std::string& why) {
    if (!out_.error.empty()) return;
    out_.error = std::to_string(i);
    out_.error.insert(0, 1, '%');
    out_.error.append(" ").append(kiln_ir_op_name(k_.insts[i].op)).append(": ").append(why);
  }

  // element count of the PARAM or LOCAL `buf`
  int64_t extent(int32_t buf) const {
    const kiln_ir_inst& b = k_.insts[size_t(buf)];
    if (b.op == KILN_IR_LOCAL) return b.arg;
    return k_.params.at(size_t(b.arg))->numel();
  }

  void access(size_t i, int32_t buf, int32_t index, unsigned lanes, int32_t gate) {
    if (gate >= 0) {
      Value g = v(gate);
      if (g && *g == 0) return;  // a false gate touches no memory
      if (!g) return;            // a gate the probe cannot compute: not checked
    }
    Value x = v(index);
    if (!x) return fail(i, "index not computable from integer math");
    const int64_t n = extent(buf);
    if (*x < 0 || *x + int64_t(lanes) > n)
      return fail(i, "index " + std::to_string(*x) + " (+" + std::to_string(lanes) +
                         " lanes) outside " + std::to_string(n) + " elements");
    ++out_.accesses;
  }

  Value alu(const kiln_ir_inst& in) const {
    Value a = v(in.src[0]), b = v(in.src[1]), c = v(in.src[2]);
    switch (in.op) {
      case KILN_IR_NEG:
        return a ? Value(-*a) : Value();
      case KILN_IR_NOT:
        return a ? Value(in.dtype == KILN_DTYPE_BOOL ? !*a : ~*a) : Value();
      case KILN_IR_WHERE:
        return a ? (*a ? b : c) : Value();
      default:
        break;
    }
    if (!a || !b) return {};
    switch (in.op) {
      case KILN_IR_ADD:
        return *a + *b;
      case KILN_IR_SUB:
        return *a - *b;
      case KILN_IR_MUL:
        return *a * *b;
      case KILN_IR_IDIV:
        return *b == 0 ? 0 : *a / *b;
      case KILN_IR_MOD:
        return *b == 0 ? 0 : *a % *b;
      case KILN_IR_MAX:
        return std::max(*a, *b);
      case KILN_IR_MIN:
        return std::min(*a, *b);
      case KILN_IR_CMPLT:
        return int64_t(*a < *b);
      case KILN_IR_CMPNE:
        return int64_t(*a != *b);
      case KILN_IR_CMPEQ:
        return int64_t(*a == *b);
      case KILN_IR_AND:
        return *a & *b;
      case KILN_IR_OR:
        return *a | *b;
      case KILN_IR_XOR:
        return *a ^ *b;
      case KILN_IR_SHL:
        return *b >= 0 && *b < 63 ? Value(*a << *b) : Value();
      case KILN_IR_SHR:
        return *b >= 0 && *b < 63 ? Value(*a >> *b) : Value();
      case KILN_IR_MULADD:
        return c ? Value(*a * *b + *c) : Value();
      default:
        return {};
    }
  }

  // executes instruction pc; returns the next one
  size_t step(size_t pc) {
    const kiln_ir_inst& in = k_.insts[pc];
    const bool scalar_int = is_integer(in.dtype) && in.vcount <= 1;
    Value r;
    switch (in.op) {
      case KILN_IR_CONST:
        r = scalar_int ? Value(in.imm.i) : Value();
        break;
      case KILN_IR_VAR:
        r = in.arg2;
        break;  // the largest value the variable may take
      case KILN_IR_SPECIAL:
        r = in.arg == 0 ? int64_t(group_) : in.arg == 3 ? int64_t(thread_) : 0;
        break;
      case KILN_IR_RANGE: {
        Value from = v(in.src[0]), to = v(in.src[1]);
        if (!from || !to) {
          fail(pc, "loop bounds not computable");
          return pc + 1;
        }
        vals_[pc] = from;
        return *from < *to ? pc + 1 : size_t(match_[pc]) + 1;
      }
      case KILN_IR_ENDRANGE: {
        const size_t head = size_t(in.src[0]);
        const int64_t next = *vals_[head] + 1;
        if (next < *v(k_.insts[head].src[1])) {
          vals_[head] = next;
          return head + 1;
        }
        return pc + 1;
      }
      case KILN_IR_IF: {
        Value c = v(in.src[0]);
        return !c || *c ? pc + 1 : size_t(match_[pc]) + 1;  // an unknown condition runs the body
      }
      case KILN_IR_ACC:
        r = scalar_int ? v(in.src[0]) : Value();
        break;
      case KILN_IR_ASSIGN:
        if (is_integer(k_.insts[size_t(in.src[0])].dtype)) vals_[size_t(in.src[0])] = v(in.src[1]);
        return pc + 1;
      case KILN_IR_CAST:
        r = scalar_int && is_integer(k_.insts[size_t(in.src[0])].dtype) ? v(in.src[0]) : Value();
        break;
      case KILN_IR_LOAD:
        access(pc, in.src[0], in.src[1], in.vcount ? in.vcount : 1, in.src[2]);
        return pc + 1;
      case KILN_IR_STORE:
        access(pc, in.src[0], in.src[1], in.vcount ? in.vcount : 1, in.src[3]);
        return pc + 1;
      case KILN_IR_COPY_ASYNC:
        access(pc, in.src[0], in.src[1], in.vcount, -1);
        access(pc, in.src[2], in.src[3], in.vcount, -1);
        return pc + 1;
      default:
        if (in.op >= KILN_IR_NEG && in.op < KILN_IR_CAST && scalar_int) r = alu(in);
        break;
    }
    if (r && !fits(*r, in.dtype)) {
      fail(pc, "value " + std::to_string(*r) + " does not fit its " + std::to_string(in.dtype) +
                   "-typed result");
      return pc + 1;
    }
    vals_[pc] = r;
    return pc + 1;
  }

  const detail::LoweredKernel& k_;
  const uint32_t group_, thread_;
  std::vector<Value> vals_;
  std::vector<int64_t> match_;  // RANGE/IF -> ENDRANGE/ENDIF
  IndexProbe out_;
};

}  // namespace

IndexProbe probe_indices(const detail::LoweredKernel& k, uint32_t group, uint32_t thread) {
  return Prober(k, group, thread).run();
}

}  // namespace kiln::test
