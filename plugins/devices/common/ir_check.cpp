#include "common/ir_check.h"

#include <algorithm>
#include <string>

#include "common/dtype_facts.h"
#include "common/errors.h"
#include "common/ir_dump.h"

namespace kiln::device_common {
namespace {

constexpr uint64_t kUnknownTripCount = 256;    // work estimate for loops with computed bounds
constexpr int64_t kVarTripCap = 4096;          // ... and for loops up to a VAR
constexpr uint64_t kWorkCap = uint64_t{1} << 50;

bool is_c_identifier(const char* s) {
  if (s == nullptr || *s == '\0') return false;
  size_t n = 0;
  for (const char* p = s; *p; ++p, ++n) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (n > 0 && c >= '0' && c <= '9');
    if (!ok || n > 200) return false;
  }
  return true;
}

bool produces_value(unsigned op) {
  switch (op) {
    case KILN_IR_NOP: case KILN_IR_ENDRANGE: case KILN_IR_IF: case KILN_IR_ENDIF:
    case KILN_IR_BARRIER:
    case KILN_IR_WARP_BARRIER:
    case KILN_IR_STORE:
    case KILN_IR_ASSIGN:
    case KILN_IR_COPY_ASYNC:
    case KILN_IR_COPY_COMMIT:
    case KILN_IR_COPY_WAIT:
      return false;
    default:
      return true;
  }
}

// Definitions are visible everywhere: the renderer hoists them into the function prologue.
bool is_definition(unsigned op) {
  return op == KILN_IR_PARAM || op == KILN_IR_VAR || op == KILN_IR_LOCAL ||
         op == KILN_IR_SPECIAL || op == KILN_IR_CONST;
}

class Checker {
 public:
  Checker(const kiln_kernel& k, const CheckTarget& target) : k_(k), target_(target) {}

  KernelSummary run() {
    check_header();
    scope_of_.assign(k_.n_insts, -1);
    open_.assign(k_.n_insts, false);
    sum_.param_flags.assign(k_.n_params, 0);
    sum_.var_min.assign(k_.n_vars, INT64_MIN);
    sum_.var_max.assign(k_.n_vars, INT64_MAX);
    param_dtype_.assign(k_.n_params, KILN_DTYPE_VOID);
    multiplier_.push_back(1);
    for (i_ = 0; i_ < k_.n_insts; ++i_) check_inst(k_.insts[i_]);
    if (!stack_.empty()) {
      i_ = uint32_t(stack_.back());
      bad("this " + std::string(kiln_ir_op_name(k_.insts[i_].op)) + " is never closed");
    }
    sum_.work_per_group = std::min(work_ + 8, kWorkCap);
    return sum_;
  }

 private:
  [[noreturn]] void bad_kernel(const std::string& why) {
    fail(KILN_ERR_COMPILE, std::string(target_.plugin) + ": kernel '" + std::string(k_.name ? k_.name : "(null)") +
                               "': " + why + "\n" + dump_kernel(k_));
  }
  [[noreturn]] void bad(const std::string& why) {
    bad_kernel("instruction " + dump_inst(k_, i_) + ": " + why);
  }

  void check_header() {
    if (k_.ir_version != KILN_IR_VERSION)
      bad_kernel("ir_version " + std::to_string(k_.ir_version) + ", this device renders " +
                 std::to_string(KILN_IR_VERSION));
    if (!is_c_identifier(k_.name)) bad_kernel("name is not a C identifier of 1..200 characters");
    if (k_.n_insts > 0 && k_.insts == nullptr) bad_kernel("n_insts > 0 but insts is NULL");
    if (k_.n_operands > 0 && k_.operands == nullptr)
      bad_kernel("n_operands > 0 but operands is NULL");
    if (k_.n_insts > (1u << 24)) bad_kernel("more than 2^24 instructions");
    if (k_.n_params > 4096 || k_.n_vars > 4096) bad_kernel("more than 4096 params or vars");
  }

  const kiln_ir_inst& at(int32_t idx) const { return k_.insts[idx]; }
  kiln_dtype dt(const kiln_ir_inst& in) const { return static_cast<kiln_dtype>(in.dtype); }

  std::string type_str(const kiln_ir_inst& in) const {
    std::string s = dtype_name(in.dtype);
    if (lanes_of(in) > 1) s += cat("x", std::to_string(lanes_of(in)));
    return s;
  }

