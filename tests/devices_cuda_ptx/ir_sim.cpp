#include "ir_sim.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>

#include "common/dtype_facts.h"
#include "common/ir_scopes.h"
#include "kiln/dtypes.h"
#include "kiln/kernel_ir.h"
#include "reference/ndarray.h"

namespace kiln::test {
namespace {

bool is_integer(uint8_t t) {
  return device_common::is_bool(kiln_dtype(t)) || device_common::is_int(kiln_dtype(t));
}

// v as a value of dtype t (integers wrap to their width, floats round to their format), its
// bits and back: the op suite reference's storage model
double as_type(double v, uint8_t t) {
  return ref::round_to(DType(t), v);
}
uint64_t bits_of(double v, uint8_t t) {
  return ref::to_bits(DType(t), v);
}
double from_bits(uint64_t b, uint8_t t) {
  return ref::from_bits(DType(t), b);
}

struct PendingCopy {
  int32_t local;
  int64_t local_index;
  int32_t param;
  int64_t param_index;
  unsigned lanes;
};

class Sim {
 public:
  Sim(const detail::LoweredKernel& k, std::vector<std::vector<double>>& buffers,
      CopyLanding landing, const std::vector<int64_t>& vars)
      : k_(k),
        buffers_(buffers),
        landing_(landing),
        vars_(vars),
        threads_(k.local_size[0] * k.local_size[1] * k.local_size[2]),
        n_(k.insts.size()),
        match_(device_common::scope_ends(k.insts.data(), k.insts.size())) {
    for (size_t i = 0; i < n_; ++i) vals_.emplace_back(size_t(threads_) * lanes(i), 0.0);
  }

  SimResult run() {
    for (uint32_t z = 0; z < k_.global_size[2]; ++z)
      for (uint32_t y = 0; y < k_.global_size[1]; ++y)
        for (uint32_t x = 0; x < k_.global_size[0] && error_.empty(); ++x) run_group({x, y, z});
    return {error_};
  }

 private:
  unsigned lanes(size_t i) const { return k_.insts[i].vcount ? k_.insts[i].vcount : 1; }
  // lane j of instruction s for thread t (a scalar broadcasts)
  double at(int32_t s, uint32_t t, unsigned j) const {
    const unsigned n = lanes(size_t(s));
    return vals_[size_t(s)][size_t(t) * n + (n == 1 ? 0 : j)];
  }
  double& out(size_t i, uint32_t t, unsigned j) { return vals_[i][size_t(t) * lanes(i) + j]; }

  void fail(size_t i, const std::string& why) {
    if (error_.empty())
      error_ = std::string("sim: %")
                   .append(std::to_string(i))
                   .append(" ")
                   .append(kiln_ir_op_name(k_.insts[i].op))
                   .append(": ")
                   .append(why);
  }

  std::vector<double>* memory(int32_t buf) {
    const kiln_ir_inst& b = k_.insts[size_t(buf)];
    if (b.op == KILN_IR_LOCAL) return &locals_[size_t(buf)];
    return b.arg >= 0 && size_t(b.arg) < buffers_.size() ? &buffers_[size_t(b.arg)] : nullptr;
  }
  bool inside(size_t i, std::vector<double>* mem, int64_t index, unsigned n) {
    if (mem && index >= 0 && size_t(index) + n <= mem->size()) return true;
    fail(i, "index " + std::to_string(index) + " outside the buffer");
    return false;
  }

  void run_group(std::array<uint32_t, 3> group) {
    group_ = group;
    locals_.assign(n_, {});
    for (size_t i = 0; i < n_; ++i)  // unwritten shared memory reads as NaN
      if (k_.insts[i].op == KILN_IR_LOCAL) locals_[i].assign(size_t(k_.insts[i].arg), NAN);
    active_.assign(threads_, 1);
    saved_.clear();
    pending_.assign(threads_, {});
    committed_.assign(threads_, {});
    for (size_t pc = 0; pc < n_ && error_.empty();) pc = step(pc);
  }

  bool any() const {
    for (char a : active_)
      if (a) return true;
    return false;
  }

  void land(const PendingCopy& c) {
    std::vector<double>* dst = &locals_[size_t(c.local)];
    std::vector<double>* src = memory(c.param);
    for (unsigned j = 0; j < c.lanes; ++j)
      (*dst)[size_t(c.local_index) + j] = (*src)[size_t(c.param_index) + j];
  }