  // Source j must be an earlier, visible, value-producing instruction.
  const kiln_ir_inst& src(const kiln_ir_inst& in, int j) {
    int32_t s = in.src[j];
    if (s < 0) bad("source " + std::to_string(j) + " is missing");
    check_ref(s, "source " + std::to_string(j));
    return at(s);
  }
  void check_ref(int32_t s, const std::string& what) {
    if (s < 0 || uint32_t(s) >= i_) bad(what + " (%" + std::to_string(s) +
                                        ") does not name an earlier instruction");
    if (!produces_value(at(s).op)) bad(what + " (%" + std::to_string(s) + ", " +
                                       kiln_ir_op_name(at(s).op) + ") has no value");
    int32_t sc = scope_of_[s];
    if (sc >= 0 && !open_[sc])
      bad(what + " (%" + std::to_string(s) + ") was defined inside the " +
          kiln_ir_op_name(at(sc).op) + " %" + std::to_string(sc) + ", which is already closed");
  }
  void no_more_sources(const kiln_ir_inst& in, int from) {
    for (int j = from; j < KILN_IR_MAX_SRC; ++j)
      if (in.src[j] != -1) bad("source " + std::to_string(j) + " must be -1 (unused)");
  }
  bool has(const kiln_ir_inst& in, int j) const { return in.src[j] != -1; }

  void need_dtype(bool ok, const std::string& what) {
    if (!ok) bad(what);
  }
  // A same-typed operand: same dtype, and lanes equal to `lanes` or 1 (broadcast).
  void same_type(const kiln_ir_inst& in, int j, kiln_dtype want, unsigned lanes) {
    const kiln_ir_inst& s = src(in, j);
    if (dt(s) != want || (lanes_of(s) != lanes && lanes_of(s) != 1))
      bad("source " + std::to_string(j) + " is " + type_str(s) + ", expected " +
          dtype_name(want) + (lanes > 1 ? cat("x", std::to_string(lanes), " (or scalar)") : ""));
  }
  void scalar_int(const kiln_ir_inst& in, int j, const char* what) {
    const kiln_ir_inst& s = src(in, j);
    if (!is_int(dt(s)) || lanes_of(s) != 1) bad(std::string(what) + " must be a scalar integer");
  }
  void gate(const kiln_ir_inst& in, int j, unsigned lanes) {
    const kiln_ir_inst& s = src(in, j);
    if (!is_bool(dt(s)) || (lanes_of(s) != 1 && lanes_of(s) != lanes))
      bad("gate must be bool (scalar or one lane per element)");
  }
  kiln_dtype buffer(const kiln_ir_inst& in) {
    const kiln_ir_inst& b = src(in, 0);
    if (b.op != KILN_IR_PARAM && b.op != KILN_IR_LOCAL) bad("source 0 must be a PARAM or LOCAL");
    return dt(b);
  }

  void add_work(uint64_t n) {
    uint64_t m = multiplier_.back();
    work_ = std::min(kWorkCap, work_ + std::min(kWorkCap, m * n));
  }

  void open_scope() {
    open_[i_] = true;
    stack_.push_back(int32_t(i_));
  }
  void close_scope(const kiln_ir_inst& in, unsigned opener) {
    int32_t s = in.src[0];
    if (stack_.empty() || s != stack_.back() || at(s).op != opener)
      bad(std::string("source 0 must be the innermost open ") + kiln_ir_op_name(opener));
    open_[s] = false;
    stack_.pop_back();
  }

  void check_inst(const kiln_ir_inst& in) {
    const unsigned op = in.op;
    const char* name = kiln_ir_op_name(op);
    if (name == nullptr) bad("unknown op " + std::to_string(op));
    if (in.vcount > KILN_IR_MAX_LANES) bad("vcount above KILN_IR_MAX_LANES");
    const unsigned lanes = lanes_of(in);
    const kiln_dtype t = dt(in);
    if (produces_value(op) && !valid_dtype(in.dtype)) bad("result dtype is not a valid dtype");
    scope_of_[i_] = is_definition(op) || stack_.empty() ? -1 : stack_.back();

    switch (op) {
      case KILN_IR_NOP:
        break;
      case KILN_IR_PARAM: {
        no_more_sources(in, 0);
        if (in.arg < 0 || uint64_t(in.arg) >= k_.n_params) bad("slot outside 0..n_params-1");
        if (lanes != 1) bad("a PARAM has one lane");
        auto& d = param_dtype_[in.arg];
        if (d != KILN_DTYPE_VOID && d != t) bad("slot already declared with another dtype");
        d = t;
        break;
      }
      case KILN_IR_VAR: {
        no_more_sources(in, 0);
        if (t != KILN_DTYPE_I32 && t != KILN_DTYPE_I64) bad("a VAR is i32 or i64");
        if (in.arg < 0 || uint64_t(in.arg) >= k_.n_vars) bad("slot outside 0..n_vars-1");
        if (lanes != 1) bad("a VAR has one lane");
        if (in.imm.i > in.arg2) bad("minimum (imm.i) above maximum (arg2)");
        if (t == KILN_DTYPE_I32 && (in.imm.i < INT32_MIN || in.arg2 > INT32_MAX))
          bad("range of an i32 VAR exceeds i32");
        sum_.var_min[in.arg] = std::max(sum_.var_min[in.arg], in.imm.i);
        sum_.var_max[in.arg] = std::min(sum_.var_max[in.arg], in.arg2);
        if (sum_.var_min[in.arg] > sum_.var_max[in.arg])
          bad("declarations of this slot have disjoint ranges");
        break;
      }
      case KILN_IR_LOCAL: {
        no_more_sources(in, 0);
        if (lanes != 1) bad("a LOCAL has one lane (arg counts elements)");
        if (in.arg < 1 || uint64_t(in.arg) > target_.max_local_bytes) bad("element count out of range");
        const uint64_t align = target_.local_align;
        sum_.local_bytes += (uint64_t(in.arg) * dtype_bytes(t) + align - 1) / align * align;
        if (sum_.local_bytes > target_.max_local_bytes)
          bad("LOCAL arrays exceed the " + std::to_string(target_.max_local_bytes) +
              " bytes of local memory a group has on this device");
        sum_.uses_threads = true;
        sum_.uses_shared = op == KILN_IR_LOCAL || op == KILN_IR_BARRIER || sum_.uses_shared;
        break;
      }
      case KILN_IR_ACC:
        same_type(in, 0, t, lanes);
        if (lanes_of(at(in.src[0])) != lanes) bad("initial value must have the ACC's lanes");
        no_more_sources(in, 1);
        break;
      case KILN_IR_SPECIAL:
        no_more_sources(in, 0);
        if (in.arg < 0 || in.arg > 5) bad("arg must be 0..5");
        if ((t != KILN_DTYPE_I32 && t != KILN_DTYPE_I64) || lanes != 1) bad("dtype must be i32");
        if (in.arg >= 3) sum_.uses_threads = true;
        if (in.arg == 1 || in.arg == 2) sum_.uses_group_yz = true;
        break;
      case KILN_IR_CONST:
        no_more_sources(in, 0);
        break;
      case KILN_IR_RANGE: {
        if (!is_int(t) || lanes != 1) bad("a RANGE is a scalar integer");
        same_type(in, 0, t, 1);
        same_type(in, 1, t, 1);
        no_more_sources(in, 2);
        const kiln_ir_inst& a = at(in.src[0]);
        const kiln_ir_inst& b = at(in.src[1]);
        uint64_t trips = kUnknownTripCount;
        if (a.op == KILN_IR_CONST && b.op == KILN_IR_CONST)
          trips = b.imm.i > a.imm.i ? uint64_t(b.imm.i) - uint64_t(a.imm.i) : 0;
        else if (b.op == KILN_IR_VAR)  // e.g. up to start_pos: count on its maximum, within reason
          trips = uint64_t(std::clamp<int64_t>(b.arg2, 1, kVarTripCap));
        add_work(1);
        multiplier_.push_back(std::min(kWorkCap, multiplier_.back() * std::max<uint64_t>(trips, 1)));
        open_scope();
        scope_of_[i_] = int32_t(i_);  // the loop variable lives inside its loop
        break;
      }
      case KILN_IR_ENDRANGE:
        close_scope(in, KILN_IR_RANGE);
        no_more_sources(in, 1);
        multiplier_.pop_back();
        break;
      case KILN_IR_IF: {
        const kiln_ir_inst& c = src(in, 0);
        if (!is_bool(dt(c)) || lanes_of(c) != 1) bad("condition must be a scalar bool");
        no_more_sources(in, 1);
        add_work(1);
        open_scope();
        break;
      }
      case KILN_IR_ENDIF:
        close_scope(in, KILN_IR_IF);
        no_more_sources(in, 1);
        break;
      case KILN_IR_BARRIER:
        no_more_sources(in, 0);
        sum_.uses_threads = true;
        sum_.uses_shared = op == KILN_IR_LOCAL || op == KILN_IR_BARRIER || sum_.uses_shared;
        break;
      case KILN_IR_LOAD: {
        kiln_dtype b = buffer(in);
        if (b != t) bad("result dtype differs from the buffer's element dtype");
        scalar_int(in, 1, "index");
        if (has(in, 2)) gate(in, 2, lanes);
        if (has(in, 3)) {
          if (!has(in, 2)) bad("an alternative value (source 3) needs a gate (source 2)");
          same_type(in, 3, t, lanes);
        }
        if (at(in.src[0]).op == KILN_IR_PARAM) sum_.param_flags[at(in.src[0]).arg] |= PARAM_READ;
        add_work(1);
        break;
      }
      case KILN_IR_STORE: {
        kiln_dtype b = buffer(in);
        scalar_int(in, 1, "index");
        const kiln_ir_inst& v = src(in, 2);
        if (dt(v) != b || lanes_of(v) != lanes)
          bad("stored value is " + type_str(v) + ", expected " + dtype_name(b) +
              (lanes > 1 ? cat("x", std::to_string(lanes)) : ""));
        if (has(in, 3)) gate(in, 3, lanes);
        if (at(in.src[0]).op == KILN_IR_PARAM)
          sum_.param_flags[at(in.src[0]).arg] |= PARAM_WRITTEN;
        add_work(1);
        break;
      }
      case KILN_IR_ASSIGN: {
        const kiln_ir_inst& a = src(in, 0);
        if (a.op != KILN_IR_ACC) bad("source 0 must be an ACC");
        const kiln_ir_inst& v = src(in, 1);
        if (dt(v) != dt(a) || (lanes_of(v) != lanes_of(a) && lanes_of(v) != 1))
          bad("value is " + type_str(v) + ", the ACC is " + type_str(a));
        no_more_sources(in, 2);
        add_work(1);
        break;
      }
      case KILN_IR_NEG: case KILN_IR_EXP2: case KILN_IR_LOG2: case KILN_IR_SIN:
      case KILN_IR_SQRT: case KILN_IR_RECIP: case KILN_IR_TRUNC: case KILN_IR_NOT: {
        bool ok = op == KILN_IR_NEG   ? (is_int(t) || is_float(t))
                  : op == KILN_IR_NOT ? (is_int(t) || is_bool(t))
                                      : is_float(t);
        need_dtype(ok, std::string(name) + " is not defined on " + dtype_name(t));
        same_type(in, 0, t, lanes);
        no_more_sources(in, 1);
        add_work(lanes);
        break;
      }
      case KILN_IR_ADD: case KILN_IR_SUB: case KILN_IR_MUL: case KILN_IR_FDIV:
      case KILN_IR_IDIV: case KILN_IR_MOD: case KILN_IR_MAX: case KILN_IR_MIN:
      case KILN_IR_AND: case KILN_IR_OR: case KILN_IR_XOR: case KILN_IR_SHL:
      case KILN_IR_SHR: case KILN_IR_POW: {
        bool ok;
        switch (op) {
          case KILN_IR_ADD: case KILN_IR_SUB: case KILN_IR_MUL: ok = is_int(t) || is_float(t); break;
          case KILN_IR_FDIV: case KILN_IR_POW: ok = is_float(t); break;
          case KILN_IR_IDIV: case KILN_IR_MOD: case KILN_IR_SHL: case KILN_IR_SHR: ok = is_int(t); break;
          case KILN_IR_AND: case KILN_IR_OR: case KILN_IR_XOR: ok = is_int(t) || is_bool(t); break;
          default: ok = true; break;  // MAX, MIN
        }
        need_dtype(ok, std::string(name) + " is not defined on " + dtype_name(t));
        same_type(in, 0, t, lanes);
        same_type(in, 1, t, lanes);
        no_more_sources(in, 2);
        add_work(lanes);
        break;
      }
      case KILN_IR_CMPLT: case KILN_IR_CMPNE: case KILN_IR_CMPEQ: {
        if (!is_bool(t)) bad("a comparison's result is bool");
        const kiln_ir_inst& a = src(in, 0);
        same_type(in, 0, dt(a), lanes);
        same_type(in, 1, dt(a), lanes);
        no_more_sources(in, 2);
        add_work(lanes);
        break;
      }
      case KILN_IR_WHERE:
        gate(in, 0, lanes);
        same_type(in, 1, t, lanes);
        same_type(in, 2, t, lanes);
        no_more_sources(in, 3);
        add_work(lanes);
        break;
      case KILN_IR_MULADD:
        need_dtype(is_int(t) || is_float(t), std::string("MULADD is not defined on ") + dtype_name(t));
        same_type(in, 0, t, lanes);
        same_type(in, 1, t, lanes);
        same_type(in, 2, t, lanes);
        no_more_sources(in, 3);
        add_work(lanes);
        break;
      case KILN_IR_DOT4:
        need_dtype(t == KILN_DTYPE_I32, std::string("DOT4 yields I32, not ") + dtype_name(t));
        same_type(in, 0, t, lanes);
        same_type(in, 1, t, lanes);
        same_type(in, 2, t, lanes);
        no_more_sources(in, 3);
        add_work(4 * lanes);
        break;
      case KILN_IR_CAST: {
        const kiln_ir_inst& s = src(in, 0);
        if (lanes_of(s) != lanes && lanes_of(s) != 1) bad("source lanes differ from the result");
        no_more_sources(in, 1);
        add_work(lanes);
        break;
      }
      case KILN_IR_BITCAST: {
        const kiln_ir_inst& s = src(in, 0);
        if (is_bool(t) || is_bool(dt(s)) || dtype_bytes(t) != dtype_bytes(dt(s)) ||
            lanes_of(s) != lanes)
          bad("BITCAST needs a non-bool source of the same width and lanes, got " + type_str(s));
        no_more_sources(in, 1);
        break;
      }
      case KILN_IR_VECTORIZE: {
        if (lanes < 2) bad("VECTORIZE builds at least 2 lanes");
        int32_t first = in.src[0];
        if (first < 0 || uint64_t(first) + lanes > k_.n_operands)
          bad("operand pool range outside 0..n_operands-1");
        for (unsigned j = 0; j < lanes; ++j) {
          int32_t s = k_.operands[first + j];
          check_ref(s, "operand " + std::to_string(j));
          if (dt(at(s)) != t || lanes_of(at(s)) != 1)
            bad("operand " + std::to_string(j) + " is " + type_str(at(s)) + ", expected scalar " +
                dtype_name(t));
        }
        no_more_sources(in, 1);
        add_work(1);
        break;
      }
      case KILN_IR_GEP: {
        const kiln_ir_inst& s = src(in, 0);
        if (dt(s) != t || lanes != 1) bad("GEP yields one lane of its source's dtype");
        if (in.arg < 0 || uint64_t(in.arg) >= lanes_of(s)) bad("lane index out of range");
        no_more_sources(in, 1);
        break;
      }
      case KILN_IR_WARP_BARRIER:
        if (!target_.has_warps)
          fail(KILN_ERR_UNSUPPORTED,
               std::string(target_.plugin) + ": kernel '" + std::string(k_.name) +
                   "': WARP_BARRIER needs warp_size > 1 and this device reports warp_size 1\n" +
                   dump_kernel(k_));
        no_more_sources(in, 0);
        sum_.uses_threads = true;
        break;
      case KILN_IR_SHFL_XOR: {
        if (!target_.has_warps)
          fail(KILN_ERR_UNSUPPORTED,
               std::string(target_.plugin) + ": kernel '" + std::string(k_.name) +
                   "': SHFL_XOR needs warp_size > 1 and this device reports warp_size 1\n" +
                   dump_kernel(k_));
        const kiln_ir_inst& s = src(in, 0);
        if (dt(s) != t || lanes_of(s) != lanes) bad("SHFL_XOR yields its source's type");
        if (in.arg < 0 || in.arg > 31) bad("lane mask (arg) must be 0..31 (warp size 32)");
        no_more_sources(in, 1);
        sum_.uses_threads = true;
        sum_.uses_shared = op == KILN_IR_LOCAL || op == KILN_IR_BARRIER || sum_.uses_shared;
        add_work(lanes);
        break;
      }
      case KILN_IR_MMA: {
        if (!target_.has_mma)
          fail(KILN_ERR_UNSUPPORTED,
               std::string(target_.plugin) + ": kernel '" + std::string(k_.name) +
                   "': MMA needs tensor cores (KILN_TENSOR_CORES_MMA_16816) this device does not report\n" +
                   dump_kernel(k_));
        const kiln_ir_inst& a = src(in, 0);
        const kiln_ir_inst& b = src(in, 1);
        const kiln_ir_inst& c = src(in, 2);
        if (!is_half_like(dt(a))) bad("MMA: A must be F16 or BF16, not " + type_str(a));
        if (lanes_of(a) != 8) bad("MMA: A has 8 lanes, not " + type_str(a));
        if (dt(b) != dt(a) || lanes_of(b) != 4) bad("MMA: B is 4 lanes of A's dtype, not " + type_str(b));
        if (dt(c) != KILN_DTYPE_F32 || lanes_of(c) != 4) bad("MMA: C is F32x4, not " + type_str(c));
        if (t != KILN_DTYPE_F32 || lanes != 4) bad("MMA yields F32x4");
        no_more_sources(in, 3);
        sum_.uses_threads = true;
        add_work(16);
        break;
      }
      case KILN_IR_COPY_ASYNC: {
        need_async_copy(name);
        const kiln_ir_inst& dst = src(in, 0);
        if (dst.op != KILN_IR_LOCAL) bad("COPY_ASYNC: source 0 must be a LOCAL");
        scalar_int(in, 1, "local index");
        const kiln_ir_inst& from = src(in, 2);
        if (from.op != KILN_IR_PARAM) bad("COPY_ASYNC: source 2 must be a PARAM");
        scalar_int(in, 3, "global index");
        if (dt(from) != dt(dst) || t != dt(dst))
          bad("COPY_ASYNC: the LOCAL, the PARAM and the dtype must agree");
        const unsigned bytes = lanes * dtype_bytes(t);
        if (bytes != 4 && bytes != 8 && bytes != 16) bad("COPY_ASYNC copies 4, 8 or 16 bytes");
        if (!(in.flags & KILN_IR_FLAG_ALIGNED)) bad("COPY_ASYNC needs flag ALIGNED");
        sum_.param_flags[from.arg] |= PARAM_READ;
        sum_.uses_threads = true;
        sum_.uses_shared = true;
        add_work(1);
        break;
      }
      case KILN_IR_COPY_COMMIT:
        need_async_copy(name);
        no_more_sources(in, 0);
        break;
      case KILN_IR_COPY_WAIT:
        need_async_copy(name);
        no_more_sources(in, 0);
        if (in.arg < 0 || in.arg > 7) bad("COPY_WAIT: pending groups (arg) must be 0..7");
        add_work(1);
        break;
      default:
        bad("unknown op");
    }
  }

  void need_async_copy(const char* op) {
    if (!target_.has_async_copy)
      fail(KILN_ERR_UNSUPPORTED,
           std::string(target_.plugin) + ": kernel '" + std::string(k_.name) + "': " + op +
               " needs asynchronous copies (async_copy) this device does not report\n" +
               dump_kernel(k_));
  }

  const kiln_kernel& k_;
  const CheckTarget& target_;
  uint32_t i_ = 0;
  KernelSummary sum_;
  std::vector<int32_t> scope_of_;  // innermost open RANGE/IF when defined; -1 = everywhere
  std::vector<bool> open_;         // per RANGE/IF instruction: still open
  std::vector<int32_t> stack_;     // open RANGE/IF instructions, innermost last
  std::vector<kiln_dtype> param_dtype_;
  std::vector<uint64_t> multiplier_;  // how often the current scope runs per group
  uint64_t work_ = 0;
};

}  // namespace

KernelSummary check_kernel(const kiln_kernel& k, const CheckTarget& target) {
  return Checker(k, target).run();
}

}  // namespace kiln::device_common