  // D = A B + C over a warp's lanes, in the layout of mma.sync.m16n8k16.row.col
  void mma(size_t i) {
    const kiln_ir_inst& in = k_.insts[i];
    for (uint32_t w = 0; w + 32 <= threads_; w += 32) {
      bool all = true, none = true;
      for (uint32_t l = 0; l < 32; ++l) (active_[w + l] ? none : all) = false;
      if (none) continue;
      if (!all) return fail(i, "MMA with part of the warp inactive");
      double a[16][16], b[16][8], d[16][8];
      for (uint32_t l = 0; l < 32; ++l) {
        const unsigned g = l / 4, t = l % 4;
        const uint32_t th = w + l;
        for (unsigned h = 0; h < 2; ++h)
          for (unsigned e = 0; e < 2; ++e) {
            a[g][2 * t + 8 * h + e] = at(in.src[0], th, 4 * h + e);
            a[g + 8][2 * t + 8 * h + e] = at(in.src[0], th, 4 * h + 2 + e);
            b[2 * t + 8 * h + e][g] = at(in.src[1], th, 2 * h + e);
          }
        for (unsigned h = 0; h < 2; ++h)
          for (unsigned e = 0; e < 2; ++e) d[g + 8 * h][2 * t + e] = at(in.src[2], th, 2 * h + e);
      }
      for (unsigned r = 0; r < 16; ++r)
        for (unsigned c = 0; c < 8; ++c) {
          double s = d[r][c];
          for (unsigned q = 0; q < 16; ++q) s += a[r][q] * b[q][c];
          d[r][c] = s;
        }
      for (uint32_t l = 0; l < 32; ++l)
        for (unsigned h = 0; h < 2; ++h)
          for (unsigned e = 0; e < 2; ++e)
            out(i, w + l, 2 * h + e) = double(float(d[l / 4 + 8 * h][2 * (l % 4) + e]));
    }
  }

  double alu(const kiln_ir_inst& in, size_t i, uint32_t t, unsigned j) {
    auto s = [&](int k) { return at(in.src[k], t, j); };
    const bool ints = is_integer(k_.insts[size_t(in.src[0])].dtype);
    switch (in.op) {
      case KILN_IR_NEG:
        return -s(0);
      case KILN_IR_EXP2:
        return std::exp2(s(0));
      case KILN_IR_LOG2:
        return std::log2(s(0));
      case KILN_IR_SIN:
        return std::sin(s(0));
      case KILN_IR_SQRT:
        return std::sqrt(s(0));
      case KILN_IR_RECIP:
        return 1.0 / s(0);
      case KILN_IR_TRUNC:
        return std::trunc(s(0));
      case KILN_IR_NOT:
        return in.dtype == KILN_DTYPE_BOOL ? double(s(0) == 0) : double(~int64_t(s(0)));
      case KILN_IR_ADD:
        return s(0) + s(1);
      case KILN_IR_SUB:
        return s(0) - s(1);
      case KILN_IR_MUL:
        return s(0) * s(1);
      case KILN_IR_FDIV:
        return s(0) / s(1);
      case KILN_IR_IDIV:
        return s(1) == 0 ? 0 : double(int64_t(s(0)) / int64_t(s(1)));
      case KILN_IR_MOD:
        return s(1) == 0 ? 0 : double(int64_t(s(0)) % int64_t(s(1)));
      case KILN_IR_MAX:
        return s(0) < s(1) ? s(1) : s(0);
      case KILN_IR_MIN:
        return s(1) < s(0) ? s(1) : s(0);
      case KILN_IR_CMPLT:
        return s(0) < s(1);
      case KILN_IR_CMPNE:
        return s(0) != s(1);
      case KILN_IR_CMPEQ:
        return s(0) == s(1);
      case KILN_IR_AND:
        return ints ? double(int64_t(s(0)) & int64_t(s(1))) : 0;
      case KILN_IR_OR:
        return ints ? double(int64_t(s(0)) | int64_t(s(1))) : 0;
      case KILN_IR_XOR:
        return ints ? double(int64_t(s(0)) ^ int64_t(s(1))) : 0;
      case KILN_IR_POW:
        return std::pow(s(0), s(1));
      case KILN_IR_WHERE:
        return s(0) != 0 ? s(1) : s(2);
      case KILN_IR_MULADD:
        return s(0) * s(1) + s(2);
      default:
        fail(i, "not simulated");
        return 0;
    }
  }

  size_t step(size_t pc) {
    const kiln_ir_inst& in = k_.insts[pc];
    const unsigned n = lanes(pc);
    auto each = [&](auto f) {
      for (uint32_t t = 0; t < threads_; ++t)
        if (active_[t]) f(t);
    };
    // definitions hold for every thread wherever they appear (renderers hoist them into the
    // prologue: kernel-ir.md), even one first written inside a branch other threads skip
    auto every = [&](auto f) {
      for (uint32_t t = 0; t < threads_; ++t) f(t);
    };
    switch (in.op) {
      case KILN_IR_NOP:
      case KILN_IR_PARAM:
      case KILN_IR_LOCAL:
      case KILN_IR_BARRIER:
      case KILN_IR_WARP_BARRIER:
      case KILN_IR_COPY_COMMIT:
        if (in.op == KILN_IR_COPY_COMMIT)
          each([&](uint32_t t) {
            committed_[t].push_back(std::move(pending_[t]));
            pending_[t].clear();
          });
        return pc + 1;
      case KILN_IR_CONST:
        every([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j)
            out(pc, t, j) = is_integer(in.dtype) ? double(in.imm.i) : as_type(in.imm.f, in.dtype);
        });
        return pc + 1;
      case KILN_IR_SPECIAL:
        every([&](uint32_t t) {
          const uint32_t lx = k_.local_size[0], ly = k_.local_size[1];
          const uint32_t ids[6] = {group_[0], group_[1],     group_[2],
                                   t % lx,    (t / lx) % ly, t / (lx * ly)};
          out(pc, t, 0) = in.arg >= 0 && in.arg < 6 ? ids[in.arg] : 0;
        });
        return pc + 1;
      case KILN_IR_VAR:
        if (in.arg < 0 || size_t(in.arg) >= vars_.size()) {
          fail(pc, "no value for variable " + std::to_string(in.arg));
          return pc + 1;
        }
        every([&](uint32_t t) { out(pc, t, 0) = double(vars_[size_t(in.arg)]); });
        return pc + 1;
      case KILN_IR_BITCAST:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j)
            out(pc, t, j) = from_bits(
                bits_of(at(in.src[0], t, j), k_.insts[size_t(in.src[0])].dtype), in.dtype);
        });
        return pc + 1;
      case KILN_IR_DOT4:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j) {
            const uint32_t a = uint32_t(int64_t(at(in.src[0], t, j))),
                           b = uint32_t(int64_t(at(in.src[1], t, j)));
            int64_t sum = int64_t(at(in.src[2], t, j));
            for (int q = 0; q < 4; ++q)
              sum += int64_t((a >> (8 * q)) & 0xFF) * int64_t(int8_t((b >> (8 * q)) & 0xFF));
            out(pc, t, j) = as_type(double(sum), in.dtype);
          }
        });
        return pc + 1;
      case KILN_IR_RANGE: {
        saved_.push_back(active_);
        each([&](uint32_t t) {
          out(pc, t, 0) = at(in.src[0], t, 0);
          if (!(at(in.src[0], t, 0) < at(in.src[1], t, 0))) active_[t] = 0;
        });
        if (any()) return pc + 1;
        active_ = saved_.back();
        saved_.pop_back();
        return size_t(match_[pc]) + 1;
      }
      case KILN_IR_ENDRANGE: {
        const size_t head = size_t(in.src[0]);
        each([&](uint32_t t) {
          out(head, t, 0) += 1;
          if (!(at(int32_t(head), t, 0) < at(k_.insts[head].src[1], t, 0))) active_[t] = 0;
        });
        if (any()) return head + 1;
        active_ = saved_.back();
        saved_.pop_back();
        return pc + 1;
      }
      case KILN_IR_IF:
        saved_.push_back(active_);
        each([&](uint32_t t) {
          if (at(in.src[0], t, 0) == 0) active_[t] = 0;
        });
        if (any()) return pc + 1;
        active_ = saved_.back();
        saved_.pop_back();
        return size_t(match_[pc]) + 1;
      case KILN_IR_ENDIF:
        active_ = saved_.back();
        saved_.pop_back();
        return pc + 1;
      case KILN_IR_ACC:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j) out(pc, t, j) = at(in.src[0], t, j);
        });
        return pc + 1;
      case KILN_IR_ASSIGN: {
        const size_t acc = size_t(in.src[0]);
        each([&](uint32_t t) {
          std::vector<double> next(lanes(acc));
          for (unsigned j = 0; j < next.size(); ++j) next[j] = at(in.src[1], t, j);
          for (unsigned j = 0; j < next.size(); ++j) out(acc, t, j) = next[j];
        });
        return pc + 1;
      }
      case KILN_IR_LOAD: {
        std::vector<double>* mem = memory(in.src[0]);
        each([&](uint32_t t) {
          const int64_t base = int64_t(at(in.src[1], t, 0));
          for (unsigned j = 0; j < n; ++j) {
            if (in.src[2] >= 0 && at(in.src[2], t, j) == 0) {
              out(pc, t, j) = in.src[3] >= 0 ? at(in.src[3], t, j) : 0;
            } else if (inside(pc, mem, base + j, 1)) {
              out(pc, t, j) = (*mem)[size_t(base + j)];
            }
          }
        });
        return pc + 1;
      }
      case KILN_IR_STORE: {
        std::vector<double>* mem = memory(in.src[0]);
        const uint8_t t_mem = k_.insts[size_t(in.src[0])].dtype;
        each([&](uint32_t t) {
          const int64_t base = int64_t(at(in.src[1], t, 0));
          for (unsigned j = 0; j < n; ++j)
            if ((in.src[3] < 0 || at(in.src[3], t, j) != 0) && inside(pc, mem, base + j, 1))
              (*mem)[size_t(base + j)] = as_type(at(in.src[2], t, j), t_mem);
        });
        return pc + 1;
      }
      case KILN_IR_COPY_ASYNC:
        each([&](uint32_t t) {
          PendingCopy c{in.src[0], int64_t(at(in.src[1], t, 0)), in.src[2],
                        int64_t(at(in.src[3], t, 0)), n};
          if (!inside(pc, memory(c.local), c.local_index, n) ||
              !inside(pc, memory(c.param), c.param_index, n))
            return;
          if (landing_ == CopyLanding::AtIssue)
            land(c);
          else
            pending_[t].push_back(c);
        });
        return pc + 1;
      case KILN_IR_COPY_WAIT:
        each([&](uint32_t t) {
          while (committed_[t].size() > size_t(in.arg)) {
            for (const PendingCopy& c : committed_[t].front()) land(c);
            committed_[t].pop_front();
          }
        });
        return pc + 1;
      case KILN_IR_CAST:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j) {
            double v = at(in.src[0], t, j);
            if (is_integer(in.dtype) && in.dtype != KILN_DTYPE_BOOL) v = std::trunc(v);
            out(pc, t, j) = as_type(v, in.dtype);
          }
        });
        return pc + 1;
      case KILN_IR_VECTORIZE:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j)
            out(pc, t, j) = at(k_.operands[size_t(in.src[0]) + j], t, 0);
        });
        return pc + 1;
      case KILN_IR_GEP:
        each([&](uint32_t t) { out(pc, t, 0) = at(in.src[0], t, unsigned(in.arg)); });
        return pc + 1;
      case KILN_IR_SHFL_XOR:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j) out(pc, t, j) = at(in.src[0], t ^ uint32_t(in.arg), j);
        });
        return pc + 1;
      case KILN_IR_MMA:
        mma(pc);
        return pc + 1;
      default:
        each([&](uint32_t t) {
          for (unsigned j = 0; j < n; ++j) out(pc, t, j) = as_type(alu(in, pc, t, j), in.dtype);
        });
        return pc + 1;
    }
  }

  const detail::LoweredKernel& k_;
  std::vector<std::vector<double>>& buffers_;
  const CopyLanding landing_;
  const std::vector<int64_t>& vars_;
  const uint32_t threads_;
  const size_t n_;
  std::vector<int64_t> match_;               // RANGE/IF -> ENDRANGE/ENDIF
  std::vector<std::vector<double>> vals_;    // per instruction: threads x lanes
  std::vector<std::vector<double>> locals_;  // per LOCAL instruction, this group's array
  std::vector<char> active_;
  std::vector<std::vector<char>> saved_;           // masks of the enclosing RANGEs and IFs
  std::vector<std::vector<PendingCopy>> pending_;  // per thread, not committed
  std::vector<std::deque<std::vector<PendingCopy>>> committed_;  // per thread, oldest first
  std::array<uint32_t, 3> group_{};
  std::string error_;
};

}  // namespace

SimResult simulate(const detail::LoweredKernel& k, std::vector<std::vector<double>>& buffers,
                   CopyLanding landing, const std::vector<int64_t>& vars) {
  try {
    return Sim(k, buffers, landing, vars).run();
  } catch (const std::exception& e) {  // a value its dtype cannot hold (the reference's check)
    return {std::string("sim: ") + e.what()};
  }
}

}  // namespace kiln::test
