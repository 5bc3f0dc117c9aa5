#include "codegen/lowerer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "codegen/ir_builder.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "schedule/scheduler.h"

namespace kiln::detail {

namespace {

// Where a value is evaluated: coordinates in `shape` (or only the row-major flat index).
// With lanes > 1 it stands for `lanes` consecutive positions: lane l is the base plus l along
// lane_axis (flat: plus l * lane_flat).
struct Index {
  Shape shape;
  std::vector<Val> dims;  // scalar bases; empty when only the flat index is known
  Val flat = -1;
  int lanes = 1;
  int lane_axis = -1;     // in shape/dims, when dims are known
  int64_t lane_flat = 0;  // flat step per lane
  bool aligned = false;   // base along lane_axis is a multiple of lanes and the axis divides
};

Shape squeezed(const Shape& s) {
  Shape out;
  for (auto d : s)
    if (d != 1) out.push_back(d);
  return out;
}

kiln_ir_op alu_op(Op op) {
  switch (op) {
    case Op::Neg:
      return KILN_IR_NEG;
    case Op::Exp2:
      return KILN_IR_EXP2;
    case Op::Log2:
      return KILN_IR_LOG2;
    case Op::Sin:
      return KILN_IR_SIN;
    case Op::Sqrt:
      return KILN_IR_SQRT;
    case Op::Recip:
      return KILN_IR_RECIP;
    case Op::Trunc:
      return KILN_IR_TRUNC;
    case Op::Not:
      return KILN_IR_NOT;
    case Op::Add:
      return KILN_IR_ADD;
    case Op::Sub:
      return KILN_IR_SUB;
    case Op::Mul:
      return KILN_IR_MUL;
    case Op::FDiv:
      return KILN_IR_FDIV;
    case Op::IDiv:
      return KILN_IR_IDIV;
    case Op::Mod:
      return KILN_IR_MOD;
    case Op::Max:
      return KILN_IR_MAX;
    case Op::Min:
      return KILN_IR_MIN;
    case Op::CmpLt:
      return KILN_IR_CMPLT;
    case Op::CmpNe:
      return KILN_IR_CMPNE;
    case Op::CmpEq:
      return KILN_IR_CMPEQ;
    case Op::And:
      return KILN_IR_AND;
    case Op::Or:
      return KILN_IR_OR;
    case Op::Xor:
      return KILN_IR_XOR;
    case Op::Shl:
      return KILN_IR_SHL;
    case Op::Shr:
      return KILN_IR_SHR;
    case Op::Pow:
      return KILN_IR_POW;
    case Op::Where:
      return KILN_IR_WHERE;
    case Op::MulAdd:
      return KILN_IR_MULADD;
    case Op::Dot4:
      return KILN_IR_DOT4;
    default:
      throw Error(std::string("internal: no IR op for ") + op_name(op));
  }
}

double reduce_identity(ReduceOp op, DType t) {
  bool f = is_float(t);
  switch (op) {
    case ReduceOp::Sum:
      return 0;
    case ReduceOp::Prod:
      return 1;
    case ReduceOp::Max:
      if (f) return -std::numeric_limits<double>::infinity();
      if (t == DType::Bool || is_unsigned(t)) return 0;
      return t == DType::I8    ? -128
             : t == DType::I16 ? -32768
             : t == DType::I32 ? -2147483648.0
                               : -9.2233720368547758e18;
    case ReduceOp::Min:
      if (f) return std::numeric_limits<double>::infinity();
      return 0;  // integer min identities are set exactly below
  }
  return 0;
}

int64_t int_min_identity(DType t) {
  switch (t) {
    case DType::Bool:
      return 1;
    case DType::I8:
      return 127;
    case DType::U8:
      return 255;
    case DType::I16:
      return 32767;
    case DType::U16:
      return 65535;
    case DType::I32:
      return 2147483647;
    case DType::U32:
      return 4294967295ll;
    case DType::I64:
      return std::numeric_limits<int64_t>::max();
    case DType::U64:
      return -1;  // all bits set
    default:
      return 0;
  }
}

int64_t int_max_identity(DType t) {
  switch (t) {
    case DType::I8:
      return -128;
    case DType::I16:
      return -32768;
    case DType::I32:
      return -2147483648ll;
    case DType::I64:
      return std::numeric_limits<int64_t>::min();
    default:
      return 0;
  }
}

// Visits each node of the kernel fragment under `root` once (realized nodes other than the root
// are visited, not entered). `visit` returns false to stop the walk.
template <class F>
void walk_fragment(const UOp* root, F&& visit) {
  std::vector<const UOp*> stack{root};
  std::set<const UOp*> seen;
  while (!stack.empty()) {
    const UOp* u = stack.back();
    stack.pop_back();
    if (!seen.insert(u).second) continue;
    if (!visit(u)) return;
    if (u != root && u->realized()) continue;
    for (const auto& s : u->src) stack.push_back(s.get());
  }
}

// The reduce whose loop sits in this kernel, if any.
const UOp* fragment_reduce(const UOp* root) {
  const UOp* found = nullptr;
  walk_fragment(root, [&](const UOp* u) {
    if (u->op == Op::Reduce && (u == root || !u->realized())) found = u;
    return found == nullptr;
  });
  return found;
}

class Lowerer {
 public:
  Lowerer(const kiln_device_caps& caps, const KernelOpts& opts = {}) : caps_(caps), opts_(opts) {}

  LoweredKernel run_assign(const UOpRef& target, const UOpRef& value) {
    const UOpRef& base = view_base(target);
    root_ = value;
    idx_t_ = (needs_i64(value) || needs_i64(target)) ? DType::I64 : DType::I32;
    LoweredKernel k;
    k.params.push_back(base);
    params_ = &k.params;
    vars_ = &k.vars;
    param_vals_[base.get()] = b_.param(0, base->dtype, KILN_IR_FLAG_WRITTEN);
    Val out = param_vals_[base.get()];
    int64_t total = target->numel();
    check_grid(total, target);
    groups_ = total;
    Val gid = b_.cast(b_.special(0, total), idx_t_);
    Index idx{target->shape, {}, gid};
    // the store position goes through the target's views
    Val where =
        target.get() != base.get() ? memory_index(target.get(), unravel(gid, target->shape)) : gid;
    // a value computed beforehand (it read the target elsewhere) is loaded, not recomputed
    Val v = emit(value.get(), idx, -1, !value->realized());
    b_.store(out, where, b_.cast(v, base->dtype));
    k.global_size[0] = static_cast<uint32_t>(total);
    finish(k, "assign_" + shape_name(target->shape));
    return k;
  }

  // An attention node's operands and sizes: q (B, Hq, Lq, D), k (B, Hk, Lk, D), v (B, Hk, Lk, Dv),
  // rep query heads per KV head.
  struct AttentionDims {
    const UOp *q, *k, *v;
    int64_t B, Hq, Lq, D, Hk, Lk, Dv, rep;
  };
  static AttentionDims attention_dims(const UOpRef& root) {
    const UOp *q = root->src[0].get(), *k = root->src[1].get(), *v = root->src[2].get();
    return {q,
            k,
            v,
            q->shape[0],
            q->shape[1],
            q->shape[2],
            q->shape[3],
            k->shape[1],
            k->shape[2],
            v->shape[3],
            q->shape[1] / k->shape[1]};
  }

  // Tensor cores for attention over half q, k, v (prefill: Lq a multiple of 16): one warp per
  // 16 queries of one head, flash-attention style. Each step takes KB keys (32;
  // KILN_MMA_ATTN_KEYS, a multiple of 16; 64 spills registers): S = Q K^T as 16 x 8 tiles
  // (MMAs over D in 32-wide chunks, q and k loaded 16 bytes per lane with the matmuls' k
  // permutation), the scaled, masked scores' row max and sum across the quad of lanes sharing
  // a row (SHFL_XOR 1, 2), the output rescaled, then P V: two adjacent score tiles are one A
  // fragment of 16 keys (their C layout is A's), V's fragment four scalar loads per lane. Keys
  // no query of the tile sees read as zero probability and zero value.
  bool mma_attention_ok(const UOpRef& root) const {
    if (!mma_enabled() || root->attention.write_kv) return false;
    const UOp* q = root->src[0].get();
    const UOp* kk = root->src[1].get();
    const UOp* v = root->src[2].get();
    if (!is_half(q->dtype) || kk->dtype != q->dtype || v->dtype != q->dtype) return false;
    return q->shape[2] % 16 == 0 && q->shape[3] % 32 == 0 && v->shape[3] % 8 == 0;
  }

  void run_attention_mma(LoweredKernel& k, const UOpRef& root) {
    const AttentionArgs& a = root->attention;
    const auto [q, kk, v, B, Hq, Lq, D, Hk, Lk, Dv, rep] = attention_dims(root);
    const DType H = q->dtype, f = DType::F32;
    static const int64_t KB =
        std::clamp<int64_t>(env::integer("KILN_MMA_ATTN_KEYS", 32), 16, 128) / 16 * 16;
    const int64_t nkt = KB / 8, ndt = Dv / 8;
    Val out = b_.param(0, root->dtype, KILN_IR_FLAG_WRITTEN);
    groups_ = B * Hq * (Lq / 16);
    check_grid(groups_, root);
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    std::vector<Val> bht = unravel(gid, {B, Hq, Lq / 16});
    Val bb = bht[0], h = bht[1], q0 = b_.mul_const(bht[2], 16);
    Val hk = b_.idiv_const(h, rep);
    warp_split_ = 32;
    Val lane = b_.cast(b_.special(3, 32), idx_t_);
    Val g = b_.idiv_const(lane, 4), t = b_.mod_const(lane, 4);
    auto half8 = [&](const UOp* src, Val head, Val row, Val col) {
      return load_half8(src, {bb, head, row, col}, 3, H, -1);
    };
    // q's A fragments: rows g and g+8 of the tile, 32 d per chunk
    std::vector<std::array<Val, 2>> qa;
    memo_.emplace_back();
    for (int64_t c = 0; c < D / 32; ++c) {
      Val d0 = b_.add_const(b_.mul_const(t, 8), 32 * c);
      qa.push_back(
          {half8(q, h, b_.add(q0, g), d0), half8(q, h, b_.add(q0, b_.add_const(g, 8)), d0)});
    }
    memo_.pop_back();
    // positions: query i of the tile sits at key position qbase + i
    Val qbase = attention_position(a, q0);
    Val pos_lo = b_.add(qbase, g), pos_hi = b_.add_const(pos_lo, 8);
    // keys [lo, hi) that some query of the tile may see; the loop starts at a multiple of KB
    auto [lo, hi] = attention_key_range(a, qbase, Lk, 16);
    Val lo0 = b_.mul_const(b_.idiv_const(lo, KB), KB);
    Val nblocks = b_.idiv_const(b_.add_const(b_.alu(KILN_IR_SUB, idx_t_, hi, lo0), KB - 1), KB);
    const Val ninf = b_.const_float(-INFINITY, f), zf = b_.const_float(0, f);
    Val m_lo = b_.acc(ninf), m_hi = b_.acc(ninf), l_lo = b_.acc(zf), l_hi = b_.acc(zf);
    std::vector<Val> o;
    for (int64_t n = 0; n < ndt; ++n) o.push_back(b_.acc(b_.broadcast(zf, 4)));
    Val rg = b_.range(b_.const_int(0, idx_t_), nblocks, KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    Val kbase = b_.add(lo0, b_.mul_const(rg, KB));
    auto key_row = [&](Val pos) {
      return a.ring ? b_.mod_const(pos, Lk)
                    : b_.alu(KILN_IR_MIN, idx_t_, pos, b_.const_int(Lk - 1, idx_t_));
    };
    // a key a query at `pos` sees
    auto visible = [&](Val key, Val pos) {
      Val ok = b_.lt(key, b_.add_const(pos, 1));
      if (!a.causal) ok = b_.lt(key, b_.const_int(Lk, idx_t_));
      if (a.window > 0) ok = b_.and_(ok, b_.lt(b_.add_const(pos, -a.window), key));
      return b_.and_(ok, b_.lt(b_.const_int(-1, idx_t_), key));
    };
    const double sc = a.scale * 1.4426950408889634;  // log2 units
    std::vector<Val> s(size_t(nkt * 4));             // scores: tile j, lane e
    for (int64_t j = 0; j < nkt; ++j) {
      Val krow = key_row(b_.add(kbase, b_.add_const(g, 8 * j)));
      Val acc = b_.broadcast(zf, 4);
      for (int64_t c = 0; c < D / 32; ++c) {
        Val kv8 = half8(kk, hk, krow, b_.add_const(b_.mul_const(t, 8), 32 * c));
        for (int st = 0; st < 2; ++st)
          acc = b_.mma(mma_a_fragment(qa[size_t(c)][0], qa[size_t(c)][1], st),
                       mma_b_fragment(kv8, st), acc);
      }
      for (int e = 0; e < 4; ++e) {
        Val key = b_.add(kbase, b_.add_const(b_.mul_const(t, 2), 8 * j + (e & 1)));
        Val x = b_.alu(KILN_IR_MUL, f, b_.gep(acc, e), b_.const_float(sc, f));
        s[size_t(j * 4 + e)] =
            b_.alu(KILN_IR_WHERE, f, visible(key, e < 2 ? pos_lo : pos_hi), x, ninf);
      }
    }
    // row max and sum over the quad; rows g (lanes 0, 1) and g + 8 (lanes 2, 3)
    auto quad = [&](Val x, kiln_ir_op op) {
      for (int mask : {1, 2}) x = b_.alu(op, f, x, b_.shfl_xor(x, mask));
      return x;
    };
    std::array<Val, 2> m_new, corr;
    std::array<Val, 2> m_old{m_lo, m_hi}, l_acc{l_lo, l_hi};
    for (int r = 0; r < 2; ++r) {
      Val mx = ninf;
      for (int64_t j = 0; j < nkt; ++j)
        for (int e = 2 * r; e < 2 * r + 2; ++e)
          mx = b_.alu(KILN_IR_MAX, f, mx, s[size_t(j * 4 + e)]);
      m_new[r] = b_.alu(KILN_IR_MAX, f, m_old[r], quad(mx, KILN_IR_MAX));
      Val none = b_.alu(KILN_IR_CMPEQ, DType::Bool, m_new[r], ninf);
      corr[r] = exp2_or_zero(none, m_old[r], m_new[r]);
    }
    std::vector<Val> p(s.size());
    std::array<Val, 2> rsum{zf, zf};
    for (int64_t j = 0; j < nkt; ++j)
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2;
        Val x = s[size_t(j * 4 + e)];
        Val none = b_.alu(KILN_IR_CMPEQ, DType::Bool, x, ninf);
        Val pe = exp2_or_zero(none, x, m_new[r]);
        p[size_t(j * 4 + e)] = pe;
        rsum[r] = b_.alu(KILN_IR_ADD, f, rsum[r], pe);
      }
    for (int r = 0; r < 2; ++r) {
      b_.assign(l_acc[r], b_.alu(KILN_IR_MULADD, f, l_acc[r], corr[r], quad(rsum[r], KILN_IR_ADD)));
      b_.assign(m_old[r], m_new[r]);
    }
    Val corr4 = b_.vectorize({corr[0], corr[0], corr[1], corr[1]});
    std::vector<Val> o_next;
    for (int64_t n = 0; n < ndt; ++n) o_next.push_back(b_.alu(KILN_IR_MUL, f, o[size_t(n)], corr4));
    // P V over 16 keys per MMA: score tiles 2u, 2u + 1
    for (int64_t u = 0; u < nkt / 2; ++u) {
      std::vector<Val> pa;
      for (int64_t j : {2 * u, 2 * u + 1})
        for (int e = 0; e < 4; ++e) pa.push_back(b_.cast(p[size_t(j * 4 + e)], H));
      Val afr = b_.vectorize(pa);
      std::vector<Val> keys;  // this lane's B rows: 2t, 2t + 1, 2t + 8, 2t + 9 of the 16
      for (int64_t kofs : {0, 1, 8, 9})
        keys.push_back(b_.add(kbase, b_.add_const(b_.mul_const(t, 2), 16 * u + kofs)));
      for (int64_t n = 0; n < ndt; ++n) {
        std::vector<Val> bl;
        for (Val key : keys) {
          // some query of the tile sees it: [lo, hi)
          Val vis = b_.and_(b_.lt(b_.add_const(lo, -1), key), b_.lt(key, hi));
          Index vi{v->shape, {bb, hk, key_row(key), b_.add_const(g, 8 * n)}, -1};
          bl.push_back(b_.cast(emit(v, vi, vis), H));
        }
        o_next[size_t(n)] = b_.mma(afr, b_.vectorize(bl), o_next[size_t(n)]);
      }
    }
    for (int64_t n = 0; n < ndt; ++n) b_.assign(o[size_t(n)], o_next[size_t(n)]);
    memo_.pop_back();
    b_.end_range(rg);
    std::array<Val, 2> inv;
    for (int r = 0; r < 2; ++r) inv[r] = recip_or_zero(l_acc[r]);
    for (int r = 0; r < 2; ++r) {
      Val row = b_.add(q0, b_.add_const(g, 8 * r));
      Val base = b_.mul_const(b_.add(b_.mul_const(b_.add(b_.mul_const(bb, Hq), h), Lq), row), Dv);
      for (int64_t n = 0; n < ndt; ++n) {
        Val x0 = b_.alu(KILN_IR_MUL, f, b_.gep(o[size_t(n)], 2 * r), inv[r]);
        Val x1 = b_.alu(KILN_IR_MUL, f, b_.gep(o[size_t(n)], 2 * r + 1), inv[r]);
        Val col = b_.add_const(b_.mul_const(t, 2), 8 * n);
        b_.store(out, b_.add(base, col),
                 b_.vectorize(
                     {b_.gep(b_.cast(x0, root->dtype), 0), b_.gep(b_.cast(x1, root->dtype), 0)}));
      }
    }
    k.global_size[0] = static_cast<uint32_t>(groups_);
    has_reduce_ = true;
    finish(k, "attn_" + shape_name(root->shape) + "_mma");
  }

  // One group per (batch, head, query): a loop over the allowed keys with an online softmax,
  // the output row kept in vector accumulators. The (Lq, Lk) scores never reach memory.
  LoweredKernel run_attention(const UOpRef& root) {
    root_ = root;
    idx_t_ = needs_i64(root) ? DType::I64 : DType::I32;
    LoweredKernel k;
    k.params.push_back(root);
    params_ = &k.params;
    vars_ = &k.vars;
    if (mma_attention_ok(root)) {
      run_attention_mma(k, root);
      return k;
    }
    const AttentionArgs& a = root->attention;
    const auto [q, kk, v, B, Hq, Lq, D, Hk, Lk, Dv, rep] = attention_dims(root);
    if (caps_.warp_size <= 1 && vector_lanes(DType::F32) > 1 && rep <= 8) {
      run_attention_cpu(k, root);
      return k;
    }
    static const bool lanes_off =
        env::integer("KILN_GPU_ATTN_LANES", 1) == 0;  // the older form, to compare
    const int warp = static_cast<int>(caps_.warp_size);
    if (!lanes_off && warp > 1 && Dv % warp == 0 && attention_split(B * Hq * Lq) >= 2 * warp) {
      run_attention_gpu(k, root);  // few groups (decode): several warps each
      return k;
    }
    const DType f = DType::F32;
    int lanes = vector_lanes(f);
    int ql = (lanes > 1 && D % lanes == 0) ? lanes : 1;
    int vl = (lanes > 1 && Dv % lanes == 0) ? lanes : 1;
    Val out = b_.param(0, root->dtype, KILN_IR_FLAG_WRITTEN);
    check_grid(B * Hq * Lq, root);
    groups_ = B * Hq * Lq;
    Val gid = b_.cast(b_.special(0, B * Hq * Lq), idx_t_);
    std::vector<Val> bhi = unravel(gid, {B, Hq, Lq});
    Val bb = bhi[0], h = bhi[1], i = bhi[2];
    Val hk = b_.idiv_const(h, rep);
    auto at_col = [&](const UOp* t, Val head, Val row, Val col, int l) {
      Index idx{t->shape, {bb, head, row, col}, -1};
      if (l > 1) {
        idx.lanes = l;
        idx.lane_axis = 3;
        idx.aligned = true;
      }
      return b_.cast(emit(t, idx, -1), f);
    };
    auto at = [&](const UOp* t, Val head, Val row, int64_t col, int l) {
      return at_col(t, head, row, b_.const_int(col, idx_t_), l);
    };
    // GPUs: the keys are split across the threads of one group per query (thread t takes keys
    // lo + t, lo + t + split, ...); each thread keeps its own online softmax, merged at the end
    // (flash-decoding within a group). One warp per query when there are many queries (prefill);
    // up to 8 warps when few groups would leave the GPU idle (decode: 32 query heads).
    const int split = attention_split(B * Hq * Lq);
    if (a.write_kv) {
      emit_kv_write(root, bb, hk, i,
                    split > 1 ? b_.cast(b_.special(3, split), idx_t_) : b_.const_int(0, idx_t_),
                    split);
      if (split > 1) b_.barrier();
    }
    std::vector<Val> qv;
    if (split > warp && D <= split) {
      // several warps: q (often a fused RoPE of the projection, with its sin/cos) is computed
      // once per group, element c by thread c (one sin/cos each: they are long f64-based
      // routines), and shared through shared memory
      Val qs = b_.local(f, D);
      Val tid = b_.cast(b_.special(3, split), idx_t_);
      Val in_q = b_.if_(b_.lt(tid, b_.const_int(D, idx_t_)));
      memo_.emplace_back();
      b_.store(qs, tid, at_col(q, h, i, tid, 1));
      memo_.pop_back();
      b_.end_if(in_q);
      b_.barrier();
      for (int64_t c = 0; c < D; c += ql)
        qv.push_back(b_.load(qs, b_.const_int(c, idx_t_), f, -1, -1, ql));
    } else {
      for (int64_t c = 0; c < D; c += ql) qv.push_back(at(q, h, i, c, ql));
    }
    auto [lo, hi] = attention_key_range(a, attention_position(a, i), Lk, 1);
    Val m = b_.acc(b_.const_float(-INFINITY, f));
    Val l = b_.acc(b_.const_float(0, f));
    std::vector<Val> accs;
    for (int64_t c = 0; c < Dv; c += vl)
      accs.push_back(b_.acc(b_.broadcast(b_.const_float(0, f), vl)));
    Val r, outer = -1, inside = -1;
    if (split > 1) {
      warp_split_ = split;
      Val n = b_.alu(KILN_IR_SUB, idx_t_, hi, lo);
      outer = b_.range(b_.const_int(0, idx_t_), b_.idiv_const(b_.add_const(n, split - 1), split),
                       KILN_IR_FLAG_REDUCE);
      r = b_.add(lo, b_.add(b_.mul_const(outer, split), b_.cast(b_.special(3, split), idx_t_)));
      inside = b_.if_(b_.lt(r, hi));
    } else {
      r = b_.range(lo, hi, KILN_IR_FLAG_REDUCE);
    }
    Val row = a.ring ? b_.mod_const(r, Lk) : r;  // r >= 0, so C's remainder is the ring slot
    memo_.emplace_back();
    Val dot = -1;
    for (size_t c = 0; c < qv.size(); ++c) {
      Val prod = b_.alu(KILN_IR_MUL, f, qv[c], at(kk, hk, row, static_cast<int64_t>(c) * ql, ql));
      dot = dot < 0 ? prod : b_.alu(KILN_IR_ADD, f, dot, prod);
    }
    Val sc = b_.gep(dot, 0);
    for (int x = 1; x < ql; ++x) sc = b_.alu(KILN_IR_ADD, f, sc, b_.gep(dot, x));
    sc = b_.alu(KILN_IR_MUL, f, sc, b_.const_float(a.scale * 1.4426950408889634, f));  // log2 units
    Val m_new = b_.alu(KILN_IR_MAX, f, m, sc);
    Val corr = b_.alu(KILN_IR_EXP2, f, b_.alu(KILN_IR_SUB, f, m, m_new));
    Val p = b_.alu(KILN_IR_EXP2, f, b_.alu(KILN_IR_SUB, f, sc, m_new));
    b_.assign(l, b_.alu(KILN_IR_MULADD, f, l, corr, p));
    for (size_t c = 0; c < accs.size(); ++c) {
      Val vv = at(v, hk, row, static_cast<int64_t>(c) * vl, vl);
      b_.assign(accs[c], b_.alu(KILN_IR_MULADD, f, accs[c], corr, b_.alu(KILN_IR_MUL, f, p, vv)));
    }
    b_.assign(m, m_new);
    memo_.pop_back();
    if (split > 1) {
      b_.end_if(inside);
      b_.end_range(outer);
      // merge the lanes' (max, sum, output) pairwise; a pair that saw no key stays empty
      const Val ninf = b_.const_float(-INFINITY, f);
      for (int mask = std::min(split, warp) / 2; mask >= 1; mask /= 2) {
        Val m_o = b_.shfl_xor(m, mask), l_o = b_.shfl_xor(l, mask);
        std::vector<Val> acc_o;
        for (Val acc : accs) acc_o.push_back(b_.shfl_xor(acc, mask));
        Val m_n = b_.alu(KILN_IR_MAX, f, m, m_o);
        Val none = b_.alu(KILN_IR_CMPEQ, DType::Bool, m_n, ninf);
        Val c_self = exp2_or_zero(none, m, m_n);
        Val c_other = exp2_or_zero(none, m_o, m_n);
        b_.assign(l, b_.alu(KILN_IR_MULADD, f, l, c_self, b_.alu(KILN_IR_MUL, f, l_o, c_other)));
        for (size_t c = 0; c < accs.size(); ++c)
          b_.assign(accs[c], b_.alu(KILN_IR_MULADD, f, accs[c], c_self,
                                    b_.alu(KILN_IR_MUL, f, acc_o[c], c_other)));
        b_.assign(m, m_n);
      }
      if (split > warp) merge_warps(split, m, l, accs, vl);
    } else {
      b_.end_range(r);
    }
    store_attention_row(k, root, out, gid, Dv, vl, l, accs, split);
    return k;
  }

  // GPU attention, one group of whole warps per (batch, head, query). Keys go across the
  // threads, T at a time: each thread scores one key (its whole dot product), each warp takes
  // its 32 scores' max for the online softmax (one rescale per 32 keys), and the probabilities
  // pass through the warp's shared memory to the P V step, where each lane owns Dv / 32 output
  // columns and reads those columns of the warp's 32 value rows (coalesced). The output row is
  // never held whole per thread, so the warps merge only (m, l) and a row in shared memory.
  // A decode step is latency, not bandwidth (32 groups on a 132-SM H100), so:
  // - the first T keys' rows and value columns are loaded before q is computed, and the three
  //   memory trips (q, keys, values) overlap instead of following one another;
  // - each warp computes q (RoPE fused onto the projection) and passes its probabilities
  //   through its own shared memory under warp barriers: one group-wide barrier in all, the
  //   merge's (three group-wide barriers measured 4.8 us a kernel on an H100, mostly waiting);
  // - the dot products and the P V sums run as independent partial chains.
  void run_attention_gpu(LoweredKernel& k, const UOpRef& root) {
    const AttentionArgs& a = root->attention;
    const auto [q, kk, v, B, Hq, Lq, D, Hk, Lk, Dv, rep] = attention_dims(root);
    const DType f = DType::F32;
    const int warp = static_cast<int>(caps_.warp_size);
    const int lanes = vector_lanes(f);
    const int ql = (lanes > 1 && D % lanes == 0) ? lanes : 1;
    const int64_t dl = Dv / warp;  // output columns per lane
    const int dli = static_cast<int>(dl);
    Val out = b_.param(0, root->dtype, KILN_IR_FLAG_WRITTEN);
    groups_ = B * Hq * Lq;
    check_grid(groups_, root);
    int T = attention_split(groups_, gpu_attn_warps());
    while (T > 2 * warp && T / 2 >= Lk) T /= 2;  // no more threads than keys there can be
    // the first step's loads held early: a key row and 32 rows' value columns per thread,
    // in 32-bit registers (64 for bf16 keys and values; f32 ones load at the step's top).
    // Only where a thread may have more than 128 registers (an SM's 64k over at most 256
    // threads): the form without them takes ~122, and at 512 threads (128 each) the early
    // loads spilled (H100, session 16).
    const int64_t load_words = (D * dtype_size(kk->dtype) + warp * dl * dtype_size(v->dtype)) / 4;
    const bool early = load_words <= 64 && gpu_attn_early() > 0 && 65536 / T > 128;
    const int W = T / warp;
    warp_split_ = T;
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    std::vector<Val> bhi = unravel(gid, {B, Hq, Lq});
    Val bb = bhi[0], h = bhi[1], i = bhi[2];
    Val hk = b_.idiv_const(h, rep);
    Val tid = b_.cast(b_.special(3, T), idx_t_);
    Val lane = b_.mod_const(tid, warp), wid = b_.idiv_const(tid, warp);
    if (a.write_kv) {  // before the first key is read (an early step's included)
      emit_kv_write(root, bb, hk, i, tid, T);
      b_.barrier();
    }
    auto at = [&](const UOp* t, Val head, Val row, Val col, int l, Val gate) {
      Index idx{t->shape, {bb, head, row, col}, -1};
      if (l > 1) {
        idx.lanes = l;
        idx.lane_axis = 3;
        idx.aligned = true;
      }
      return b_.cast(emit(t, idx, gate), f);
    };
    auto [lo, hi] = attention_key_range(a, attention_position(a, i), Lk, 1);
    auto key_row = [&](Val key) { return a.ring ? b_.mod_const(key, Lk) : key; };
    Val col = b_.mul_const(lane, dl);
    Val wkey = b_.mul_const(wid, warp);  // the warp's first key in a step
    // Key rows read by C lanes together, 16 bytes each (a warp instruction reads 32 / C whole
    // rows, not one 8-byte piece of 32 rows: an SM's L1 wavefronts, not HBM, bounded a step
    // whose keys all fell on one SM), each lane's C partial dot products summed across its C
    // lanes by a butterfly that leaves lane (g, s) the dot of the warp's key s * (32 / C) + g.
    // Without early loads only (with them: 122 against 94 us a step on an H100); H100, 16 warps:
    // 965.8 against 952.2 tok/s, attention 5.8 us a layer at positions 128-192 and 320-384
    // alike (session 16). KILN_GPU_ATTN_COALESCED=0: a key row a thread.
    const int64_t chunk = 16 / int64_t(dtype_size(kk->dtype));  // key elements a lane loads
    const int C = chunk > 0 && D % chunk == 0 ? int(D / chunk) : 0;
    const bool coalesced = gpu_attn_coalesced() && !early && C >= 2 && C <= warp && warp % C == 0 &&
                           (C & (C - 1)) == 0;
    const int KP = coalesced ? warp / C : 1;  // keys a warp instruction reads
    Val kgroup = coalesced ? b_.idiv_const(lane, C) : -1,
        kchunk = coalesced ? b_.mod_const(lane, C) : -1;
    // this thread's key (its score's) within the warp's keys of a step
    Val my_key = coalesced ? b_.add(b_.mul_const(kchunk, KP), kgroup) : lane;
    // one step's loads: this thread's key row, and the value columns of its warp's 32 rows.
    // A key past the allowed ones reads the last allowed row instead (clamped into the buffer),
    // ungated: its score is masked anyway, and the row's 16 loads need no predicate and no
    // zeroing. (Value rows stay gated: a probability of 0 times an unwritten row could be NaN.)
    struct StepLoads {
      std::vector<Val> keys, values;
    };
    auto clamp_key = [&](Val key) {
      key = b_.alu(KILN_IR_MIN, idx_t_, key, b_.add_const(hi, -1));
      key = b_.alu(KILN_IR_MAX, idx_t_, key, b_.const_int(0, idx_t_));
      if (!a.ring) key = b_.alu(KILN_IR_MIN, idx_t_, key, b_.const_int(Lk - 1, idx_t_));
      return key;
    };
    auto load_step = [&](Val base) {
      StepLoads s;
      if (coalesced) {  // part kchunk of keys i * KP + kgroup
        Val c = b_.mul_const(kchunk, chunk);
        for (int i = 0; i < C; ++i) {
          Val key = clamp_key(b_.add(base, b_.add(wkey, b_.add_const(kgroup, int64_t(i) * KP))));
          s.keys.push_back(at(kk, hk, key_row(key), c, int(chunk), -1));
        }
      } else {
        Val key = clamp_key(b_.add(base, tid));
        for (int64_t c = 0; c < D; c += ql)
          s.keys.push_back(at(kk, hk, key_row(key), b_.const_int(c, idx_t_), ql, -1));
      }
      for (int t = 0; t < warp; ++t) {
        Val kt = b_.add(base, b_.add_const(wkey, t));
        s.values.push_back(at(v, hk, key_row(kt), col, dli, b_.lt(kt, hi)));
      }
      return s;
    };
    // KILN_GPU_ATTN_EARLY=E: the first E steps' loads are all held early (the keys of a
    // step past the allowed ones clamp to the last row, its value loads are gated off)
    const int E = early ? gpu_attn_early() : 0;
    std::vector<StepLoads> firsts;
    if (early) {
      memo_.emplace_back();
      for (int e = 0; e < E; ++e) firsts.push_back(load_step(b_.add_const(lo, int64_t(e) * T)));
      memo_.pop_back();
    }
    // q, each warp its own copy in shared memory: lane c computes q[c], q[c + 32], ...
    Val qs = b_.local(f, W * D);
    Val qbase = b_.mul_const(wid, D);
    for (int64_t c0 = 0; c0 < D; c0 += warp) {
      Val c = b_.add_const(lane, c0);
      Val in_q = c0 + warp <= D ? -1 : b_.if_(b_.lt(c, b_.const_int(D, idx_t_)));
      memo_.emplace_back();
      b_.store(qs, b_.add(qbase, c), at(q, h, i, c, 1, -1));
      memo_.pop_back();
      if (in_q >= 0) b_.end_if(in_q);
    }
    b_.warp_barrier();
    const Val ninf = b_.const_float(-INFINITY, f), zero = b_.const_float(0, f);
    Val m = b_.acc(ninf), l = b_.acc(zero);   // m: the warp's running max; l: this lane's sum
    Val o = b_.acc(b_.broadcast(zero, dli));  // this lane's output columns
    // the warp's probabilities, double-buffered (one warp barrier a step)
    Val probs = b_.local(f, 2 * int64_t(T));
    Val pbase = b_.mul_const(wid, 2 * warp);
    const int pl = warp % 4 == 0 ? 4 : 1;  // probabilities read 4 at a time
    // one step of T keys from `base` (step `it`, for the probabilities' buffer)
    auto step = [&](Val it, Val base, const StepLoads& s) {
      Val seen = b_.lt(b_.add(base, b_.add(wkey, my_key)), hi);
      Val sc = -1;
      if (coalesced) {
        // this lane's q elements, then its part of each of its C keys' dots
        std::vector<Val> qe;
        for (int64_t e = 0; e < chunk; e += 4) {
          const int n = int(std::min<int64_t>(4, chunk - e));
          Val qv = b_.load(qs, b_.add(qbase, b_.add_const(b_.mul_const(kchunk, chunk), e)), f, -1,
                           -1, n);
          for (int x = 0; x < n; ++x) qe.push_back(n > 1 ? b_.gep(qv, x) : qv);
        }
        std::vector<Val> parts;
        for (const Val kv : s.keys) {
          Val d[2] = {-1, -1};
          for (int64_t e = 0; e < chunk; ++e) {
            Val ke = chunk > 1 ? b_.gep(kv, int(e)) : kv;
            Val& x = d[e % 2];
            x = x < 0 ? b_.alu(KILN_IR_MUL, f, qe[size_t(e)], ke)
                      : b_.alu(KILN_IR_MULADD, f, qe[size_t(e)], ke, x);
          }
          parts.push_back(d[1] < 0 ? d[0] : b_.alu(KILN_IR_ADD, f, d[0], d[1]));
        }
        // butterfly over the chunk bits: each round keeps the half its bit names and adds the
        // partner's sums of it
        for (int m = C / 2; m >= 1; m /= 2) {
          Val bit = b_.alu(KILN_IR_CMPNE, DType::Bool,
                           b_.alu(KILN_IR_AND, idx_t_, kchunk, b_.const_int(m, idx_t_)),
                           b_.const_int(0, idx_t_));
          const size_t half = parts.size() / 2;
          std::vector<Val> next;
          for (size_t j = 0; j < half; ++j) {
            Val send = b_.alu(KILN_IR_WHERE, f, bit, parts[j], parts[j + half]);
            Val keep = b_.alu(KILN_IR_WHERE, f, bit, parts[j + half], parts[j]);
            next.push_back(b_.alu(KILN_IR_ADD, f, keep, b_.shfl_xor(send, m)));
          }
          parts = std::move(next);
        }
        sc = parts[0];
      } else {
        Val dots[2] = {-1, -1};  // two partial chains
        for (size_t c = 0; c < s.keys.size(); ++c) {
          Val qv = b_.load(qs, b_.add_const(qbase, int64_t(c) * ql), f, -1, -1, ql);
          Val& d = dots[c % 2];
          d = d < 0 ? b_.alu(KILN_IR_MUL, f, qv, s.keys[c])
                    : b_.alu(KILN_IR_MULADD, f, qv, s.keys[c], d);
        }
        Val dot = dots[1] < 0 ? dots[0] : b_.alu(KILN_IR_ADD, f, dots[0], dots[1]);
        sc = tree_fold(dot, ql, KILN_IR_ADD);
      }
      const Val log2e_scale = b_.const_float(a.scale * 1.4426950408889634, f);  // log2 units
      sc = b_.alu(KILN_IR_MUL, f, sc, log2e_scale);
      sc = b_.alu(KILN_IR_WHERE, f, seen, sc, ninf);
      Val wmax = sc;
      for (int mask = warp / 2; mask >= 1; mask /= 2)
        wmax = b_.alu(KILN_IR_MAX, f, wmax, b_.shfl_xor(wmax, mask));
      Val m_new = b_.alu(KILN_IR_MAX, f, m, wmax);
      Val none = b_.alu(KILN_IR_CMPEQ, DType::Bool, m_new, ninf);
      Val corr = exp2_or_zero(none, m, m_new);
      Val p = exp2_or_zero(none, sc, m_new);
      b_.assign(l, b_.alu(KILN_IR_MULADD, f, l, corr, p));
      Val slot = b_.add(pbase, b_.mul_const(b_.mod_const(it, 2), warp));
      b_.store(probs, b_.add(slot, my_key), p);
      b_.warp_barrier();
      // four partial sums over the warp's 32 value rows
      Val parts[4] = {b_.alu(KILN_IR_MUL, f, o, b_.broadcast(corr, dli)), -1, -1, -1};
      for (int t0 = 0; t0 < warp; t0 += pl) {
        Val pv = b_.load(probs, b_.add_const(slot, t0), f, -1, -1, pl);
        for (int x = 0; x < pl; ++x) {
          const int t = t0 + x;
          Val term = b_.broadcast(pl > 1 ? b_.gep(pv, x) : pv, dli);
          Val& part = parts[t % 4];
          part = part < 0 ? b_.alu(KILN_IR_MUL, f, s.values[size_t(t)], term)
                          : b_.alu(KILN_IR_MULADD, f, s.values[size_t(t)], term, part);
        }
      }
      Val o_new = parts[0];
      for (int x = 1; x < 4; ++x)
        if (parts[x] >= 0) o_new = b_.alu(KILN_IR_ADD, f, o_new, parts[x]);
      b_.assign(o, o_new);
      b_.assign(m, m_new);
    };
    // an early step 0 runs even when no key is allowed: its key rows are clamped into the buffer,
    // its value loads gated off, its scores -inf, and (m, l, o) stay empty
    Val n = b_.alu(KILN_IR_SUB, idx_t_, hi, lo);
    if (early) step(b_.const_int(0, idx_t_), lo, firsts[0]);
    for (int e = 1; e < E; ++e) {  // a later early step runs only when it has a key
      Val has = b_.if_(b_.lt(b_.const_int(int64_t(e) * T, idx_t_), n));
      step(b_.const_int(e, idx_t_), b_.add_const(lo, int64_t(e) * T), firsts[size_t(e)]);
      b_.end_if(has);
    }
    Val it = b_.range(b_.const_int(E, idx_t_), b_.idiv_const(b_.add_const(n, T - 1), T),
                      KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    Val base = b_.add(lo, b_.mul_const(it, T));
    step(it, base, load_step(base));
    memo_.pop_back();
    b_.end_range(it);
    for (int mask = warp / 2; mask >= 1; mask /= 2)
      b_.assign(l, b_.alu(KILN_IR_ADD, f, l, b_.shfl_xor(l, mask)));
    Val first_warp = -1;
    if (W > 1) {
      // warps' (m, l) and rows through shared memory (rows apart, so each lane's columns stay
      // aligned for vector access); warp 0 merges and writes
      Val ml = b_.local(f, 2 * int64_t(W)), rows = b_.local(f, W * Dv);
      Val lead = b_.if_(b_.lt(lane, b_.const_int(1, idx_t_)));
      b_.store(ml, b_.mul_const(wid, 2), m);
      b_.store(ml, b_.add_const(b_.mul_const(wid, 2), 1), l);
      b_.end_if(lead);
      b_.store(rows, b_.add(b_.mul_const(wid, Dv), col), o);
      b_.barrier();
      first_warp = b_.if_(b_.lt(wid, b_.const_int(1, idx_t_)));
      std::vector<Val> ms;
      Val m_all = ninf;
      for (int w = 0; w < W; ++w) {
        ms.push_back(b_.load(ml, b_.const_int(2 * w, idx_t_), f));
        m_all = b_.alu(KILN_IR_MAX, f, m_all, ms.back());
      }
      Val empty = b_.alu(KILN_IR_CMPEQ, DType::Bool, m_all, ninf);
      Val l_sum = zero, o_sum = -1;
      for (int w = 0; w < W; ++w) {
        Val c = exp2_or_zero(empty, ms[size_t(w)], m_all);
        l_sum =
            b_.alu(KILN_IR_MULADD, f, b_.load(ml, b_.const_int(2 * w + 1, idx_t_), f), c, l_sum);
        Val ow = b_.load(rows, b_.add(b_.const_int(w * Dv, idx_t_), col), f, -1, -1, dli);
        Val term = b_.alu(KILN_IR_MUL, f, ow, b_.broadcast(c, dli));
        o_sum = o_sum < 0 ? term : b_.alu(KILN_IR_ADD, f, o_sum, term);
      }
      b_.assign(l, l_sum);
      b_.assign(o, o_sum);
    }
    Val res = b_.alu(KILN_IR_MUL, f, o, b_.broadcast(recip_or_zero(l), dli));
    b_.store(out, b_.add(b_.mul_const(gid, Dv), col), b_.cast(res, root->dtype));
    if (first_warp >= 0) b_.end_if(first_warp);
    k.global_size[0] = static_cast<uint32_t>(groups_);
    has_reduce_ = true;
    finish(k, "attn_" + shape_name(root->shape) + "_lanes");
  }

  // out[gid] = accs / l (0 where no key was seen), then the kernel is finished
  void store_attention_row(LoweredKernel& k, const UOpRef& root, Val out, Val gid, int64_t Dv,
                           int vl, Val l, const std::vector<Val>& accs, int split) {
    const DType f = DType::F32;
    Val inv = recip_or_zero(l);
    Val base = b_.mul_const(gid, Dv);
    // every thread holds the merged row; with several warps only thread 0 writes it
    Val first = split > static_cast<int>(caps_.warp_size)
                    ? b_.if_(b_.lt(b_.cast(b_.special(3, split), idx_t_), b_.const_int(1, idx_t_)))
                    : -1;
    for (size_t c = 0; c < accs.size(); ++c) {
      Val o = b_.alu(KILN_IR_MUL, f, accs[c], inv);
      b_.store(out, b_.add_const(base, static_cast<int64_t>(c) * vl), b_.cast(o, root->dtype));
    }
    if (first >= 0) b_.end_if(first);
    k.global_size[0] = static_cast<uint32_t>(groups_);
    has_reduce_ = true;
    finish(k, "attn_" + shape_name(root->shape));
  }

  // AttentionArgs::write_kv: the group's threads (T of them, this one `tid`) store the new key
  // and value rows of (batch bb, KV head hk, query i) into the cache's memory at the query's
  // position, before any key is read. Groups sharing a KV head store the same values, so none
  // waits on another; a GPU group's BARRIER after this (the caller's) makes the rows visible
  // to all its threads.
  void emit_kv_write(const UOpRef& root, Val bb, Val hk, Val i, Val tid, int T) {
    const Val row = attention_position(root->attention, i);
    for (int part = 0; part < 2; ++part) {
      const UOp* cache = root->src[size_t(1 + part)].get();
      const UOp* value = root->src[size_t(3 + part)].get();
      const UOp* base = view_base(root->src[size_t(1 + part)]).get();
      Val p = param_for(base);
      b_.add_flags(p, KILN_IR_FLAG_WRITTEN);
      const int64_t W = cache->shape[3];
      const int64_t steps = (W + T - 1) / T;
      Val r = steps > 1 ? b_.range(b_.const_int(0, idx_t_), b_.const_int(steps, idx_t_)) : -1;
      Val c = r >= 0 ? b_.add(b_.mul_const(r, T), tid) : tid;
      Val in = W % T == 0 ? -1 : b_.if_(b_.lt(c, b_.const_int(W, idx_t_)));
      memo_.emplace_back();
      Val x = emit(value, Index{value->shape, {bb, hk, i, c}, -1}, -1);
      memo_.pop_back();
      b_.store(p, memory_index(cache, {bb, hk, row, c}), b_.cast(x, base->dtype));
      if (in >= 0) b_.end_if(in);
      if (r >= 0) b_.end_range(r);
    }
  }

  // The element index in its buffer of element `dims` of `t`: realized memory, or a view of it
  // (through the view's shape trackers, as run_assign stores)
  Val memory_index(const UOp* t, std::vector<Val> dims) {
    if (t->op != Op::View || t->realized()) {
      Index idx{t->shape, std::move(dims), -1};
      return flat_of(idx);
    }
    const auto& views = t->st.views();
    Val where = -1;
    for (size_t vi = views.size(); vi-- > 0;) {
      const View& v = views[vi];
      Val flat = view_offset(v);
      for (size_t a = 0; a < v.shape.size(); ++a)
        if (v.strides[a] != 0) flat = b_.add(flat, b_.mul_const(dims[a], v.strides[a]));
      if (vi > 0) dims = unravel(flat, views[vi - 1].shape);
      where = flat;
    }
    return where;
  }

  // The key position of query row i: its q_offset, plus the symbolic offset when there is one.
  Val attention_position(const AttentionArgs& a, Val i) {
    Val pos = b_.add_const(i, a.q_offset);
    if (!a.q_offset_var) return pos;
    const Variable& v = *a.q_offset_var;
    return b_.add(pos, b_.cast(b_.var(var_slot(v), v.min_value(), v.max_value()), idx_t_));
  }

  // Keys [lo, hi) that queries at positions pos .. pos + span - 1 may see: up to the last one
  // when causal (a ring holds the last Lk positions, so that bound alone ends the loop), from
  // the first one's sliding window.
  std::pair<Val, Val> attention_key_range(const AttentionArgs& a, Val pos, int64_t Lk,
                                          int64_t span) {
    Val lo = b_.const_int(0, idx_t_), hi = b_.const_int(Lk, idx_t_);
    if (a.causal)
      hi = a.ring ? b_.add_const(pos, span)
                  : b_.alu(KILN_IR_MIN, idx_t_, hi, b_.add_const(pos, span));
    if (a.window > 0) lo = b_.alu(KILN_IR_MAX, idx_t_, lo, b_.add_const(pos, 1 - a.window));
    return {lo, hi};
  }

  // exp2(x - m), or 0 where `none` (an online softmax's weight or rescale factor; `none` marks
  // no key seen yet, m = -inf, where exp2 would give NaN)
  Val exp2_or_zero(Val none, Val x, Val m) {
    const DType f = DType::F32;
    const Val zero = b_.const_float(0, f);
    const Val e = b_.alu(KILN_IR_EXP2, f, b_.alu(KILN_IR_SUB, f, x, m));
    return b_.alu(KILN_IR_WHERE, f, none, zero, e);
  }

  // 1 / l for an online softmax's sum, 0 where no key was seen (l == 0)
  Val recip_or_zero(Val l) {
    const DType f = DType::F32;
    return b_.alu(KILN_IR_WHERE, f, b_.lt(b_.const_float(0, f), l), b_.alu(KILN_IR_RECIP, f, l),
                  b_.const_float(0, f));
  }

  // Sum of a vector's lanes as a balanced tree (depth log2(lanes), not a serial chain).
  Val tree_fold(Val v, int lanes, kiln_ir_op op) {
    const DType f = DType::F32;
    std::vector<Val> parts;
    for (int x = 0; x < lanes; ++x) parts.push_back(lanes > 1 ? b_.gep(v, x) : v);
    while (parts.size() > 1) {
      std::vector<Val> next;
      for (size_t x = 0; x + 1 < parts.size(); x += 2)
        next.push_back(b_.alu(op, f, parts[x], parts[x + 1]));
      if (parts.size() % 2) next.push_back(parts.back());
      parts = std::move(next);
    }
    return parts[0];
  }

  // CPU attention: one group per (batch, KV head, query) runs the `rep` query heads that share
  // the KV head, so each key and value row is loaded once for all of them (GQA). Keys go in
  // blocks of one vector (16 with AVX-512): a block's scores are one vector per head, so their
  // max, exp2 and sum are vector work and the online-softmax rescale runs once per block, not
  // once per key (the per-key form was bound by serial horizontal sums and scalar exp2). Keys
  // past `hi` in the last block are masked: loads gated off, scores -inf.
  void run_attention_cpu(LoweredKernel& k, const UOpRef& root) {
    const AttentionArgs& a = root->attention;
    const auto [q, kk, v, B, Hq, Lq, D, Hk, Lk, Dv, rep] = attention_dims(root);
    const DType f = DType::F32;
    const int kb = vector_lanes(f);
    const int ql = D % kb == 0 ? kb : 1, vl = Dv % kb == 0 ? kb : 1;
    Val out = b_.param(0, root->dtype, KILN_IR_FLAG_WRITTEN);
    check_grid(B * Hk * Lq, root);
    groups_ = B * Hk * Lq;
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    std::vector<Val> bki = unravel(gid, {B, Hk, Lq});
    Val bb = bki[0], hk = bki[1], i = bki[2];
    // a group per KV head: its own rows, written by no other group
    if (a.write_kv) emit_kv_write(root, bb, hk, i, b_.const_int(0, idx_t_), 1);
    auto at = [&](const UOp* t, Val head, Val row, int64_t col, int ln, Val gate) {
      Index idx{t->shape, {bb, head, row, b_.const_int(col, idx_t_)}, -1};
      if (ln > 1) {
        idx.lanes = ln;
        idx.lane_axis = 3;
        idx.aligned = true;
      }
      return b_.cast(emit(t, idx, gate), f);
    };
    std::vector<Val> heads;
    std::vector<std::vector<Val>> qv(rep);
    for (int64_t t = 0; t < rep; ++t) {
      heads.push_back(b_.add_const(b_.mul_const(hk, rep), t));
      for (int64_t c = 0; c < D; c += ql) qv[t].push_back(at(q, heads[t], i, c, ql, -1));
    }
    auto [lo, hi] = attention_key_range(a, attention_position(a, i), Lk, 1);
    const Val ninf = b_.const_float(-INFINITY, f);
    std::vector<Val> m, l;
    std::vector<std::vector<Val>> accs(rep);
    for (int64_t t = 0; t < rep; ++t) {
      m.push_back(b_.acc(ninf));
      l.push_back(b_.acc(b_.const_float(0, f)));
      for (int64_t c = 0; c < Dv; c += vl)
        accs[t].push_back(b_.acc(b_.broadcast(b_.const_float(0, f), vl)));
    }
    Val n = b_.alu(KILN_IR_SUB, idx_t_, hi, lo);
    Val outer = b_.range(b_.const_int(0, idx_t_), b_.idiv_const(b_.add_const(n, kb - 1), kb),
                         KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    Val first = b_.add(lo, b_.mul_const(outer, kb));
    const Val scale = b_.const_float(a.scale * 1.4426950408889634, f);  // log2 units
    std::vector<Val> rows, valid;
    std::vector<std::vector<Val>> scores(rep);
    for (int j = 0; j < kb; ++j) {
      Val r = b_.add_const(first, j);
      Val ok = j == 0 ? -1 : b_.lt(r, hi);  // the block's first key is always in range
      Val row = a.ring ? b_.mod_const(r, Lk) : r;
      std::vector<Val> krow;  // loaded once, used by every head
      for (int64_t c = 0; c < D; c += ql) krow.push_back(at(kk, hk, row, c, ql, ok));
      for (int64_t t = 0; t < rep; ++t) {
        Val dot = -1;
        for (size_t c = 0; c < krow.size(); ++c) {
          Val prod = b_.alu(KILN_IR_MUL, f, qv[t][c], krow[c]);
          dot = dot < 0 ? prod : b_.alu(KILN_IR_ADD, f, dot, prod);
        }
        Val sc = b_.alu(KILN_IR_MUL, f, tree_fold(dot, ql, KILN_IR_ADD), scale);
        scores[t].push_back(ok >= 0 ? b_.alu(KILN_IR_WHERE, f, ok, sc, ninf) : sc);
      }
      rows.push_back(row);
      valid.push_back(ok);
    }
    std::vector<Val> p(rep), corr(rep);
    for (int64_t t = 0; t < rep; ++t) {
      Val sv = b_.vectorize(scores[t]);
      Val m_new = b_.alu(KILN_IR_MAX, f, m[t], tree_fold(sv, kb, KILN_IR_MAX));
      corr[t] = b_.alu(KILN_IR_EXP2, f, b_.alu(KILN_IR_SUB, f, m[t], m_new));
      p[t] = b_.alu(KILN_IR_EXP2, f, b_.alu(KILN_IR_SUB, f, sv, b_.broadcast(m_new, kb)));
      b_.assign(l[t], b_.alu(KILN_IR_MULADD, f, l[t], corr[t], tree_fold(p[t], kb, KILN_IR_ADD)));
      b_.assign(m[t], m_new);
    }
    for (int64_t c = 0; c < Dv; c += vl) {
      std::vector<Val> sum(rep);
      for (int64_t t = 0; t < rep; ++t)
        sum[t] = b_.alu(KILN_IR_MUL, f, accs[t][c / vl], b_.broadcast(corr[t], vl));
      for (int j = 0; j < kb; ++j) {
        Val vv = at(v, hk, rows[j], c, vl, valid[j]);
        for (int64_t t = 0; t < rep; ++t)
          sum[t] = b_.alu(KILN_IR_MULADD, f, b_.broadcast(b_.gep(p[t], j), vl), vv, sum[t]);
      }
      for (int64_t t = 0; t < rep; ++t) b_.assign(accs[t][c / vl], sum[t]);
    }
    memo_.pop_back();
    b_.end_range(outer);
    // out (B, Hq, Lq, Dv): each head's row
    for (int64_t t = 0; t < rep; ++t) {
      Val inv = recip_or_zero(l[t]);
      Val base =
          b_.mul_const(b_.add(b_.mul_const(b_.add(b_.mul_const(bb, Hq), heads[t]), Lq), i), Dv);
      for (size_t c = 0; c < accs[t].size(); ++c)
        b_.store(out, b_.add_const(base, int64_t(c) * vl),
                 b_.cast(b_.alu(KILN_IR_MUL, f, accs[t][c], b_.broadcast(inv, vl)), root->dtype));
    }
    k.global_size[0] = static_cast<uint32_t>(groups_);
    has_reduce_ = true;
    finish(k, "attn_" + shape_name(root->shape));
  }

  LoweredKernel run(const UOpRef& root) {
    if (root->op == Op::Attention) return run_attention(root);
    root_ = root;
    idx_t_ = needs_i64(root) ? DType::I64 : DType::I32;
    LoweredKernel k;
    k.params.push_back(root);
    params_ = &k.params;
    vars_ = &k.vars;
    Val out = b_.param(0, root->dtype, KILN_IR_FLAG_WRITTEN);
    int64_t total = root->numel();
    int lanes = output_lanes(root);
    int rows = lanes > 1 ? output_rows(root) : 1;
    if (opts_.lanes > 0 && valid_lanes(root, opts_.lanes)) lanes = opts_.lanes;
    if (opts_.rows > 0) rows = valid_rows(root, opts_.rows) ? opts_.rows : 1;
    if (lanes == 1 && opts_.rows < 0) rows = 1;
    const UOp* r = fragment_reduce(root.get());
    if (r && is_row_kernel(root.get(), r)) {
      emit_row_kernel(k, root, out, r);
      return k;
    }
    if (r && caps_.warp_size > 1) streamed_ = streamed_matrix(r);
    if (r && caps_.warp_size > 1 && caps_.max_local_size[0] >= caps_.warp_size) {
      const std::vector<const UOp*> nested = nested_in(r);
      // (KILN_GPU_STAGE_BYTES, to measure: another budget for the staged vector, e.g. 45056 for
      // a down projection's 8192 f32 on an H100, whose 48 KiB leave 12 KiB to the rest)
      static const int stage_bytes = env::integer("KILN_GPU_STAGE_BYTES", 0);
      const uint64_t budget = stage_bytes > 0 ? std::min<uint64_t>(uint64_t(stage_bytes),
                                                                   caps_.local_memory_bytes - 1024)
                                              : caps_.local_memory_bytes / 2;
      const UOp* vector = stageable_vector(r, budget);
      // A GEMV of a plain vector over at most 2048 elements (a decode step's o projection and
      // lm_head) in GEMV blocks of a row a warp, the vector staged in shared memory: on an H100
      // o took 4.16 us a layer instead of 4.6 and lm_head 166.2 instead of 168.0 (longer rows,
      // the down projection's 8192, took 16.0 instead of 12.0: they keep a row a group, its
      // reduce split across the group's warps). KILN_GPU_GEMV_PLAIN: 0 never, 1 every such
      // GEMV unstaged, 2 every one staged where it fits (docs/benchmarks.md, session 15)
      static const int plain_env = env::integer("KILN_GPU_GEMV_PLAIN", -1);
      const int plain = plain_env >= 0 ? plain_env : (r->src[0]->shape.back() <= 2048 ? 2 : 0);
      if (!vector && plain >= 2 && streamed_) vector = gemv_vector(r, budget);
      if (!nested.empty() || vector || (plain >= 1 && streamed_)) {
        emit_gemv_block(k, root, out, r, nested, vector);
        return k;
      }
    }
    if (opts_.lanes < 0 && opts_.rows < 0)
      if (auto plan = mma_plan(root)) {
        idx_t_ = needs_i64(root, &plan->reduce->src[0]->shape) ? DType::I64 : DType::I32;
        emit_mma_tiled(k, root, out, *plan);
        return k;
      }
    if (lanes == 1 && opts_.lanes < 0 && opts_.rows < 0 && opts_.red_lanes < 0)
      if (auto plan = outer_plan(root)) {
        emit_outer(k, root, out, *plan);
        return k;
      }
    if (lanes == 1 && opts_.lanes <= 1) {
      auto [tr, tc] = dot_tile(root);
      if (tr * tc > 1) {
        emit_dot_tiled(root, out, tr, tc);
        k.global_size[0] = static_cast<uint32_t>(total / (tr * tc));
        finish(k, "r_" + shape_name(root->shape) + "_d" + std::to_string(tr) + "x" +
                      std::to_string(tc));
        return k;
      }
    }
    if (lanes == 1 && rows == 1 && opts_.rows < 0 && opts_.lanes < 0) {
      rows = gpu_tile_rows(root);
      if (rows > 1) {
        int cols = gpu_tile_cols();
        while (cols > 1 && root->shape.back() % cols != 0) cols /= 2;
        emit_tiled_scalar(root, out, rows, cols);
        k.global_size[0] = static_cast<uint32_t>(total / (rows * cols));
        finish(k, "r_" + shape_name(root->shape) + "_s" + std::to_string(rows) + "x" +
                      std::to_string(cols));
        return k;
      }
    }
    if (rows > 1) {
      if (opts_.lanes < 0 && lanes > 1 && lanes * 2 <= 16 && root->shape.back() % (lanes * 2) == 0)
        lanes *= 2;
      emit_tiled(root, out, rows, lanes);
      k.global_size[0] = static_cast<uint32_t>(total / (rows * lanes));
      finish(k, "r_" + shape_name(root->shape) + "_t" + std::to_string(rows) + "x" +
                    std::to_string(lanes));
      return k;
    }
    check_grid(total / lanes, root);
    groups_ = total / lanes;
    Val gid = b_.cast(b_.special(0, total / lanes), idx_t_);
    Val base = b_.mul_const(gid, lanes);
    Index idx{root->shape, {}, base};
    if (lanes > 1) {
      idx.lanes = lanes;
      idx.lane_flat = 1;
      idx.aligned = true;
      idx.dims = unravel(base, root->shape);
      idx.lane_axis = static_cast<int>(root->shape.size()) - 1;
    }
    Val v = emit(root.get(), idx, -1, true);
    v = b_.cast(v, root->dtype);
    if (lanes > 1 && b_.vcount_of(v) == 1) v = b_.broadcast(v, lanes);
    b_.store(out, base, v);
    k.global_size[0] = static_cast<uint32_t>(total / lanes);
    finish(k, (has_reduce_ ? "r_" : "E_") + shape_name(root->shape));
    return k;
  }

 private:
  const kiln_device_caps& caps_;
  KernelOpts opts_;
  IrBuilder b_;
  UOpRef root_;
  DType idx_t_ = DType::I32;
  std::vector<UOpRef>* params_ = nullptr;
  std::vector<Variable>* vars_ = nullptr;
  std::map<const UOp*, Val> param_vals_;
  using MemoKey = std::tuple<const UOp*, std::vector<Val>, Val, int, int, int64_t>;
  std::vector<std::map<MemoKey, Val>> memo_{1};
  bool has_reduce_ = false;
  int warp_split_ = 1;     // threads per group when a reduce loop is split across a warp
  bool dot_tile_ = false;  // the kernel's outputs are dot tiles: reduces vectorize their loop
  int64_t groups_ = 0;     // groups of the kernel being lowered
  const UOp* row_reduce_ = nullptr;          // a row kernel's reduce, computed once per row ...
  Val row_value_ = -1;                       // ... into this value
  std::map<const UOp*, Val> nested_values_;  // nested single-value reduces, computed first
  int reduce_split_ = 0;           // > 0: reduces split across this many threads of the group ...
  Val reduce_tid_ = -1;            // ... this one being the thread's place among them
  const UOp* streamed_ = nullptr;  // a GPU GEMV's matrix: its loads are flagged STREAM
  // values standing for nodes at the one index being emitted (emit_gemv_halves)
  std::map<const UOp*, Val> substitutes_;
  const UOp* staged_vector_ = nullptr;  // a GEMV's vector operand, computed once per group ...
  Val staged_local_ = -1;               // ... into this shared array (stage_vector)
  bool row_single_ = false;             // a row kernel on one thread per row: no warp split

  // GPUs (warp_size > 1): a reduce loop over a long innermost axis is split across the lanes of
  // one warp per group (lane l takes steps l, l+32, ...) and the partial results are combined
  // with SHFL_XOR. Chosen where the lanes' loads are coalesced along the reduce axis (more
  // loads contiguous along it than along the output's axis: GEMV, norms, softmax rows) or where
  // one thread per group would leave the GPU mostly idle; a GEMM with many output tiles keeps
  // one thread per tile. Devices with warp_size 1 never take this path: their kernels are
  // unchanged.
  int warp_split(const UOp* u, const UOp* src, int axis, int red_lanes, bool one_row) const {
    const int w = static_cast<int>(caps_.warp_size);
    if (w <= 1 || row_single_ || caps_.max_local_size[0] < static_cast<uint32_t>(w)) return 1;
    const int64_t steps = src->shape[axis] / red_lanes;
    if (reduce_split_ > 0)  // a part of the group per reduce (emit_gemv_block)
      return steps % reduce_split_ == 0 && steps >= reduce_split_ ? reduce_split_ : 1;
    if (warp_split_ > 1)  // the kernel's group size is chosen: other reduces use it or run whole
      return steps % warp_split_ == 0 && steps >= warp_split_ ? warp_split_ : 1;
    if (steps % w != 0 || steps < 2 * w) return 1;
    int out_axis = -1;
    for (int a = static_cast<int>(src->shape.size()) - 1; a >= 0; --a)
      if (std::find(u->axes.begin(), u->axes.end(), a) == u->axes.end() && src->shape[a] > 1) {
        out_axis = a;
        break;
      }
    const bool coalesced =
        out_axis < 0 || unit_stride_loads(src, axis) > unit_stride_loads(src, out_axis);
    const bool few_groups = groups_ < int64_t(caps_.compute_units) * 128;
    if (!coalesced && !few_groups) return 1;
    // A group computing one output row (GEMV-like, possibly a few lanes wide) takes up to 8
    // warps while each thread keeps at least gpu_row_elems() elements (64: with 16-byte loads
    // and 4 interleaved steps per iteration, a 2048-long bf16 row is one warp, packed four to a
    // block, an 8192-long one four warps). With scalar loads (before ALIGNED) 8 warps of 8
    // elements had paid most on an H100 (decode 160 -> 252 tok/s); with vector loads and
    // unrolling the sweep in docs/benchmarks.md put 32 ahead, and once attention, argmax and
    // the host stopped hiding it, 64 measured 3% ahead of 32 in two device sessions. Register
    // tiles of several rows (prefill GEMMs) keep one warp: 8 warps per tile cost prefill a third.
    // A kernel of one group (a greedy pick's last stage over 512 row keys) has nothing else to
    // hide its loads behind: its threads keep one vector each (KILN_GPU_ONE_GROUP_SPLIT=0: the
    // rule above).
    const int64_t min_elems =
        groups_ == 1 && gpu_one_group_split() ? int64_t(red_lanes) : int64_t(gpu_row_elems());
    int t = w;
    if (one_row) {
      const int max_t = static_cast<int>(std::min<uint32_t>(caps_.max_local_size[0], 256));
      while (t * 2 <= max_t && steps % (t * 2) == 0 && steps * red_lanes >= min_elems * 2 * t)
        t *= 2;
    }
    return t;
  }

  // GPU tuning knobs (KILN_GPU_UNROLL, KILN_GPU_ROW_ELEMS): read once; the defaults are the
  // figures measured best on an H100 (docs/benchmarks.md).
  static int gpu_unroll() {
    static const int v = std::clamp(env::integer("KILN_GPU_UNROLL", 4), 1, 8);
    return v;
  }
  // tensor-core GEMMs staged through shared memory (default 1; 2: the widest blocks that fit,
  // not narrowed to fill the SMs, for tests on small shapes; 0: one-warp tiles only). With
  // blocks of 2 x 2 warps and three cp.async stages an H100 prefill measured 77.8k tok/s
  // against 62.1k with one-warp tiles (docs/benchmarks.md, session 11).
  static int gpu_mma_staged() {
    static const int v = std::clamp(env::integer("KILN_MMA_STAGED", 1), 0, 2);
    return v;
  }
  // shared-memory stages of a staged tile whose copies are asynchronous (KILN_MMA_STAGES; the
  // copies of stages - 1 steps are in flight while a step's MMAs run); KILN_MMA_ASYNC=0 copies
  // through registers into two stages instead
  static int gpu_mma_stages() {
    static const int v = std::clamp(env::integer("KILN_MMA_STAGES", 3), 2, 8);
    return v;
  }
  static bool gpu_mma_async() {
    static const bool v = env::integer("KILN_MMA_ASYNC", 1) != 0;
    return v;
  }
  // warps per SM a tensor-core GEMM's tiles should reach (KILN_MMA_WARPS)
  static int gpu_mma_warps() {
    static const int v = std::clamp(env::integer("KILN_MMA_WARPS", 16), 1, 64);
    return v;
  }
  // decode attention's key rows read by several lanes each (KILN_GPU_ATTN_COALESCED=0: off)
  static bool gpu_attn_coalesced() {
    static const bool v = env::integer("KILN_GPU_ATTN_COALESCED", 1) != 0;
    return v;
  }
  // decode attention steps whose loads are held before q is computed (KILN_GPU_ATTN_EARLY)
  static int gpu_attn_early() {
    static const int v = std::clamp(env::integer("KILN_GPU_ATTN_EARLY", 1), 0, 4);
    return v;
  }
  // most warps per decode attention group (KILN_GPU_ATTN_WARPS): 16 read a 512-key step
  // (8: 256-key steps, each ~3.4 us at positions 257-384 on an H100; 16 took 7.6 us a layer
  // there against 9.3, +1.0% decode over 128-384, session 16)
  static int gpu_attn_warps() {
    static const int v = std::clamp(env::integer("KILN_GPU_ATTN_WARPS", 16), 1, 32);
    return v;
  }
  // rows x cols of a GPU scalar tile (KILN_GPU_TILE_ROWS, KILN_GPU_TILE_COLS)
  static int gpu_tile_rows_max() {
    static const int v = std::clamp(env::integer("KILN_GPU_TILE_ROWS", 4), 1, 16);
    return v;
  }
  static int gpu_tile_cols() {
    static const int v = std::clamp(env::integer("KILN_GPU_TILE_COLS", 16), 1, 16);
    return v;
  }
  // a kernel of one group keeps one vector a thread (KILN_GPU_ONE_GROUP_SPLIT=0: off)
  static bool gpu_one_group_split() {
    static const bool v = env::integer("KILN_GPU_ONE_GROUP_SPLIT", 1) != 0;
    return v;
  }
  // elements of a one-row reduce each thread keeps at least (more: fewer threads per row)
  static int gpu_row_elems() {
    static const int v = std::clamp(env::integer("KILN_GPU_ROW_ELEMS", 64), 1, 1 << 16);
    return v;
  }

  // Threads per attention group: one warp, doubled (up to 8 warps, within the device's group
  // limit) while the whole grid still fits in one wave of resident threads (2048 per SM).
  int attention_split(int64_t groups, int max_warps = 8) const {
    const int w = static_cast<int>(caps_.warp_size);
    if (w <= 1 || caps_.max_local_size[0] < static_cast<uint32_t>(w)) return 1;
    const int max_t = static_cast<int>(
        std::min<uint32_t>(caps_.max_local_size[0], std::min(max_warps, gpu_attn_warps()) * w));
    const int64_t resident = int64_t(std::max<uint32_t>(caps_.compute_units, 1)) * 2048;
    int t = w;
    while (t * 2 <= max_t && groups * t * 2 <= resident) t *= 2;
    return t;
  }

  // Online-softmax states (max m, sum l, output accs) of the warps of a group, merged through
  // shared memory: each warp's lane 0 state (all lanes agree after the butterfly) is written,
  // then every thread folds the warps in order, so all threads end with the same row.
  void merge_warps(int split, Val m, Val l, const std::vector<Val>& accs, int vl) {
    const DType f = DType::F32;
    const int warps = split / static_cast<int>(caps_.warp_size);
    const int64_t row = 2 + int64_t(accs.size()) * vl;  // m, l, then the output row
    Val shared = b_.local(f, warps * row);
    Val tid = b_.cast(b_.special(3, split), idx_t_);
    Val wbase = b_.mul_const(b_.idiv_const(tid, caps_.warp_size), row);
    b_.store(shared, wbase, m);
    b_.store(shared, b_.add_const(wbase, 1), l);
    for (size_t c = 0; c < accs.size(); ++c)
      b_.store(shared, b_.add_const(wbase, 2 + int64_t(c) * vl), accs[c]);
    b_.barrier();
    const Val ninf = b_.const_float(-INFINITY, f), zero = b_.const_float(0, f);
    std::vector<Val> ms;
    Val m_all = ninf;
    for (int w = 0; w < warps; ++w) {
      ms.push_back(b_.load(shared, b_.const_int(w * row, idx_t_), f));
      m_all = b_.alu(KILN_IR_MAX, f, m_all, ms.back());
    }
    Val none = b_.alu(KILN_IR_CMPEQ, DType::Bool, m_all, ninf);
    Val l_sum = zero;
    std::vector<Val> o_sum(accs.size(), -1);
    for (int w = 0; w < warps; ++w) {
      Val c = exp2_or_zero(none, ms[w], m_all);
      Val lw = b_.load(shared, b_.const_int(w * row + 1, idx_t_), f);
      l_sum = b_.alu(KILN_IR_MULADD, f, lw, c, l_sum);
      for (size_t k = 0; k < accs.size(); ++k) {
        Val ow =
            b_.load(shared, b_.const_int(w * row + 2 + int64_t(k) * vl, idx_t_), f, -1, -1, vl);
        Val term = b_.alu(KILN_IR_MUL, f, ow, c);
        o_sum[k] = o_sum[k] < 0 ? term : b_.alu(KILN_IR_ADD, f, o_sum[k], term);
      }
    }
    b_.assign(m, m_all);
    b_.assign(l, l_sum);
    for (size_t k = 0; k < accs.size(); ++k) b_.assign(accs[k], o_sum[k]);
  }

  void check_grid(int64_t groups, const UOpRef& node) {
    if (groups > std::numeric_limits<int32_t>::max())
      throw Error("kernel of " + std::to_string(groups) +
                  " groups exceeds the 2^31 grid limit: " + node->str());
  }

  void finish(LoweredKernel& k, const std::string& name) {
    if (warp_split_ > 1) k.local_size[0] = static_cast<uint32_t>(warp_split_);
    k.insts = b_.insts();
    k.operands = b_.operands();
    k.name = name;
    for (auto& inst : k.insts)
      if (inst.op == KILN_IR_PARAM && inst.arg != 0) inst.flags |= KILN_IR_FLAG_READ;
  }

  // ---- reduces holding single-value reduces (ScheduleOptions::nest_scalar_reduces) ----

  // The unrealized reduces inside reduce r's source (each a single value, nested there by the
  // scheduler).
  static std::vector<const UOp*> nested_in(const UOp* r) {
    std::vector<const UOp*> found;
    walk_fragment(r->src[0].get(), [&](const UOp* u) {
      if (u->op == Op::Reduce && !u->realized()) found.push_back(u);
      return true;
    });
    return found;
  }

  // The output axis of a GEMV: reduce r over the last axis of a product whose other axes are 1
  // but this one's; -1 when r is no such reduce.
  static int gemv_output_axis(const UOp* r) {
    if (r->op != Op::Reduce || r->axes.size() != 1) return -1;
    const UOp* src = r->src[0].get();
    const int n = static_cast<int>(src->shape.size());
    if (src->op != Op::Mul || r->axes[0] != n - 1) return -1;
    int out_axis = -1, others = 0;
    for (int a = 0; a < n - 1; ++a)
      if (src->shape[a] > 1) {
        out_axis = a;
        ++others;
      }
    return others == 1 ? out_axis : -1;
  }

  // A GEMV's vector operand: reduce r over the last axis of a product whose other axes are 1
  // but the output's, the factor that is the same for every output, when its f32 values fit in
  // `budget` bytes. Null when there is none.
  static const UOp* gemv_vector(const UOp* r, uint64_t budget) {
    const UOp* src = r->src[0].get();
    const int out_axis = gemv_output_axis(r);
    if (out_axis < 0 || uint64_t(src->shape.back()) * 4 > budget) return nullptr;
    for (const auto& operand : src->src)
      if (invariant_along(operand.get(), out_axis)) return operand.get();
    return nullptr;
  }

  // gemv_vector where it is worth computing once per group into shared memory: computed (an
  // elementwise expression or a nested value, not a plain load)
  static const UOp* stageable_vector(const UOp* r, uint64_t budget) {
    const UOp* v = gemv_vector(r, budget);
    if (!v) return nullptr;
    bool computed = false;
    walk_fragment(v, [&](const UOp* u) {
      computed |= u->op == Op::Reduce || (is_alu(u->op) && !u->realized());
      return !computed;
    });
    return computed ? v : nullptr;
  }

  // The matrix a GEMV streams: the factor of reduce r's product that varies along the output
  // (through casts and views), when it is a buffer. Each of its elements is read once (a
  // prefill's GEMM, with activation rows, reuses weight tiles from L2 and is no GEMV). Null when
  // there is none.
  static const UOp* streamed_matrix(const UOp* r) {
    const int out_axis = gemv_output_axis(r);
    if (out_axis < 0) return nullptr;
    for (const auto& operand : r->src[0]->src) {
      const UOp* m = operand.get();
      if (invariant_along(m, out_axis)) continue;
      while (!m->realized() && m->op != Op::Buffer && (m->op == Op::Cast || m->op == Op::View))
        m = m->src[0].get();
      return m->realized() || m->op == Op::Buffer ? m : nullptr;
    }
    return nullptr;
  }

  // Computes nested reduce n (after the ones nested in it) with the group's threads; every
  // later use reads the value (emit_uncached).
  void emit_nested(const UOp* n) {
    if (nested_values_.count(n)) return;
    if (n->numel() != 1)
      throw Error("internal: a nested reduce of " + std::to_string(n->numel()) + " values");
    for (const UOp* inner : nested_in(n)) emit_nested(inner);
    Index idx{n->shape, std::vector<Val>(n->shape.size(), b_.const_int(0, idx_t_)), -1};
    nested_values_[n] = emit_reduce(n, idx, -1);
  }

  // A GPU kernel whose reduce r (over its source's last axis) holds nested single values — a
  // decode step's projection of an RMSNorm, the norm's mean square inside — or a computed
  // vector operand: a group of up to 4 warps computes each nested value once with all its
  // threads (split across them, combined through shared memory) and the vector into shared
  // memory (stage_vector), then each warp one output, its reduce split across the warp's lanes
  // as the one-warp GEMV does. (An H100 decode step: 32 norm kernels fewer, the same graph
  // time; silu * up staged under down was slower, docs/benchmarks.md, session 11.)
  // (`nested`: nested_in(r); `vector`: stageable_vector(r), or null)
  void emit_gemv_block(LoweredKernel& k, const UOpRef& root, Val out, const UOp* r,
                       const std::vector<const UOp*>& nested, const UOp* vector) {
    const int64_t total = root->numel();
    const int w = static_cast<int>(caps_.warp_size);
    // outputs (warps) per group, KILN_GPU_GEMV_ROWS: 4 measured a decode graph 34 us faster than
    // 8 on an H100 (gate/up's 4096 groups of 128 threads overlap one another's nested norm
    // better than 2048 of 256); 2 was 180 us slower (docs/benchmarks.md, session 13)
    static const int rows_max = std::clamp(env::integer("KILN_GPU_GEMV_ROWS", 4), 1, 32);
    // root reads r only as the halves of its last axis (ScheduleOptions::fuse_reduce_halves):
    // an output's halves are two warps' reduces, met in shared memory
    const std::vector<const UOp*> halves =
        root.get() == r ? std::vector<const UOp*>{} : reduce_halves(root.get(), r);
    const int parts = halves.empty() ? 1 : static_cast<int>(halves.size());
    int rows = std::max(1, rows_max / parts);
    while (rows > 1 && (total % rows != 0 || uint32_t(w * rows * parts) > caps_.max_local_size[0]))
      rows /= 2;
    const int threads = w * rows * parts;
    check_grid(total / rows, root);
    groups_ = total / rows;
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    warp_split_ = threads;
    for (const UOp* n : nested) emit_nested(n);
    Val tid = b_.cast(b_.special(3, threads), idx_t_);
    if (vector) stage_vector(r, vector, tid, threads);
    Val warp = b_.idiv_const(tid, w);
    reduce_split_ = w;
    reduce_tid_ = b_.mod_const(tid, w);
    if (parts > 1) {
      emit_gemv_halves(root, out, gid, tid, warp, rows, halves);
    } else {
      Val row = b_.add(b_.mul_const(gid, rows), warp);
      Index idx{root->shape, {}, row};
      Val v = b_.cast(emit(root.get(), idx, -1, true), root->dtype);
      b_.store(out, row, v);
    }
    reduce_split_ = 0;
    reduce_tid_ = -1;
    staged_vector_ = nullptr;
    warp_split_ = threads;  // (the warps' reduces set it to their own split)
    k.global_size[0] = static_cast<uint32_t>(groups_);
    finish(k, "r_" + shape_name(root->shape) + "_n" + std::to_string(rows) +
                  (parts > 1 ? "h" + std::to_string(parts) : ""));
  }

  // The views through which root reads reduce r (each of r through casts and reshapes), when
  // root reads r through two or more of them and never otherwise; else none.
  static std::vector<const UOp*> reduce_halves(const UOp* root, const UOp* r) {
    std::vector<const UOp*> views, stack{root};
    std::set<const UOp*> seen;
    while (!stack.empty()) {
      const UOp* u = stack.back();
      stack.pop_back();
      if (!seen.insert(u).second) continue;
      if (u == r) return {};
      if (u->op == Op::View && holds_in_order(u->src[0].get(), r)) {
        views.push_back(u);
        continue;
      }
      if (u != root && u->realized()) continue;
      for (const auto& s : u->src) stack.push_back(s.get());
    }
    return views.size() >= 2 ? views : std::vector<const UOp*>{};
  }

  // A GEMV block's outputs over halves of its reduce: warp p * rows + i reduces half p of
  // output gid * rows + i (lane 0 keeps it in shared memory); after the barrier thread i
  // evaluates output i's expression, the halves read from there.
  // (`warp`: tid's warp; reduce_tid_ its lane)
  void emit_gemv_halves(const UOpRef& root, Val out, Val gid, Val tid, Val warp, int rows,
                        const std::vector<const UOp*>& halves) {
    const int parts = static_cast<int>(halves.size());
    Val lane = reduce_tid_;
    Val part = b_.idiv_const(warp, rows);
    Val orow = b_.add(b_.mul_const(gid, rows), b_.mod_const(warp, rows));
    Val sums = b_.local(DType::F32, int64_t(rows) * parts);
    for (int p = 0; p < parts; ++p) {
      Val in_part = b_.if_(b_.alu(KILN_IR_CMPEQ, DType::Bool, part, b_.const_int(p, idx_t_)));
      memo_.emplace_back();
      Index hidx{root->shape, {}, orow};
      Val hv = b_.cast(emit(halves[size_t(p)], hidx, -1), DType::F32);
      memo_.pop_back();
      Val lead = b_.if_(b_.lt(lane, b_.const_int(1, idx_t_)));
      b_.store(sums, warp, hv);
      b_.end_if(lead);
      b_.end_if(in_part);
    }
    reduce_split_ = 0;
    reduce_tid_ = -1;
    b_.barrier();
    Val first = b_.if_(b_.lt(tid, b_.const_int(rows, idx_t_)));
    Val row = b_.add(b_.mul_const(gid, rows), tid);
    for (int p = 0; p < parts; ++p) {
      const UOp* h = halves[size_t(p)];
      Val s = b_.load(sums, b_.add_const(tid, int64_t(p) * rows), DType::F32);
      substitutes_[h] = b_.cast(s, compute_dtype(h->dtype));
    }
    memo_.emplace_back();
    Index idx{root->shape, {}, row};
    Val v = b_.cast(emit(root.get(), idx, -1, true), root->dtype);
    memo_.pop_back();
    substitutes_.clear();
    b_.store(out, row, v);
    b_.end_if(first);
  }

  // The group's threads compute the vector operand v of reduce r's product once, at every k,
  // into shared memory (f32); the warps' reduces then read it there (emit_uncached).
  void stage_vector(const UOp* r, const UOp* v, Val tid, int threads) {
    const Shape& shape = r->src[0]->shape;
    const int64_t K = shape.back();
    const int last = static_cast<int>(shape.size()) - 1;
    int lanes = 4;
    while (lanes > 1 && K % (int64_t(lanes) * threads) != 0) lanes /= 2;
    const int64_t per_thread = (K + int64_t(lanes) * threads - 1) / (int64_t(lanes) * threads);
    const bool ragged = K % (int64_t(lanes) * threads) != 0;  // the last step's stores guarded
    Val local = b_.local(DType::F32, K);
    auto at = [&](Val step) {
      Val k = b_.mul_const(b_.add(b_.mul_const(step, threads), tid), lanes);
      std::vector<Val> dims(shape.size(), b_.const_int(0, idx_t_));
      dims[last] = k;
      Index idx{shape, dims, -1};
      if (lanes > 1) {
        idx.lanes = lanes;
        idx.lane_axis = last;
        idx.aligned = true;
      }
      Val inside = ragged ? b_.if_(b_.lt(k, b_.const_int(K, idx_t_))) : Val(-1);
      memo_.emplace_back();
      Val x = b_.cast(emit(v, idx, -1), DType::F32);
      if (lanes > 1 && b_.vcount_of(x) == 1) x = b_.broadcast(x, lanes);
      b_.store(local, k, x);
      memo_.pop_back();
      if (ragged) b_.end_if(inside);
    };
    for_steps(per_thread, at);
    b_.barrier();
    staged_vector_ = v;
    staged_local_ = local;
  }

  // v's value at idx from the shared memory stage_vector filled
  Val load_staged(const UOp* v, Index& idx) {
    std::vector<Val> dims;
    int lane_axis = -1;
    if (!dims_for(idx, v->shape, dims, lane_axis) ||
        (idx.lanes > 1 && lane_axis != int(v->shape.size()) - 1))
      throw Error("internal: a staged GEMV vector read across its lanes");
    return b_.load(staged_local_, dims.back(), DType::F32, -1, -1, idx.lanes);
  }

  // body(step) for step in [0, steps): unrolled at constant steps when there are at most 4,
  // else one loop
  template <class F>
  void for_steps(int64_t steps, F&& body) {
    if (steps <= 4) {
      for (int64_t j = 0; j < steps; ++j) body(b_.const_int(j, idx_t_));
      return;
    }
    Val rg = b_.range(b_.const_int(0, idx_t_), b_.const_int(steps, idx_t_));
    memo_.emplace_back();
    body(rg);
    memo_.pop_back();
    b_.end_range(rg);
  }

  // ---- row kernels (is_row_kernel: a norm's reduce and the row it scales) ----

  // One group per row: the row's reduce first (split across the group's threads on GPUs), then
  // the row's outputs, `lanes` at a time per thread, the reduce read from a register.
  void emit_row_kernel(LoweredKernel& k, const UOpRef& root, Val out, const UOp* r) {
    const Shape& s = root->shape;
    const int64_t n = s.back(), rows = root->numel() / n;
    const int w = static_cast<int>(caps_.warp_size);
    int lanes = w > 1 ? std::clamp(int(16 / std::max<size_t>(1, dtype_size(root->dtype))), 1, 8)
                      : vector_lanes(root->dtype);
    while (lanes > 1 && n % lanes != 0) lanes /= 2;
    // GPU: a warp or more per row (up to 256 threads); rows shorter than a warp's worth of
    // vectors run on one thread, as CPUs do
    int threads = 1;
    if (w > 1 && caps_.max_local_size[0] >= static_cast<uint32_t>(w)) {
      while (lanes > 1 && n / lanes < w) lanes /= 2;
      if (n % (int64_t(lanes) * w) == 0) {
        threads = w;
        while (threads * 2 <= 256 && threads * 2 <= int(caps_.max_local_size[0]) &&
               n % (int64_t(lanes) * threads * 2) == 0)
          threads *= 2;
      }
    }
    check_grid(rows, root);
    groups_ = rows;
    warp_split_ = threads;
    row_single_ = threads == 1;
    Shape lead(s.begin(), s.end() - 1);
    Val g = b_.cast(b_.special(0, rows), idx_t_);
    std::vector<Val> row = unravel(g, lead);
    std::vector<Val> rdims = row;
    rdims.push_back(b_.const_int(0, idx_t_));
    Index ridx{r->shape, rdims, -1};
    row_value_ = emit_reduce(r, ridx, -1);
    row_reduce_ = r;
    Val tid = threads > 1 ? b_.cast(b_.special(3, threads), idx_t_) : b_.const_int(0, idx_t_);
    const int64_t steps = n / (int64_t(lanes) * threads);
    auto store_at = [&](Val step) {
      std::vector<Val> dims = row;
      dims.push_back(b_.mul_const(b_.add(b_.mul_const(step, threads), tid), lanes));
      Index idx{s, dims, -1};
      if (lanes > 1) {
        idx.lanes = lanes;
        idx.lane_axis = static_cast<int>(s.size()) - 1;
        idx.aligned = true;
      }
      Val v = b_.cast(emit(root.get(), idx, -1, true), root->dtype);
      if (lanes > 1 && b_.vcount_of(v) == 1) v = b_.broadcast(v, lanes);
      b_.store(out, flat_of(idx), v);
    };
    for_steps(steps, store_at);
    k.global_size[0] = static_cast<uint32_t>(rows);
    finish(k, "r_" + shape_name(s) + "_row");
  }

  static std::string shape_name(const Shape& s) {
    std::string n;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i) n.push_back('_');
      n.append(std::to_string(s[i]));
    }
    return n.empty() ? "1" : n;
  }

  int vector_lanes(DType t) const {
    int bytes = static_cast<int>(std::max<size_t>(4, dtype_size(compute_dtype(t))));
    int pref = static_cast<int>(caps_.preferred_vector_bytes);
    if (pref <= 0) return 1;
    return std::clamp(pref / bytes, 1, 16);
  }

  // Vector lanes of a scalar reduce's loop. GPUs size them by the narrowest buffer the loop
  // reads, not by the f32 compute type, so bf16/f16 weights arrive in 16-byte loads (8 lanes;
  // the renderer moves aligned halves as 32-bit pairs). CPUs keep the compute type's lanes.
  int reduce_lanes(const UOp* src) const {
    int l = vector_lanes(src->dtype);
    if (caps_.warp_size <= 1 || caps_.preferred_vector_bytes <= 0) return l;
    size_t narrow = 8;
    walk_fragment(src, [&](const UOp* u) {
      if ((u->realized() || u->op == Op::Buffer) && u->dtype != DType::Bool)
        narrow = std::min(narrow, dtype_size(u->dtype));
      return true;
    });
    if (narrow != 2) return l;
    return std::clamp(static_cast<int>(caps_.preferred_vector_bytes / narrow), l, 8);
  }

  // ---- memory strides of a fragment's loads (vector and warp-split choices) ----

  // Element offsets that index `dims` of `u` reaches in each buffer the fragment loads from
  // (in visiting order), following views numerically (masks and variables ignored).
  static void leaf_offsets(const UOp* u, const std::vector<int64_t>& dims,
                           std::vector<int64_t>& out, int depth = 0) {
    if (depth > 64) return;
    if (u->realized() || u->op == Op::Buffer) {
      auto st = contiguous_strides(u->shape);
      int64_t off = 0;
      for (size_t a = 0; a < dims.size() && a < st.size(); ++a) off += dims[a] * st[a];
      out.push_back(off);
      return;
    }
    if (u->op == Op::View) {
      const auto& views = u->st.views();
      std::vector<int64_t> d = dims;
      int64_t flat = 0;
      for (size_t vi = views.size(); vi-- > 0;) {
        const View& v = views[vi];
        flat = v.offset;
        for (size_t a = 0; a < v.shape.size() && a < d.size(); ++a) flat += d[a] * v.strides[a];
        const Shape& next = vi > 0 ? views[vi - 1].shape : u->src[0]->shape;
        d.assign(next.size(), 0);
        int64_t rest = flat;
        for (size_t a = next.size(); a-- > 0;) {
          if (next[a] > 0) {
            d[a] = ((rest % next[a]) + next[a]) % next[a];
            rest = (rest - d[a]) / next[a];
          }
        }
      }
      leaf_offsets(u->src[0].get(), d, out, depth + 1);
      return;
    }
    if (is_alu(u->op) || u->op == Op::Cast || u->op == Op::Bitcast)
      for (const auto& s : u->src)
        if (s->shape == u->shape) leaf_offsets(s.get(), dims, out, depth + 1);
  }

  // How many of the loads under `frag` step by one element when index `axis` of frag's shape
  // steps by one.
  static int unit_stride_loads(const UOp* frag, int axis) {
    std::vector<int64_t> zero(frag->shape.size(), 0), one = zero, base, step;
    one[axis] = 1;
    leaf_offsets(frag, zero, base);
    leaf_offsets(frag, one, step);
    int count = 0;
    for (size_t i = 0; i < base.size() && i < step.size(); ++i) count += step[i] - base[i] == 1;
    return count;
  }

  // ---- choosing vector lanes ----

  const UOp* find_reduce(const UOp* root) const { return fragment_reduce(root); }

  int output_lanes(const UOpRef& root) {
    if (root->shape.empty()) return 1;
    int lanes = vector_lanes(root->dtype);
    int64_t last = root->shape.back();
    if (lanes <= 1 || last % lanes != 0) return 1;
    if (const UOp* r = find_reduce(root.get())) {
      const UOp* src = r->src[0].get();
      int out_axis = -1;
      for (int a = static_cast<int>(src->shape.size()) - 1; a >= 0; --a)
        if (std::find(r->axes.begin(), r->axes.end(), a) == r->axes.end() && src->shape[a] > 1) {
          out_axis = a;
          break;
        }
      if (out_axis < 0) return 1;
      // lanes walk the root's last axis and, in the reduce's output, its innermost axis
      if (src->shape[out_axis] % lanes != 0) return 1;
      int red_axis = r->axes.back();
      if (src->shape[red_axis] % vector_lanes(src->dtype) == 0 &&
          unit_stride_loads(src, red_axis) > unit_stride_loads(src, out_axis))
        return 1;  // the reduce loop vectorizes better
    }
    return lanes;
  }

  // GPUs: a matmul whose loads run along the reduce axis (x @ W^T, the prefill projections)
  // takes a tile of rows x cols outputs per one-warp group (default 4 x 16, KILN_GPU_TILE_ROWS /
  // _COLS; the best of the shapes swept on an H100, docs/benchmarks.md), each a scalar whose
  // reduce loop is vectorized along that axis and split across the warp: the rows share every
  // load of W (read M/rows times instead of M times), the columns every load of x and any
  // elementwise work fused into it (the MLP's silu(gate) * up before the down projection).
  int gpu_tile_rows(const UOpRef& root) const {
    if (!gpu_coalesced_matmul(root)) return 1;
    const Shape& s = root->shape;
    const int64_t m = s[s.size() - 2];
    for (int rows = gpu_tile_rows_max(); rows >= 2; rows /= 2)
      if (m % rows == 0 && m >= rows) return rows;
    return 1;
  }

  // A matmul-like kernel on a GPU whose loads run along its reduce axis, with at least 8
  // columns (last axis) to give the groups: a (1, N, 1)-shaped decode GEMV is not one.
  bool gpu_coalesced_matmul(const UOpRef& root) const {
    const Shape& s = root->shape;
    if (caps_.warp_size <= 1 || s.size() < 2 || s.back() < 8) return false;
    const UOp* r = find_reduce(root.get());
    if (!r) return false;
    const UOp* src = r->src[0].get();
    const int red_axis = r->axes.back();
    int out_axis = -1;
    for (int a = static_cast<int>(src->shape.size()) - 1; a >= 0; --a)
      if (std::find(r->axes.begin(), r->axes.end(), a) == r->axes.end() && src->shape[a] > 1) {
        out_axis = a;
        break;
      }
    if (out_axis < 0 || unit_stride_loads(src, red_axis) <= unit_stride_loads(src, out_axis))
      return false;
    return src->shape[red_axis] % (int64_t(caps_.warp_size) * 8) == 0;
  }

  // Output rows computed together (a register tile sharing one reduce loop) for matmul-like
  // kernels: a reduce whose source broadcasts some operand along the rows.
  bool valid_lanes(const UOpRef& root, int lanes) const {
    return lanes == 1 || (!root->shape.empty() && lanes <= 16 && root->shape.back() % lanes == 0);
  }
  bool valid_rows(const UOpRef& root, int rows) const {
    const Shape& s = root->shape;
    return rows == 1 || (s.size() >= 2 && find_reduce(root.get()) && s[s.size() - 2] % rows == 0);
  }

  int output_rows(const UOpRef& root) {
    const Shape& s = root->shape;
    if (s.size() < 2 || !find_reduce(root.get())) return 1;
    int64_t m = s[s.size() - 2];
    const int rows = dot4_rows_share_vectors(root) ? 8 : 4;
    return (m % rows == 0 && m >= rows) ? rows : 1;
  }

  // An int8 dot tile (DOT4 in the reduce) whose packed-weight vectors are the same for every
  // row (a prefill: rows are activation rows) takes 8 rows, so each vector's nibble decoding
  // serves more of them (1B Q4_0 prefill gate/up 8.1 -> 7.3 ms a 64-row chunk); a GEMV's rows
  // are column groups with weights of their own and keep 4 (8 made its gate/up 814 -> 920 us).
  static bool dot4_rows_share_vectors(const UOpRef& root) {
    if (root->op != Op::Reduce || root->shape.size() < 2) return false;
    const UOp* src = root->src[0].get();
    const UOp* dot = nullptr;
    walk_fragment(src, [&](const UOp* u) {
      if (u->op == Op::Dot4) dot = u;
      return dot == nullptr;
    });
    if (!dot || !plain_operand(dot->src[0].get())) return false;
    return invariant_along(dot->src[0].get(), static_cast<int>(root->shape.size()) - 2);
  }

  // Groups walk the rows fastest (consecutive groups share the columns' data in cache).
  void emit_tiled(const UOpRef& root, Val out, int rows, int lanes) {
    const Shape& s = root->shape;
    size_t n = s.size();
    Shape grid(s.begin(), s.end() - 2);
    grid.push_back(s[n - 1] / lanes);
    grid.push_back(s[n - 2] / rows);
    check_grid(shape_numel(grid), root);
    groups_ = shape_numel(grid);
    Val gid = b_.cast(b_.special(0, shape_numel(grid)), idx_t_);
    std::vector<Val> g = unravel(gid, grid);
    std::vector<Index> idxs;
    for (int r = 0; r < rows; ++r) {
      std::vector<Val> dims(g.begin(), g.end() - 2);
      dims.push_back(b_.add_const(b_.mul_const(g[n - 1], rows), r));
      dims.push_back(b_.mul_const(g[n - 2], lanes));
      Index idx{s, dims, -1};
      idx.lanes = lanes;
      idx.lane_axis = static_cast<int>(n) - 1;
      idx.aligned = true;
      idxs.push_back(idx);
    }
    std::vector<Val> vals = emit_group(root.get(), idxs, -1, true);
    for (int r = 0; r < rows; ++r) {
      Val v = b_.cast(vals[r], root->dtype);
      if (b_.vcount_of(v) == 1) v = b_.broadcast(v, lanes);
      b_.store(out, flat_of(idxs[r]), v);
    }
  }

  // Dot tiles (CPUs): a matmul whose operands both run along the reduce axis (x @ W^T with W
  // stored (out, in), as model weights are) computes rows x cols outputs per group (KILN_DOT_TILE
  // = RxC overrides the choice), each a
  // vector accumulator along the reduce axis: a row's loads are shared by the tile's columns
  // and a column's (a weight row, decoded once when quantized) by its rows, so neither operand
  // is copied into panels first. {1, 1} when the kernel is not such a matmul.
  std::pair<int, int> dot_tile(const UOpRef& root) const {
    const Shape& s = root->shape;
    if (caps_.warp_size > 1 || s.size() < 2) return {1, 1};
    const UOp* r = find_reduce(root.get());
    if (!r) return {1, 1};
    const UOp* src = r->src[0].get();
    const int red_axis = r->axes.back();
    const int l = vector_lanes(src->dtype);
    if (l <= 1 || src->shape[red_axis] % l != 0 || unit_stride_loads(src, red_axis) < 2)
      return {1, 1};
    const int64_t m = s[s.size() - 2], n = s[s.size() - 1];
    static const std::pair<int, int> forced = [] {
      std::pair<int, int> t{0, 0};
      if (const char* e = env::value("KILN_DOT_TILE")) std::sscanf(e, "%dx%d", &t.first, &t.second);
      return t;
    }();
    // The more work decoding an element takes (casts, block-quantization bit ops), the more
    // rows share each decoded column vector (measured on one Zen 3 core, 64 x 16384 x 2048:
    // f16 weights 2x4, Q8_0 4x2, Q4_0 8x2 were fastest). AVX-512's 32 vector registers hold
    // 4x4 accumulators with room for the operands (1B prefill on a Sapphire Rapids, 2 threads:
    // F16 +19%, Q8_0 +13% over the AVX2 shapes; Q4_0 keeps 8x2).
    int ops = 0;
    walk_fragment(src, [&](const UOp* u) {
      if (is_alu(u->op) || u->op == Op::Cast || u->op == Op::Bitcast) ++ops;
      return true;
    });
    const bool regs32 = caps_.preferred_vector_bytes >= 64;
    auto [dr, dc] = ops <= 8 && regs32 ? std::pair{4, 4}
                    : ops <= 3         ? std::pair{2, 4}
                    : ops <= 8         ? std::pair{4, 2}
                                       : std::pair{8, 2};
    // ... unless the tile's rows of x no longer stay in the core's cache while its columns pass:
    // 8 rows of a down projection's 8192 f32 (256 KB) are reread from L3 for every pair of
    // columns. 4x4 halves them (1B Q4_0 prefill on a Sapphire Rapids, 2 threads, a chunk of 64:
    // the down projection 18.9-19.8 -> 14.4-15.4 ms a layer; gate/up and the others, with
    // 2048-long rows, keep 8x2: 4x4 made gate/up 23.5 -> 27.8 ms).
    int64_t red_len = 1;  // every reduced axis (quantized blocks reduce over block and element)
    for (int a : r->axes) red_len *= src->shape[a];
    if (regs32 && dr > 4 && int64_t(dr) * red_len * 4 >= (int64_t(128) << 10)) {
      dr = 4;
      dc = 4;
    }
    // A GEMV (one row: decode) gets a row of columns sharing each x vector; with 32 vector
    // registers that many accumulators still fit (1B decode on a Sapphire Rapids, 2 threads,
    // columns 1 / 4 / 8 / 16: Q4_0 7.3 / 11.5 / 12.9 / 13.5 tok/s, Q8_0 10.7 / 10.9 / 12.1 /
    // 13.8, F16 8.4 / 9.3 / 9.4 / 9.4)
    if (m == 1 && regs32) {
      dr = 1;
      dc = ops <= 3 ? 8 : 16;
      // ... but a decoding as long as Q6_K's (52 ops; Q8_0 5, Q4_0 11, Q4_1 13, Q4_K 15) runs
      // out of registers: untiled, its lm_head GEMV took 18.8 ms against 19.4 / 22.5 / 24.6 /
      // 25.5 ms with 1x2 / 1x4 / 1x8 / 1x16 tiles
      if (ops > 24) dc = 1;
    }
    int tr = forced.first > 0 ? forced.first : dr, tc = forced.second > 0 ? forced.second : dc;
    while (tr > 1 && m % tr != 0) --tr;
    while (tc > 1 && n % tc != 0) --tc;
    if (tr * tc < 4) return {1, 1};
    return {tr, tc};
  }

  // ---- outer-product tiles (CPUs with 32 vector registers) ----
  // x @ W^T with x stored transposed (k, m), as a CPU prefill hands it over: each k step loads
  // mv vectors of 16 rows of x (contiguous) and broadcasts tc weights, and mv x tc vector
  // accumulators take one FMA each. Unlike dot tiles there is no horizontal sum per output,
  // and x is read once per tc columns rather than once per 4. The weights' tc rows are first
  // decoded (f16/bf16 -> f32) into a local array, once per group; the broadcasts read it.
  // (64 x 8192 x 2048 with f16 weights, 2 Sapphire Rapids threads, hand-written C of the same
  // loops: 4 x 6 tiles 264-275 GFLOP/s against 205 for 4 x 4 dot tiles; 64 x 2048 x 8192: 207
  // against 155-163.)
  struct OuterPlan {
    const UOp* a = nullptr;  // varies along rows (m) and k, unit stride along m
    const UOp* b = nullptr;  // varies along columns (n) and k, unit stride along k
    const UOp* reduce = nullptr;
    int m_axis = 0, n_axis = 0, k_axis = 0;
    int64_t m = 0, n = 0, k = 0;
    int mv = 0, tc = 0;
  };

  std::optional<OuterPlan> outer_plan(const UOpRef& root) const {
    static const bool off = env::is_off("KILN_OUTER_TILE");
    if (off || caps_.warp_size > 1 || caps_.preferred_vector_bytes < 64 || root->shape.size() < 2)
      return std::nullopt;
    const UOp* r = find_reduce(root.get());
    if (!r || r->axes.size() != 1 || r->reduce_op != ReduceOp::Sum || !is_float(r->dtype))
      return std::nullopt;
    const UOp* src = r->src[0].get();
    const size_t n = root->shape.size();
    if (src->shape.size() != n + 1 || r->axes[0] != static_cast<int>(n) ||
        r->numel() != root->numel() ||
        !std::equal(root->shape.begin(), root->shape.end(), src->shape.begin()) ||
        !reduce_on_plain_path(root.get(), r) || src->op != Op::Mul)
      return std::nullopt;
    OuterPlan p;
    p.reduce = r;
    p.m_axis = static_cast<int>(n) - 2;
    p.n_axis = static_cast<int>(n) - 1;
    p.k_axis = static_cast<int>(n);
    p.m = src->shape[n - 2];
    p.n = src->shape[n - 1];
    p.k = src->shape[n];
    const int l = vector_lanes(DType::F32);
    if (l != 16 || p.m % l != 0 || p.k % l != 0 || p.n < 2) return std::nullopt;
    for (int mv : {4, 2}) {
      if (p.m % (int64_t(l) * mv) == 0) {
        p.mv = mv;
        break;
      }
    }
    if (p.mv == 0) return std::nullopt;
    p.tc = 24 / p.mv;  // 24 accumulators, mv x-vectors and a broadcast: 29 of 32 registers
    // the stage lives on the worker thread's stack (a 32768-long reduce: 1.5 MB at most)
    if (int64_t(p.tc) * p.k * 4 > (int64_t(2) << 20)) return std::nullopt;
    for (int i = 0; i < 2; ++i) {
      const UOp* a = src->src[i].get();
      const UOp* b = src->src[1 - i].get();
      if (!plain_operand(a) || !plain_operand(b) || !invariant_along(a, p.n_axis) ||
          !invariant_along(b, p.m_axis) || unit_stride_loads(a, p.m_axis) < 1 ||
          unit_stride_loads(b, p.k_axis) < 1)
        continue;
      p.a = a;
      p.b = b;
      return p;
    }
    return std::nullopt;
  }

  void emit_outer(LoweredKernel& k, const UOpRef& root, Val out, const OuterPlan& p) {
    const Shape& s = root->shape;
    const size_t nd = s.size();
    const int l = 16;
    const int64_t col_tiles = (p.n + p.tc - 1) / p.tc;
    Shape grid(s.begin(), s.end() - 2);
    grid.push_back(col_tiles);
    check_grid(shape_numel(grid), root);
    groups_ = shape_numel(grid);
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    std::vector<Val> g = unravel(gid, grid);
    std::vector<Val> batch(g.begin(), g.end() - 1);
    Val col0 = b_.mul_const(g.back(), p.tc);
    // columns past n (the last tile of a width tc does not divide) read the last column and
    // store nothing
    const bool ragged = p.n % p.tc != 0;
    std::vector<Val> cols, col_ok;
    for (int c = 0; c < p.tc; ++c) {
      Val col = b_.add_const(col0, c);
      col_ok.push_back(ragged ? b_.lt(col, b_.const_int(p.n, idx_t_)) : -1);
      cols.push_back(ragged ? b_.alu(KILN_IR_MIN, idx_t_, col, b_.const_int(p.n - 1, idx_t_))
                            : col);
    }
    auto src_dims = [&](Val row, Val col, Val kk) {
      std::vector<Val> d = batch;
      d.push_back(row);
      d.push_back(col);
      d.push_back(kk);
      return d;
    };
    // the stage: tc decoded weight rows of k
    Val stage = b_.local(DType::F32, int64_t(p.tc) * p.k);
    Val kr = b_.range(b_.const_int(0, idx_t_), b_.const_int(p.k / l, idx_t_));
    memo_.emplace_back();
    Val kk = b_.mul_const(kr, l);
    for (int c = 0; c < p.tc; ++c) {
      Index idx{p.b->shape, src_dims(b_.const_int(0, idx_t_), cols[c], kk), -1};
      idx.lanes = l;
      idx.lane_axis = p.k_axis;
      idx.aligned = true;
      Val v = b_.cast(emit(p.b, idx, -1), DType::F32);
      b_.store(stage, b_.add(b_.const_int(int64_t(c) * p.k, idx_t_), kk), v);
    }
    memo_.pop_back();
    b_.end_range(kr);
    // row passes of mv x 16 rows: the k loop, then each accumulator through the epilogue
    Val mr = b_.range(b_.const_int(0, idx_t_), b_.const_int(p.m / (int64_t(l) * p.mv), idx_t_));
    memo_.emplace_back();
    std::vector<Val> rows;
    for (int j = 0; j < p.mv; ++j)
      rows.push_back(b_.add_const(b_.mul_const(mr, int64_t(l) * p.mv), int64_t(j) * l));
    std::vector<Val> accs;
    for (int i = 0; i < p.mv * p.tc; ++i)
      accs.push_back(b_.acc(b_.broadcast(b_.const_float(0, DType::F32), l)));
    Val kl = b_.range(b_.const_int(0, idx_t_), b_.const_int(p.k, idx_t_), KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    std::vector<Val> av;
    for (int j = 0; j < p.mv; ++j) {
      Index idx{p.a->shape, src_dims(rows[j], col0, kl), -1};
      idx.lanes = l;
      idx.lane_axis = p.m_axis;
      av.push_back(b_.cast(emit(p.a, idx, -1), DType::F32));
    }
    for (int c = 0; c < p.tc; ++c) {
      Val w = b_.broadcast(
          b_.load(stage, b_.add(b_.const_int(int64_t(c) * p.k, idx_t_), kl), DType::F32), l);
      for (int j = 0; j < p.mv; ++j) {
        Val& acc = accs[size_t(j) * p.tc + c];
        b_.assign(acc, b_.alu(KILN_IR_MULADD, DType::F32, av[j], w, acc));
      }
    }
    memo_.pop_back();
    b_.end_range(kl);
    // the epilogue (residual adds, casts) per accumulator, its 16 rows stored one by one
    const int64_t row_stride = s[nd - 1];
    for (int j = 0; j < p.mv; ++j)
      for (int c = 0; c < p.tc; ++c) {
        memo_.emplace_back();
        outer_reduce_ = p.reduce;
        outer_value_ = accs[size_t(j) * p.tc + c];
        std::vector<Val> d = batch;
        d.push_back(rows[j]);
        d.push_back(cols[c]);
        Index idx{s, d, -1};
        idx.lanes = l;
        idx.lane_axis = static_cast<int>(nd) - 2;
        Val v = b_.cast(emit(root.get(), idx, -1, true), root->dtype);
        Val base = flat_of(idx);
        for (int lane = 0; lane < l; ++lane)
          b_.store(out, b_.add_const(base, lane * row_stride), b_.gep(v, lane), col_ok[c]);
        outer_reduce_ = nullptr;
        memo_.pop_back();
      }
    memo_.pop_back();
    b_.end_range(mr);
    has_reduce_ = true;
    k.global_size[0] = static_cast<uint32_t>(groups_);
    finish(k, "r_" + shape_name(root->shape) + "_o" + std::to_string(p.mv * l) + "x" +
                  std::to_string(p.tc));
  }

  const UOp* outer_reduce_ = nullptr;  // while an outer tile's epilogue is emitted: the reduce ...
  Val outer_value_ = -1;               // ... and the accumulator it reads as

  // rows x cols scalar outputs per group (dot tiles, GPU row tiles); groups walk the rows
  // fastest, so a tile's columns stay in cache while the rows pass by them
  std::vector<Index> scalar_tile_indices(const UOpRef& root, int rows, int cols) {
    const Shape& s = root->shape;
    size_t n = s.size();
    Shape grid(s.begin(), s.end() - 2);
    grid.push_back(s[n - 1] / cols);
    grid.push_back(s[n - 2] / rows);
    check_grid(shape_numel(grid), root);
    groups_ = shape_numel(grid);
    Val gid = b_.cast(b_.special(0, shape_numel(grid)), idx_t_);
    std::vector<Val> g = unravel(gid, grid);
    std::vector<Index> idxs;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        std::vector<Val> dims(g.begin(), g.end() - 2);
        dims.push_back(b_.add_const(b_.mul_const(g[n - 1], rows), r));
        dims.push_back(b_.add_const(b_.mul_const(g[n - 2], cols), c));
        idxs.push_back(Index{s, dims, -1});
      }
    return idxs;
  }

  // CPU dot tiles: each output's reduce keeps vector accumulators along the reduce axis
  void emit_dot_tiled(const UOpRef& root, Val out, int tr, int tc) {
    std::vector<Index> idxs = scalar_tile_indices(root, tr, tc);
    dot_tile_ = true;
    std::vector<Val> vals = emit_group(root.get(), idxs, -1, true);
    for (size_t i = 0; i < idxs.size(); ++i)
      b_.store(out, flat_of(idxs[i]), b_.cast(vals[i], root->dtype));
  }

  // GPU row tiles (gpu_tile_rows): rows x cols scalar outputs per group, each with its own
  // reduce; the rows share the column operand's loads, the columns the row operand's (and any
  // elementwise work fused into it). A row's outputs are stored as one vector.
  void emit_tiled_scalar(const UOpRef& root, Val out, int rows, int cols) {
    std::vector<Index> idxs = scalar_tile_indices(root, rows, cols);
    std::vector<Val> vals = emit_group(root.get(), idxs, -1, true);
    for (int r = 0; r < rows; ++r) {
      std::vector<Val> row;
      for (int c = 0; c < cols; ++c)
        row.push_back(b_.gep(b_.cast(vals[r * cols + c], root->dtype), 0));
      b_.store(out, flat_of(idxs[r * cols]), cols > 1 ? b_.vectorize(row) : row[0]);
    }
  }

  // ---- tensor cores (KILN_IR_MMA) ----

  // A matmul whose two operands are F16/BF16 values (or f32 casts of them) that both stream
  // along the reduce axis: each one-warp group computes a (16 mt) x (8 nt) output tile with
  // m16n8k16 MMAs, and elementwise work after the reduce (a residual add, a cast) is fused as
  // usual. `a` varies along the rows (m_axis), `b` along the columns (n_axis) of the reduce's
  // source; both are that source's operands (shaped like it).
  struct MmaPlan {
    const UOp* reduce = nullptr;
    const UOp* a = nullptr;
    const UOp* b = nullptr;
    DType half = DType::F16;
    int m_axis = -1, n_axis = -1, k_axis = -1;
    int mt = 1, nt = 1;
    // Staged (wm * wn warps per group): the group's (16 mt wm) x (8 nt wn) block tile reads its
    // operands through shared memory, 32 k a step, double-buffered; 0: one-warp tiles that read
    // their fragments from global memory.
    int wm = 0, wn = 0;
    // staged: shared-memory stages; more than 2 when both operands are half buffers behind
    // unmasked views, copied by COPY_ASYNC (else two, copied through registers)
    int stages = 2;
    bool staged() const { return wm > 0; }
  };
  struct MmaContext {
    MmaPlan plan;
    Val n0 = -1, g = -1, t = -1;  // the tile's first column; lane / 4 and lane % 4
    Val tid = -1;                 // staged: the thread in the group ...
    Val bm0 = -1, bn0 = -1;       // ... the block tile's first row and column ...
    Val wmi = -1, wni = -1;       // ... and the warp's place in it
  };
  std::optional<MmaContext> mma_;

  // The half-typed value under an operand (behind its views): itself, or the source of its
  // cast to f32.
  static const UOp* half_operand(const UOp* u) {
    while (u->op == Op::View && !u->realized()) u = u->src[0].get();
    if (is_half(u->dtype)) return u;
    if (u->op == Op::Cast && is_half(u->src[0]->dtype)) return u->src[0].get();
    return nullptr;
  }

  // A half buffer behind unmasked views (perhaps widened by a cast): an MMA operand that
  // COPY_ASYNC can move into shared memory as it is.
  static bool copyable_operand(const UOp* u) {
    for (; !u->realized() && u->op != Op::Buffer; u = u->src[0].get()) {
      if (u->op == Op::Cast) {
        if (!is_half(u->src[0]->dtype) || u->dtype != DType::F32) return false;
        continue;
      }
      if (u->op != Op::View) return false;
      for (const View& v : u->st.views())
        if (!v.mask.empty()) return false;
    }
    return is_half(u->dtype);
  }

  // Only values computed from memory by index math and elementwise ops (no loops, gathers or
  // index-valued leaves), so that stepping an axis moves exactly the loads leaf_offsets sees.
  static bool plain_operand(const UOp* frag) {
    bool ok = true;
    walk_fragment(frag, [&](const UOp* u) {
      if (u->realized() || u->op == Op::Buffer) return true;
      ok = is_alu(u->op) || u->op == Op::Cast || u->op == Op::Bitcast || u->op == Op::View ||
           u->op == Op::Const || u->op == Op::Var || u->op == Op::Contiguous;
      return ok;
    });
    return ok;
  }

  // True when no load under `frag` moves as index `axis` runs through the axis.
  static bool invariant_along(const UOp* frag, int axis) {
    std::vector<int64_t> zero(frag->shape.size(), 0), base;
    leaf_offsets(frag, zero, base);
    const int64_t n = frag->shape[axis];
    for (int64_t at : {int64_t(1), n / 2, n - 1}) {
      std::vector<int64_t> d = zero, off;
      d[axis] = at;
      leaf_offsets(frag, d, off);
      if (off != base) return false;
    }
    return true;
  }

  // The reduce sits below `u` behind elementwise nodes and pure reshapes only.
  static bool reduce_on_plain_path(const UOp* u, const UOp* r, bool is_root = true) {
    if (u == r) return true;
    if (!is_root && u->realized()) return false;
    if (u->op == Op::View) {
      for (const View& v : u->st.views())
        if (!v.is_contiguous() || v.var) return false;
    } else if (!(is_alu(u->op) || u->op == Op::Cast || u->op == Op::Contiguous)) {
      return false;
    }
    int paths = 0;
    for (const auto& s : u->src) {
      bool has = false;
      walk_fragment(s.get(), [&](const UOp* x) {
        has |= x == r;
        return !has;
      });
      if (!has) continue;
      if (++paths > 1 || !reduce_on_plain_path(s.get(), r, false)) return false;
    }
    return paths == 1;
  }

  // The device runs KILN_IR_MMA and KILN_NO_MMA (comparisons) does not turn it off.
  bool mma_enabled() const {
    static const bool off = env::value("KILN_NO_MMA") != nullptr;
    return !off && (caps_.has_tensor_cores & KILN_TENSOR_CORES_MMA_16816) && caps_.warp_size == 32;
  }

  std::optional<MmaPlan> mma_plan(const UOpRef& root) const {
    if (!mma_enabled()) return {};
    const UOp* r = find_reduce(root.get());
    if (!r || r->reduce_op != ReduceOp::Sum || r->axes.size() != 1 || !is_float(r->dtype))
      return {};
    const UOp* src = r->src[0].get();
    MmaPlan p;
    p.reduce = r;
    p.k_axis = r->axes[0];
    if (p.k_axis != static_cast<int>(src->shape.size()) - 1 || src->op != Op::Mul) return {};
    if (squeezed(r->shape) != squeezed(root->shape) || !reduce_on_plain_path(root.get(), r))
      return {};
    for (int a = p.k_axis - 1; a >= 0 && p.m_axis < 0; --a)
      if (src->shape[a] > 1) (p.n_axis < 0 ? p.n_axis : p.m_axis) = a;
    if (p.m_axis < 0) return {};
    const UOp* x = src->src[0].get();
    const UOp* y = src->src[1].get();
    const UOp* hx = half_operand(x);
    const UOp* hy = half_operand(y);
    if (!hx || !hy || hx->dtype != hy->dtype || !plain_operand(x) || !plain_operand(y)) return {};
    if (invariant_along(x, p.n_axis) && invariant_along(y, p.m_axis)) {
      p.a = x;
      p.b = y;
    } else if (invariant_along(y, p.n_axis) && invariant_along(x, p.m_axis)) {
      p.a = y;
      p.b = x;
    } else {
      return {};
    }
    if (unit_stride_loads(p.a, p.k_axis) < 1 || unit_stride_loads(p.b, p.k_axis) < 1) return {};
    p.half = hx->dtype;
    const int64_t M = src->shape[p.m_axis], N = src->shape[p.n_axis], K = src->shape[p.k_axis];
    if (K % 32 != 0 || M % 16 != 0 || N % 8 != 0) return {};
    static const char* forced = env::value("KILN_MMA_TILE");
    static const std::pair<int, int> tile = [] {
      std::pair<int, int> t{4, 4};
      if (forced) std::sscanf(forced, "%dx%d", &t.first, &t.second);
      return t;
    }();
    p.mt = std::clamp(tile.first, 1, 8);
    p.nt = std::clamp(tile.second, 1, 16);
    while (M % (16 * p.mt) != 0) p.mt /= 2;
    while (N % (8 * p.nt) != 0) p.nt /= 2;
    int64_t batch = 1;  // products of the axes other than m, n and k
    for (int a = 0; a < p.k_axis; ++a)
      if (a != p.m_axis && a != p.n_axis) batch *= src->shape[a];
    if (!forced && gpu_mma_staged()) {
      // Block tiles of 2 x 2 warps (128 x 64 outputs, each warp 64 x 32) staged through shared
      // memory: each operand row is read from global memory once per block tile, not once per
      // warp. Narrower blocks while the grid would leave SMs idle; a block of one warp shares
      // nothing, so it keeps the unstaged tiles. (Blocks of 2 x 4 warps, 128 x 128 outputs: an
      // H100 prefill measured 34.6k tok/s, session 10, against 77.8k for 2 x 2, session 11.)
      MmaPlan q = p;
      // KILN_MMA_BLOCK=MTxNTxWMxWN: the warp tile (16 MT x 8 NT) and the warps (WM x WN)
      static const std::array<int, 4> shape = [] {
        std::array<int, 4> v{4, 4, 2, 2};
        if (const char* e = env::value("KILN_MMA_BLOCK"))
          std::sscanf(e, "%dx%dx%dx%d", &v[0], &v[1], &v[2], &v[3]);
        return v;
      }();
      q.mt = std::clamp(shape[0], 1, 8);
      q.nt = std::clamp(shape[1], 1, 8);
      q.wm = std::clamp(shape[2], 1, 4);
      q.wn = std::clamp(shape[3], 1, 8);
      const int64_t sms = std::max<uint32_t>(caps_.compute_units, 1);
      // (and every thread copies whole chunks: 2 mt / wn of A's, nt / wm of B's a step)
      auto fits = [&] {
        return M % (16 * q.mt * q.wm) == 0 && N % (8 * q.nt * q.wn) == 0 &&
               (2 * q.mt) % q.wn == 0 && q.nt % q.wm == 0;
      };
      auto blocks = [&] { return batch * (M / (16 * q.mt * q.wm)) * (N / (8 * q.nt * q.wn)); };
      const bool fill = gpu_mma_staged() == 1;
      while (q.wn > 1 && (!fits() || (fill && blocks() < sms))) q.wn /= 2;
      while (q.wm > 1 && (!fits() || (fill && blocks() < sms))) q.wm /= 2;
      // a block of few warps cannot hide the shared-memory pipeline's latency: such GEMMs keep
      // the one-warp tiles (KILN_MMA_MIN_WARPS, default: the whole 2 x 2 block)
      static const int min_warps = std::clamp(env::integer("KILN_MMA_MIN_WARPS", 4), 2, 32);
      const bool enough = !fill || (q.wm * q.wn >= min_warps && blocks() >= sms);
      auto smem = [&] {
        return uint64_t(q.stages) * (16 * q.mt * q.wm + 8 * q.nt * q.wn) * 32 * 2;
      };
      if (caps_.async_copy && gpu_mma_async() && copyable_operand(q.a) && copyable_operand(q.b))
        q.stages = gpu_mma_stages();
      while (q.stages > 2 && smem() > caps_.local_memory_bytes) --q.stages;
      if (enough && fits() && q.wm * q.wn >= 2 && smem() <= caps_.local_memory_bytes &&
          uint32_t(32 * q.wm * q.wn) <= caps_.max_local_size[0])
        return q;
    }
    if (!forced) {
      // Each tile is one warp computing from registers (no shared-memory pipeline), so latency
      // is hidden only by many warps per SM: a GEMM with too few tiles (a 512-token chunk's
      // 2048-wide projections: 512 tiles of 64 x 32 on 132 SMs) takes narrower row tiles,
      // then column tiles, until about gpu_mma_warps() warps per SM are busy.
      const int64_t want = int64_t(std::max<uint32_t>(caps_.compute_units, 1)) * gpu_mma_warps();
      auto tiles = [&] { return batch * (M / (16 * p.mt)) * (N / (8 * p.nt)); };
      while (tiles() < want && p.mt > 1) p.mt /= 2;
      while (tiles() < want && p.nt > 2) p.nt /= 2;
    }
    return p;
  }

  // One warp per group, a (16 mt) x (8 nt) tile of the output; groups walk the row tiles
  // fastest, so a column tile's operand rows stay in cache while the row tiles pass by.
  void emit_mma_tiled(LoweredKernel& k, const UOpRef& root, Val out, const MmaPlan& p) {
    const Shape& s = root->shape;
    const int n = static_cast<int>(s.size());
    int rn = -1, rm = -1;  // the root's column and row axes
    for (int a = n - 1; a >= 0 && rm < 0; --a)
      if (s[a] > 1) (rn < 0 ? rn : rm) = a;
    const int TM = 16 * p.mt, TN = 8 * p.nt;
    const int wm = std::max(p.wm, 1), wn = std::max(p.wn, 1), threads = 32 * wm * wn;
    Shape grid;
    std::vector<int> batch_axes;
    for (int a = 0; a < n; ++a)
      if (a != rm && a != rn) {
        grid.push_back(s[a]);
        batch_axes.push_back(a);
      }
    grid.push_back(s[rn] / (TN * wn));
    grid.push_back(s[rm] / (TM * wm));
    check_grid(shape_numel(grid), root);
    groups_ = shape_numel(grid);
    Val gid = b_.cast(b_.special(0, groups_), idx_t_);
    std::vector<Val> gd = unravel(gid, grid);
    warp_split_ = threads;
    Val tid = b_.cast(b_.special(3, threads), idx_t_);
    Val lane = threads > 32 ? b_.mod_const(tid, 32) : tid;
    MmaContext c;
    c.plan = p;
    c.g = b_.idiv_const(lane, 4);
    c.t = b_.mod_const(lane, 4);
    c.n0 = b_.mul_const(gd[gd.size() - 2], TN * wn);
    Val m0 = b_.mul_const(gd.back(), TM * wm);
    if (p.staged()) {
      // the warp's place in the block tile (warps walk the rows first)
      c.tid = tid;
      c.bm0 = m0;
      c.bn0 = c.n0;
      Val w = b_.idiv_const(tid, 32);
      c.wmi = wm > 1 ? b_.mod_const(w, wm) : b_.const_int(0, idx_t_);
      c.wni = wm > 1 ? b_.idiv_const(w, wm) : w;
      c.n0 = b_.add(c.bn0, b_.mul_const(c.wni, TN));
      m0 = b_.add(c.bm0, b_.mul_const(c.wmi, TM));
    }
    // outputs in MMA order: tile (i, j), half h (row g + 8h), column 2t + e
    std::vector<Index> idxs;
    for (int i = 0; i < p.mt; ++i)
      for (int j = 0; j < p.nt; ++j)
        for (int h = 0; h < 2; ++h)
          for (int e = 0; e < 2; ++e) {
            std::vector<Val> dims(n);
            for (size_t q = 0; q < batch_axes.size(); ++q) dims[batch_axes[q]] = gd[q];
            dims[rm] = b_.add(m0, b_.add_const(c.g, 16 * i + 8 * h));
            dims[rn] = b_.add(c.n0, b_.add_const(b_.mul_const(c.t, 2), 8 * j + e));
            idxs.push_back(Index{s, dims, -1});
          }
    mma_ = c;
    std::vector<Val> vals = emit_group(root.get(), idxs, -1, true);
    mma_.reset();
    for (size_t q = 0; q < idxs.size(); q += 2) {
      Val v0 = b_.cast(vals[q], root->dtype), v1 = b_.cast(vals[q + 1], root->dtype);
      if (rn == n - 1) {
        b_.store(out, flat_of(idxs[q]), b_.vectorize({b_.gep(v0, 0), b_.gep(v1, 0)}));
      } else {
        b_.store(out, flat_of(idxs[q]), v0);
        b_.store(out, flat_of(idxs[q + 1]), v1);
      }
    }
    k.global_size[0] = static_cast<uint32_t>(groups_);
    finish(k,
           "r_" + shape_name(s) + "_mma" + std::to_string(TM) + "x" + std::to_string(TN) +
               (p.staged() ? "_b" + std::to_string(wm) + "x" + std::to_string(wn) : std::string()));
  }

  // 8 lanes of `u` from `dims` along `axis` (a multiple of 8 there), as the half type `h`:
  // one 16-byte MMA operand load
  Val load_half8(const UOp* u, std::vector<Val> dims, int axis, DType h, Val gate) {
    return b_.cast(emit(u, half8_index(u, std::move(dims), axis), gate), h);
  }
  static Index half8_index(const UOp* u, std::vector<Val> dims, int axis) {
    Index at{u->shape, std::move(dims), -1};
    at.lanes = 8;
    at.lane_axis = axis;
    at.aligned = true;
    return at;
  }
  // MMA step `st` (0, 1) of 32 k loaded 8 per lane (lanes 4st..4st+3 are its k = 2t, 2t+1,
  // 2t+8, 2t+9): the A fragment from rows g (`lo`) and g + 8 (`hi`), the B fragment of a column
  Val mma_a_fragment(Val lo, Val hi, int st) {
    const int l = 4 * st;
    return b_.vectorize({b_.gep(lo, l), b_.gep(lo, l + 1), b_.gep(hi, l), b_.gep(hi, l + 1),
                         b_.gep(lo, l + 2), b_.gep(lo, l + 3), b_.gep(hi, l + 2),
                         b_.gep(hi, l + 3)});
  }
  Val mma_b_fragment(Val col, int st) {
    const int l = 4 * st;
    return b_.vectorize(
        {b_.gep(col, l), b_.gep(col, l + 1), b_.gep(col, l + 2), b_.gep(col, l + 3)});
  }

  // The reduce of an MMA tile: each step loads 32 k of a row (or column) per lane as one
  // 16-byte vector, lanes t = 0..3 taking k = 8t..8t+7. Two MMAs of k 16 consume them, each
  // reading lanes 4s..4s+3 as its k = 2t, 2t+1, 2t+8, 2t+9: a permutation of k that A and B
  // share, so the sum is the same while every load stays one contiguous 16-byte access.
  std::vector<Val> emit_mma_reduce(const UOp* u, std::vector<Index>& idxs, Val gate) {
    if (mma_->plan.staged()) return emit_mma_reduce_staged(u, idxs, gate);
    has_reduce_ = true;
    const MmaContext& c = *mma_;
    const MmaPlan& p = c.plan;
    const UOp* src = u->src[0].get();
    const Shape& ss = src->shape;
    std::vector<std::vector<Val>> dims(idxs.size());
    for (size_t q = 0; q < idxs.size(); ++q) {
      int la = -1;
      if (!dims_for(idxs[q], u->shape, dims[q], la)) throw Error("internal: MMA output index");
    }
    const std::vector<Val> accs = mma_accumulators(p);
    Val rg = b_.range(b_.const_int(0, idx_t_), b_.const_int(ss[p.k_axis] / 32, idx_t_),
                      KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    Val kb = b_.add(b_.mul_const(rg, 32), b_.mul_const(c.t, 8));
    auto load8 = [&](const UOp* operand, std::vector<Val> d) {
      d[p.k_axis] = kb;
      return load_half8(operand, std::move(d), p.k_axis, p.half, gate);
    };
    std::vector<Val> a_rows;  // tile i, half h: rows g + 16i + 8h
    for (int i = 0; i < p.mt; ++i)
      for (int h = 0; h < 2; ++h) a_rows.push_back(load8(p.a, dims[size_t(i * p.nt * 4 + h * 2)]));
    std::vector<Val> b_cols;  // tile j: column n0 + 8j + g
    for (int j = 0; j < p.nt; ++j) {
      std::vector<Val> d = dims[0];
      d[p.n_axis] = b_.add(c.n0, b_.add_const(c.g, 8 * j));
      b_cols.push_back(load8(p.b, d));
    }
    mma_step(p, a_rows, b_cols, accs);
    memo_.pop_back();
    b_.end_range(rg);
    return mma_outputs(p, accs);
  }

  // the warp's f32 accumulators, 4 lanes for each (i, j) tile, zeroed
  std::vector<Val> mma_accumulators(const MmaPlan& p) {
    std::vector<Val> accs;
    for (int q = 0; q < p.mt * p.nt; ++q)
      accs.push_back(b_.acc(b_.broadcast(b_.const_float(0, DType::F32), 4)));
    return accs;
  }
  // One step of 32 k: two MMAs of k 16 for each (i, j) tile of the warp, from the 16-byte
  // vectors of its A rows (tile i, half h at 2i + h) and B columns
  void mma_step(const MmaPlan& p, const std::vector<Val>& a_rows, const std::vector<Val>& b_cols,
                const std::vector<Val>& accs) {
    for (int st = 0; st < 2; ++st) {
      std::vector<Val> a_frag, b_frag;
      for (int i = 0; i < p.mt; ++i)
        a_frag.push_back(mma_a_fragment(a_rows[size_t(2 * i)], a_rows[size_t(2 * i + 1)], st));
      for (int j = 0; j < p.nt; ++j) b_frag.push_back(mma_b_fragment(b_cols[size_t(j)], st));
      for (int i = 0; i < p.mt; ++i)
        for (int j = 0; j < p.nt; ++j) {
          Val acc = accs[size_t(i * p.nt + j)];
          b_.assign(acc, b_.mma(a_frag[size_t(i)], b_frag[size_t(j)], acc));
        }
    }
  }
  // the accumulators' lanes in output order (tile (i, j), lane e)
  std::vector<Val> mma_outputs(const MmaPlan& p, const std::vector<Val>& accs) {
    std::vector<Val> out;
    for (int i = 0; i < p.mt; ++i)
      for (int j = 0; j < p.nt; ++j)
        for (int e = 0; e < 4; ++e) out.push_back(b_.gep(accs[size_t(i * p.nt + j)], e));
    return out;
  }

  // The reduce of a staged MMA block tile. Each step of 32 k, the group's threads copy the
  // block's A rows (16 mt wm) and B columns (8 nt wn) from global memory into one of the
  // shared-memory stages (16-byte chunks, consecutive threads on consecutive chunks), and the
  // warps read their fragments from a filled stage, in the layout emit_mma_reduce loads them
  // from global memory. With COPY_ASYNC the copies of the next stages - 1 steps are in flight
  // while a step's MMAs run (one wait and one barrier a step); without it, the next step's
  // chunks are loaded into registers before the MMAs and stored to the other of two stages
  // after them.
  std::vector<Val> emit_mma_reduce_staged(const UOp* u, std::vector<Index>& idxs, Val gate) {
    has_reduce_ = true;
    const MmaContext& c = *mma_;
    const MmaPlan& p = c.plan;
    const UOp* src = u->src[0].get();
    const Shape& ss = src->shape;
    std::vector<Val> dims0;
    int la = -1;
    if (!dims_for(idxs[0], u->shape, dims0, la)) throw Error("internal: MMA output index");
    const int BM = 16 * p.mt * p.wm, BN = 8 * p.nt * p.wn, T = 32 * p.wm * p.wn;
    const int64_t steps = ss[p.k_axis] / 32;
    // thread tid copies chunks tid + q T: row (tid + q T) / 4, k 8 ((tid + q T) % 4) of the step
    Val crow = b_.idiv_const(c.tid, 4), ck = b_.mul_const(b_.mod_const(c.tid, 4), 8);
    struct Copy {
      const UOp* operand;
      int axis;
      Val origin;
      int rows;
      Val stage = -1;
    };
    Copy copies[2] = {{p.a, p.m_axis, c.bm0, BM}, {p.b, p.n_axis, c.bn0, BN}};
    auto chunk = [&](const Copy& cp, int q, Val kstep) {  // where the 8 elements of a chunk lie
      std::vector<Val> d = dims0;
      d[cp.axis] = b_.add(cp.origin, b_.add_const(crow, int64_t(q) * T / 4));
      d[p.k_axis] = b_.add(b_.mul_const(kstep, 32), ck);
      return d;
    };
    auto stage_index = [&](const Copy& cp, int q, Val stage) {  // ... and its place in a stage
      Val row = b_.add_const(crow, int64_t(q) * T / 4);
      return b_.add(b_.mul_const(stage, int64_t(cp.rows) * 32), b_.add(b_.mul_const(row, 32), ck));
    };
    // the (buffer, element) each chunk of step `kstep` copies, when all are direct and aligned
    auto sources = [&](Val kstep) -> std::optional<std::vector<std::pair<Val, Val>>> {
      std::vector<std::pair<Val, Val>> out;
      for (const Copy& cp : copies)
        for (int q = 0; q < cp.rows * 4 / T; ++q) {
          auto s = direct_half_source(cp.operand,
                                      half8_index(cp.operand, chunk(cp, q, kstep), p.k_axis));
          if (!s) return {};
          out.push_back(*s);
        }
      return out;
    };
    const bool async = p.stages > 2 && gate < 0 && sources(b_.const_int(0, idx_t_)).has_value();
    const int S = async ? p.stages : 2;
    copies[0].stage = b_.local(p.half, int64_t(S) * BM * 32);
    copies[1].stage = b_.local(p.half, int64_t(S) * BN * 32);
    auto copy_async = [&](Val kstep, Val stage) {
      auto from = sources(kstep);
      if (!from) throw Error("internal: staged MMA operand no longer copyable");
      size_t v = 0;
      for (const Copy& cp : copies)
        for (int q = 0; q < cp.rows * 4 / T; ++q, ++v)
          b_.copy_async(cp.stage, stage_index(cp, q, stage), (*from)[v].first, (*from)[v].second,
                        8);
      b_.copy_commit();
    };
    auto fetch = [&](Val kstep) {  // this thread's chunks of step `kstep`, into registers
      std::vector<Val> vals;
      for (const Copy& cp : copies)
        for (int q = 0; q < cp.rows * 4 / T; ++q)
          vals.push_back(load_half8(cp.operand, chunk(cp, q, kstep), p.k_axis, p.half, gate));
      return vals;
    };
    auto put = [&](const std::vector<Val>& vals, Val stage) {  // ... and from there into a stage
      size_t v = 0;
      for (const Copy& cp : copies)
        for (int q = 0; q < cp.rows * 4 / T; ++q)
          b_.store(cp.stage, stage_index(cp, q, stage), vals[v++]);
    };
    auto clamp_step = [&](Val k) {
      return b_.alu(KILN_IR_MIN, idx_t_, k, b_.const_int(steps - 1, idx_t_));
    };
    if (async) {
      // steps 0 .. S-2 in flight (a K of fewer steps repeats the last: nothing reads those)
      for (int st = 0; st < S - 1; ++st)
        copy_async(b_.const_int(std::min<int64_t>(st, steps - 1), idx_t_),
                   b_.const_int(st, idx_t_));
    } else {
      put(fetch(b_.const_int(0, idx_t_)), b_.const_int(0, idx_t_));
      b_.barrier();
    }
    const std::vector<Val> accs = mma_accumulators(p);
    // the stage step rg reads (rg % S), counted in a register rather than divided out a step
    Val cur = b_.acc(b_.const_int(0, idx_t_));
    Val rg = b_.range(b_.const_int(0, idx_t_), b_.const_int(steps, idx_t_), KILN_IR_FLAG_REDUCE);
    memo_.emplace_back();
    auto is = [&](Val v, int64_t c) {
      return b_.alu(KILN_IR_CMPEQ, DType::Bool, v, b_.const_int(c, idx_t_));
    };
    auto pick = [&](Val cond, Val a, Val b) { return b_.alu(KILN_IR_WHERE, idx_t_, cond, a, b); };
    // the stage of step rg - 1, = (rg + S - 1) % S: it takes step rg + S - 1 (with two stages,
    // step rg + 1)
    Val freed = pick(is(cur, 0), b_.const_int(S - 1, idx_t_), b_.add_const(cur, -1));
    std::vector<Val> ahead;
    if (async) {
      // this step's copies are done (S - 2 later groups may be pending) and, past the barrier,
      // everyone's are visible and nobody still reads the freed stage (the last steps fetch the
      // last step again: nothing reads those)
      b_.copy_wait(S - 2);
      b_.barrier();
      copy_async(clamp_step(b_.add_const(rg, S - 1)), freed);
    } else {
      ahead = fetch(clamp_step(b_.add_const(rg, 1)));
    }
    auto frag8 = [&](const Copy& cp, Val row) {
      Val at = b_.add(b_.mul_const(cur, int64_t(cp.rows) * 32),
                      b_.add(b_.mul_const(row, 32), b_.mul_const(c.t, 8)));
      return b_.load(cp.stage, at, p.half, -1, -1, 8);
    };
    std::vector<Val> a_rows;  // tile i, half h: rows g + 16i + 8h of the warp's rows
    for (int i = 0; i < p.mt; ++i)
      for (int h = 0; h < 2; ++h)
        a_rows.push_back(frag8(
            copies[0], b_.add(b_.mul_const(c.wmi, 16 * p.mt), b_.add_const(c.g, 16 * i + 8 * h))));
    std::vector<Val> b_cols;  // tile j: column 8j + g of the warp's columns
    for (int j = 0; j < p.nt; ++j)
      b_cols.push_back(
          frag8(copies[1], b_.add(b_.mul_const(c.wni, 8 * p.nt), b_.add_const(c.g, 8 * j))));
    mma_step(p, a_rows, b_cols, accs);
    if (!async) {
      put(ahead, freed);
      b_.barrier();
    }
    b_.assign(cur, pick(is(cur, S - 1), b_.const_int(0, idx_t_), b_.add_const(cur, 1)));
    memo_.pop_back();
    b_.end_range(rg);
    if (async) b_.copy_wait(0);  // no copy outlives the kernel
    return mma_outputs(p, accs);
  }

  // The buffer and element index `u` reads at `at` (8 half lanes along the reduce axis) when it
  // is a copyable_operand and the index is provably 16-byte aligned.
  std::optional<std::pair<Val, Val>> direct_half_source(const UOp* u, Index at) {
    if (!copyable_operand(u)) return {};
    for (; !u->realized() && u->op != Op::Buffer; u = u->src[0].get()) {
      if (u->op == Op::Cast) continue;  // a widening cast: the same index
      ViewStep st = view_step(u, at);
      if (st.per_lane || st.all_invalid || st.valid >= 0) return {};
      at = st.sidx;
    }
    Val flat = flat_of(at);
    if (at.lanes != 8 || at.lane_flat != 1 || !b_.multiple_of(flat, 8)) return {};
    return std::pair{param_for(u), flat};
  }

  // `exempt`: the shape of an MMA plan's product (and of its operands' views): a tile indexes
  // them per axis through the views (each view's span is still checked), never by a flat index
  // of their M x N x K elements, so a 512-row chunk's projections keep 32-bit index math
  bool needs_i64(const UOpRef& root, const Shape* exempt = nullptr) {
    bool big = false;
    walk_fragment(root.get(), [&](const UOp* u) {
      const bool virtual_product =
          exempt && !u->realized() && u->op != Op::Buffer && u->shape == *exempt;
      if (!virtual_product && u->numel() >= std::numeric_limits<int32_t>::max()) big = true;
      if (u->op == Op::View && !u->realized())
        for (const auto& v : u->st.views()) {
          int64_t span = std::abs(v.offset);
          if (v.var)
            span += std::abs(v.var_coef) *
                    std::max(std::abs(v.var->min_value()), std::abs(v.var->max_value()));
          for (size_t i = 0; i < v.shape.size(); ++i) span += std::abs(v.strides[i]) * v.shape[i];
          if (span >= std::numeric_limits<int32_t>::max() / 2) big = true;
        }
      return !big;
    });
    return big;
  }

  // ---- index math ----

  Val flat_of(Index& idx) {
    if (idx.flat >= 0) return idx.flat;
    auto strides = contiguous_strides(idx.shape);
    Val f = b_.const_int(0, idx_t_);
    for (size_t i = 0; i < idx.dims.size(); ++i)
      f = b_.add(f, b_.mul_const(idx.dims[i], strides[i]));
    idx.flat = f;
    if (idx.lanes > 1 && idx.lane_axis >= 0) idx.lane_flat = strides[idx.lane_axis];
    return f;
  }

  std::vector<Val> unravel(Val flat, const Shape& shape) {
    std::vector<Val> dims(shape.size());
    int64_t acc = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] == 1) {
        dims[i] = b_.const_int(0, idx_t_);
        continue;
      }
      Val d = b_.idiv_const(flat, acc);
      bool outermost = true;
      for (size_t j = 0; j < i; ++j) outermost &= shape[j] == 1;
      dims[i] = outermost ? d : b_.mod_const(d, shape[i]);
      acc *= shape[i];
    }
    return dims;
  }

  // Coordinates of idx in `shape` (same numel, row-major). Returns false when the lanes do not
  // map to one axis of `shape` (the caller then evaluates lane by lane).
  bool dims_for(Index& idx, const Shape& shape, std::vector<Val>& dims, int& lane_axis) {
    lane_axis = -1;
    if (!idx.dims.empty()) {
      if (idx.shape == shape) {
        dims = idx.dims;
        lane_axis = idx.lane_axis;
        return idx.lanes == 1 || lane_axis >= 0;
      }
      if (squeezed(idx.shape) == squeezed(shape)) {
        std::vector<Val> big;
        std::vector<int> big_axis;
        for (size_t i = 0; i < idx.shape.size(); ++i)
          if (idx.shape[i] != 1) {
            big.push_back(idx.dims[i]);
            big_axis.push_back(static_cast<int>(i));
          }
        dims.clear();
        size_t k = 0;
        for (size_t i = 0; i < shape.size(); ++i) {
          if (shape[i] == 1) {
            dims.push_back(b_.const_int(0, idx_t_));
            continue;
          }
          if (big_axis[k] == idx.lane_axis) lane_axis = static_cast<int>(i);
          dims.push_back(big[k++]);
        }
        return idx.lanes == 1 || lane_axis >= 0;
      }
    }
    Val f = flat_of(idx);
    dims = unravel(f, shape);
    if (idx.lanes == 1) return true;
    // aligned: known from the caller, or proven (lanes_stay: the lanes stay on one axis of
    // stride lane_flat, starting at a multiple of lanes)
    if (!idx.aligned && !b_.lanes_stay(f, idx.lane_flat, idx.lanes)) return false;
    auto strides = contiguous_strides(shape);
    for (size_t j = 0; j < shape.size(); ++j)
      if (shape[j] > 1 && strides[j] == idx.lane_flat && shape[j] % idx.lanes == 0) {
        lane_axis = static_cast<int>(j);
        return true;
      }
    return false;
  }

  Index lane_scalar(const Index& idx, int l) {
    Index s = idx;
    s.lanes = 1;
    s.lane_axis = -1;
    s.aligned = false;
    if (!idx.dims.empty() && idx.lane_axis >= 0) {
      s.dims[idx.lane_axis] = b_.add_const(idx.dims[idx.lane_axis], l);
      s.flat = -1;
    } else {
      s.dims.clear();
      s.flat = b_.add_const(idx.flat, l * idx.lane_flat);
    }
    return s;
  }

  Val devectorize(const UOp* u, Index& idx, Val gate) {
    std::vector<Val> lanes;
    for (int l = 0; l < idx.lanes; ++l)
      lanes.push_back(b_.gep(emit(u, lane_scalar(idx, l), gate), 0));
    return b_.vectorize(lanes);
  }

  Val param_for(const UOp* u) {
    auto it = param_vals_.find(u);
    if (it != param_vals_.end()) return it->second;
    int slot = static_cast<int>(params_->size());
    params_->push_back(find_ref(u));
    Val p = b_.param(slot, u->dtype, KILN_IR_FLAG_READ);
    param_vals_[u] = p;
    return p;
  }

  UOpRef find_ref(const UOp* target) {
    if (target == root_.get()) return root_;
    std::vector<const UOp*> stack{root_.get()};
    std::map<const UOp*, bool> seen;
    while (!stack.empty()) {
      const UOp* u = stack.back();
      stack.pop_back();
      if (seen[u]) continue;
      seen[u] = true;
      for (const auto& s : u->src) {
        if (s.get() == target) return s;
        if (!s->realized()) stack.push_back(s.get());
      }
    }
    throw Error("internal: lost a kernel input");
  }

  int var_slot(const Variable& v) {
    for (size_t i = 0; i < vars_->size(); ++i)
      if ((*vars_)[i] == v) return static_cast<int>(i);
    vars_->push_back(v);
    return static_cast<int>(vars_->size() - 1);
  }

  Val zero(DType t) { return b_.const_of(0, compute_dtype(t)); }

  Val view_offset(const View& v) {
    Val off = b_.const_int(v.offset, idx_t_);
    if (v.var && v.var_coef != 0) {
      Val var = b_.cast(b_.var(var_slot(*v.var), v.var->min_value(), v.var->max_value()), idx_t_);
      off = b_.add(off, b_.mul_const(var, v.var_coef));
    }
    return off;
  }

  // ---- emission ----

  Val emit(const UOp* u, Index idx, Val gate, bool is_root = false) {
    if (auto s = substitutes_.find(u); s != substitutes_.end()) return s->second;
    std::vector<Val> key = idx.dims.empty() ? std::vector<Val>{idx.flat} : idx.dims;
    MemoKey mkey{u, key, gate, idx.lanes, idx.lane_axis, idx.lane_flat};
    for (auto it = memo_.rbegin(); it != memo_.rend(); ++it) {
      auto f = it->find(mkey);
      if (f != it->end()) return f->second;
    }
    Val v = emit_uncached(u, idx, gate, is_root);
    memo_.back()[mkey] = v;
    return v;
  }

  Val emit_load(const UOp* u, Index& idx, Val gate) {
    Val p = param_for(u);
    Val base = flat_of(idx);
    const uint32_t flags = u == streamed_ ? KILN_IR_FLAG_STREAM : 0;
    Val l;
    if (idx.lanes == 1 || idx.lane_flat == 0) {
      l = b_.load(p, base, u->dtype, gate);
      b_.add_flags(l, flags);
    } else if (idx.lane_flat == 1) {
      l = b_.load(p, base, u->dtype, gate, -1, idx.lanes);
      b_.add_flags(l, flags);
    } else {
      std::vector<Val> lanes;
      for (int i = 0; i < idx.lanes; ++i) {
        lanes.push_back(b_.load(p, b_.add_const(base, i * idx.lane_flat), u->dtype, gate));
        b_.add_flags(lanes.back(), flags);
      }
      l = b_.vectorize(lanes);
    }
    return b_.cast(l, compute_dtype(u->dtype));
  }

  Val emit_uncached(const UOp* u, Index& idx, Val gate, bool is_root) {
    DType ct = compute_dtype(u->dtype);
    if (u == staged_vector_) return b_.cast(load_staged(u, idx), ct);
    if ((u->realized() && !is_root) || u->op == Op::Buffer) return emit_load(u, idx, gate);
    switch (u->op) {
      case Op::Const:
        return is_float(ct) ? b_.const_float(u->const_value, ct) : b_.const_int(u->const_int, ct);
      case Op::Arange: {
        Val base = flat_of(idx);
        if (idx.lanes == 1) return b_.cast(base, ct);
        std::vector<Val> lanes;
        for (int i = 0; i < idx.lanes; ++i) lanes.push_back(b_.add_const(base, i * idx.lane_flat));
        return b_.cast(b_.vectorize(lanes), ct);
      }
      case Op::Var:
        return b_.cast(b_.var(var_slot(*u->var), u->var->min_value(), u->var->max_value()), ct);
      case Op::View:
        return emit_view(u, idx, gate);
      case Op::Reduce:
        // a row kernel's reduce: every output of the group reads the row's value
        if (u == row_reduce_)
          return idx.lanes > 1 ? b_.broadcast(row_value_, idx.lanes) : row_value_;
        if (u == outer_reduce_) return outer_value_;
        if (auto nv = nested_values_.find(u); nv != nested_values_.end())
          return idx.lanes > 1 ? b_.broadcast(nv->second, idx.lanes) : nv->second;
        return emit_reduce(u, idx, gate);
      case Op::Gather:
        return emit_gather(u, idx, gate);
      default:
        break;
    }
    if (is_elementwise(u)) {
      std::vector<Val> s;
      for (const auto& src : u->src) s.push_back(emit(src.get(), idx, gate));
      return combine(u, s);
    }
    throw Error(std::string("internal: cannot lower ") + op_name(u->op));
  }

  // Where a view reads its source for idx: the source index and the mask condition.
  struct ViewStep {
    bool per_lane = false;     // lanes cannot be mapped: evaluate lane by lane
    bool all_invalid = false;  // the mask excludes everything
    Index sidx;
    Val valid = -1;  // -1: always valid
  };

  ViewStep view_step(const UOp* u, Index idx) {
    ViewStep out;
    if (u->st.is_contiguous()) {
      // a plain reshape: the source in row-major order is this index, as it is
      out.sidx = idx;
      return out;
    }
    const auto& views = u->st.views();
    std::vector<Val> dims;
    int lane_axis = -1;
    if (!dims_for(idx, u->shape, dims, lane_axis)) {
      out.per_lane = true;
      return out;
    }
    if (idx.lanes > 1) {
      const View& v = views.back();
      bool lane_masked = !v.mask.empty() && (v.mask[lane_axis].first > 0 ||
                                             v.mask[lane_axis].second < v.shape[lane_axis]);
      // (bounds that are multiples of the lanes, which start at a multiple of their count,
      // take or drop all of them together: one gated vector load, as for inner views below)
      if (lane_masked && v.mask[lane_axis].first % idx.lanes == 0 &&
          v.mask[lane_axis].second % idx.lanes == 0 && b_.lanes_stay(dims[lane_axis], 1, idx.lanes))
        lane_masked = false;
      if (lane_masked) {
        out.per_lane = true;
        return out;
      }
      if (views.size() > 1 && v.strides[lane_axis] == 0) {
        // every lane reads the same element: evaluate once, as a scalar
        idx.lanes = 1;
        lane_axis = -1;
      }
    }
    Val valid = -1, flat = -1;
    int64_t lane_step = idx.lanes > 1 ? views.back().strides[lane_axis] : 0;
    for (size_t vi = views.size(); vi-- > 0;) {
      const View& v = views[vi];
      // an inner view masked along the lanes' axis: the lanes start at a multiple of their
      // count there (lanes_stay proved it below), so bounds that are multiples of it take or
      // drop all of them together (a padded vocabulary row: one gated 16-byte load, not eight
      // gated scalar ones); other bounds split them
      if (idx.lanes > 1 && vi + 1 < views.size() && !v.mask.empty() &&
          (v.mask[lane_axis].first > 0 || v.mask[lane_axis].second < v.shape[lane_axis]) &&
          (v.mask[lane_axis].first % idx.lanes != 0 || v.mask[lane_axis].second % idx.lanes != 0)) {
        out.per_lane = true;
        return out;
      }
      if (!v.mask.empty()) {
        for (size_t a = 0; a < v.shape.size(); ++a) {
          auto [lo, hi] = v.mask[a];
          if (lo >= hi) {
            out.all_invalid = true;
            return out;
          }
          if (lo > 0) valid = b_.and_(valid, b_.lt(b_.const_int(lo - 1, idx_t_), dims[a]));
          if (hi < v.shape[a]) valid = b_.and_(valid, b_.lt(dims[a], b_.const_int(hi, idx_t_)));
        }
      }
      flat = view_offset(v);
      for (size_t a = 0; a < v.shape.size(); ++a)
        if (v.strides[a] != 0) flat = b_.add(flat, b_.mul_const(dims[a], v.strides[a]));
      if (vi > 0 && idx.lanes > 1) {
        // the lanes step by s = v.strides[lane_axis] in the inner view's row-major order; they
        // stay on one of its axes (no carry) when that axis has contiguous stride s, a length
        // divisible by the lanes, and lanes_stay proves flat starts at a multiple of the lanes
        // on it
        const int64_t s = v.strides[lane_axis];
        const Shape& inner = views[vi - 1].shape;
        auto cs = contiguous_strides(inner);
        int next = -1;
        for (size_t j = 0; j < inner.size() && s > 0; ++j)
          if (cs[j] == s && inner[j] > 1 && inner[j] % idx.lanes == 0) next = static_cast<int>(j);
        if (next < 0 || !b_.lanes_stay(flat, s, idx.lanes)) {
          out.per_lane = true;
          return out;
        }
        lane_axis = next;
        lane_step = views[vi - 1].strides[lane_axis];
      }
      if (vi > 0) dims = unravel(flat, views[vi - 1].shape);
    }
    if (valid >= 0 && b_.is_const(valid)) {
      if (!b_.const_value_int(valid)) {
        out.all_invalid = true;
        return out;
      }
      valid = -1;
    }
    out.sidx = Index{u->src[0]->shape, {}, flat};
    if (idx.lanes > 1 && lane_step != 0) {
      out.sidx.lanes = idx.lanes;
      out.sidx.lane_flat = lane_step;
    }
    out.valid = valid;
    return out;
  }

  Val emit_view(const UOp* u, Index& idx, Val gate) {
    ViewStep st = view_step(u, idx);
    if (st.per_lane) return devectorize(u, idx, gate);
    if (st.all_invalid) return zero(u->dtype);
    Val val = emit(u->src[0].get(), st.sidx, b_.and_(gate, st.valid));
    if (st.valid < 0) return val;
    return b_.alu(KILN_IR_WHERE, compute_dtype(u->dtype), st.valid, val, zero(u->dtype));
  }

  // ---- several output positions at once (register tiles): one reduce loop serves them ----

  bool is_elementwise(const UOp* u) const {
    return is_alu(u->op) || u->op == Op::Cast || u->op == Op::Bitcast || u->op == Op::Contiguous;
  }

  // The value of an elementwise node from its sources' values.
  Val combine(const UOp* u, const std::vector<Val>& s) {
    DType ct = compute_dtype(u->dtype);
    switch (u->op) {
      case Op::Contiguous:
        return s[0];
      case Op::Cast:
        if (ct != u->dtype) return b_.cast(b_.cast(s[0], u->dtype), ct);  // round to f16/bf16
        return b_.cast(s[0], ct);
      case Op::Bitcast:
        return b_.cast(b_.bitcast(b_.cast(s[0], u->src[0]->dtype), u->dtype), ct);
      default: {
        std::vector<Val> x = s;
        while (x.size() < 3) x.push_back(-1);
        return b_.alu(alu_op(u->op), ct, x[0], x[1], x[2]);
      }
    }
  }

  std::vector<Val> emit_group(const UOp* u, std::vector<Index>& idxs, Val gate,
                              bool is_root = false) {
    std::vector<Val> out;
    bool memory = (u->realized() && !is_root) || u->op == Op::Buffer;
    if (idxs.size() == 1 || memory) {
      for (auto& i : idxs) out.push_back(emit(u, i, gate, is_root));
      return out;
    }
    if (is_elementwise(u)) {
      std::vector<std::vector<Val>> srcs;
      for (const auto& src : u->src) srcs.push_back(emit_group(src.get(), idxs, gate));
      for (size_t r = 0; r < idxs.size(); ++r) {
        std::vector<Val> s;
        for (auto& v : srcs) s.push_back(v[r]);
        out.push_back(combine(u, s));
      }
      return out;
    }
    if (u->op == Op::View) {
      std::vector<Index> sidxs;
      bool simple = true;
      for (auto& i : idxs) {
        ViewStep st = view_step(u, i);
        simple &= !st.per_lane && !st.all_invalid && st.valid < 0;
        sidxs.push_back(st.sidx);
      }
      if (simple) return emit_group(u->src[0].get(), sidxs, gate);
    }
    if (u->op == Op::Reduce) return emit_reduce_group(u, idxs, gate);
    for (auto& i : idxs) out.push_back(emit(u, i, gate));
    return out;
  }

  Val reduce_init(const UOp* u, DType ct) {
    if (u->reduce_op == ReduceOp::Min && !is_float(ct))
      return b_.const_int(int_min_identity(ct), ct);
    if (u->reduce_op == ReduceOp::Max && !is_float(ct))
      return b_.const_int(int_max_identity(ct), ct);
    return b_.const_of(reduce_identity(u->reduce_op, ct), ct);
  }

  kiln_ir_op reduce_alu(const UOp* u, DType ct) {
    kiln_ir_op op = u->reduce_op == ReduceOp::Sum    ? KILN_IR_ADD
                    : u->reduce_op == ReduceOp::Prod ? KILN_IR_MUL
                    : u->reduce_op == ReduceOp::Max  ? KILN_IR_MAX
                                                     : KILN_IR_MIN;
    if (ct == DType::Bool) op = (op == KILN_IR_ADD || op == KILN_IR_MAX) ? KILN_IR_OR : KILN_IR_AND;
    return op;
  }

  Val emit_reduce(const UOp* u, Index& idx, Val gate) {
    std::vector<Index> one{idx};
    return emit_reduce_group(u, one, gate)[0];
  }

  std::vector<Val> emit_reduce_group(const UOp* u, std::vector<Index>& idxs, Val gate) {
    if (mma_ && u == mma_->plan.reduce) return emit_mma_reduce(u, idxs, gate);
    has_reduce_ = true;
    const UOp* src = u->src[0].get();
    DType ct = compute_dtype(u->dtype);
    size_t n_out = idxs.size();
    std::vector<std::vector<Val>> dims(n_out);
    std::vector<int> lane_axes(n_out, -1);
    for (size_t r = 0; r < n_out; ++r) {
      if (!dims_for(idxs[r], u->shape, dims[r], lane_axes[r])) {
        if (n_out == 1) return {devectorize(u, idxs[0], gate)};
        std::vector<Val> out;
        for (auto& i : idxs) out.push_back(emit(u, i, gate));
        return out;
      }
    }
    kiln_ir_op op = reduce_alu(u, ct);
    int lanes = idxs[0].lanes;
    // vectorize the innermost reduce axis when the output is scalar and loads run along it
    int red_lanes = 1;
    int last = u->axes.back();
    const bool scalar_outs = lanes == 1 && (n_out == 1 || dot_tile_);
    if (scalar_outs && opts_.red_lanes > 0) {
      if (src->shape[last] % opts_.red_lanes == 0) red_lanes = opts_.red_lanes;
    } else if (scalar_outs || (lanes == 1 && caps_.warp_size > 1)) {
      int l = reduce_lanes(src);
      int other = -1;
      for (int a = static_cast<int>(src->shape.size()) - 1; a >= 0; --a)
        if (std::find(u->axes.begin(), u->axes.end(), a) == u->axes.end() && src->shape[a] > 1) {
          other = a;
          break;
        }
      if (l > 1 && src->shape[last] % l == 0 && src->shape[last] >= l &&
          unit_stride_loads(src, last) > 0 &&
          (other < 0 || unit_stride_loads(src, last) >= unit_stride_loads(src, other)))
        red_lanes = l;
    }
    // GPU tiles of many scalar outputs keep one scalar accumulator each and fold every step's
    // vector product into it (an fma per lane): vector accumulators would not fit in registers
    const bool fold_steps = caps_.warp_size > 1 && lanes == 1 && n_out > 1 && red_lanes > 1 &&
                            op == KILN_IR_ADD && int64_t(n_out) * red_lanes > 64;
    int acc_lanes = fold_steps ? 1 : std::max(lanes, red_lanes);
    const int split = warp_split(u, src, last, red_lanes, n_out == 1);
    if (split > 1) warp_split_ = split;
    // A vector reduce (GEMV rows, norms) on a CPU keeps `unroll` independent accumulators so
    // consecutive FMAs do not wait on each other's latency; they are summed after the loop.
    // On a GPU, a split reduce keeps up to gpu_unroll() independent steps per iteration for the
    // same reason and so that several loads per thread are in flight; its steps interleave
    // (step uf of iteration i is i*unroll*split + uf*split + thread), so each load instruction
    // stays coalesced across the warp.
    int unroll = 1;
    const bool gpu_unroll_ok = split > 1 && n_out == 1 && op == KILN_IR_ADD;
    if (red_lanes > 1 && split == 1 && caps_.warp_size <= 1 && op == KILN_IR_ADD && n_out == 1)
      for (int uf : {4, 2})
        if (src->shape[last] % (int64_t(red_lanes) * uf) == 0 &&
            src->shape[last] / (red_lanes * uf) >= 1) {
          unroll = uf;
          break;
        }
    if (gpu_unroll_ok) {
      const int64_t per_thread = src->shape[last] / red_lanes / split;
      for (int uf = gpu_unroll(); uf >= 2; uf /= 2)
        if (per_thread % uf == 0) {
          unroll = uf;
          break;
        }
    }
    std::vector<Val> accs;
    for (size_t r = 0; r < n_out * unroll; ++r)
      accs.push_back(b_.acc(b_.broadcast(reduce_init(u, ct), acc_lanes)));
    std::vector<Val> ranges;
    std::vector<Val> loop_dims;
    for (int a : u->axes) {
      int64_t n = src->shape[a];
      if (a == last && red_lanes > 1) n /= red_lanes;
      if (a == last && split > 1) n /= split;
      if (a == last) n /= unroll;
      Val rg = b_.range(b_.const_int(0, idx_t_), b_.const_int(n, idx_t_), KILN_IR_FLAG_REDUCE);
      memo_.emplace_back();
      Val step = rg;
      if (a == last && split > 1)
        step = b_.add(b_.mul_const(rg, int64_t(split) * (gpu_unroll_ok ? unroll : 1)),
                      split == reduce_split_ ? reduce_tid_ : b_.cast(b_.special(3, split), idx_t_));
      if (a == last && unroll > 1 && !gpu_unroll_ok) step = b_.mul_const(step, unroll);
      loop_dims.push_back((a == last && red_lanes > 1) ? b_.mul_const(step, red_lanes) : step);
      ranges.push_back(rg);
    }
    for (int uf = 0; uf < unroll; ++uf) {
      std::vector<Index> sidxs;
      for (size_t r = 0; r < n_out; ++r) {
        std::vector<Val> d = dims[r];
        for (size_t k = 0; k < u->axes.size(); ++k) d[u->axes[k]] = loop_dims[k];
        if (uf > 0)
          d[last] = b_.add_const(
              d[last], int64_t(uf) * std::max(red_lanes, 1) * (gpu_unroll_ok ? split : 1));
        Index sidx{src->shape, d, -1};
        if (lanes > 1) {
          sidx.lanes = lanes;
          sidx.lane_axis = lane_axes[r];
          sidx.aligned = idxs[r].aligned;
        } else if (red_lanes > 1) {
          sidx.lanes = red_lanes;
          sidx.lane_axis = last;
          sidx.aligned = true;
        }
        sidxs.push_back(sidx);
      }
      std::vector<Val> vals = emit_group(src, sidxs, gate);
      for (size_t r = 0; r < n_out; ++r) {
        Val acc = accs[uf * n_out + r];
        if (fold_steps) {
          b_.assign(acc, fold_into(acc, vals[r], red_lanes, ct));
          continue;
        }
        Val next = op == KILN_IR_ADD ? b_.accumulate_add(acc, b_.broadcast(vals[r], acc_lanes), ct)
                                     : b_.alu(op, ct, acc, vals[r]);
        b_.assign(acc, next);
      }
    }
    for (size_t i = ranges.size(); i-- > 0;) {
      memo_.pop_back();
      b_.end_range(ranges[i]);
    }
    for (int uf = 1; uf < unroll; ++uf)
      for (size_t r = 0; r < n_out; ++r)
        b_.assign(accs[r], b_.alu(op, ct, accs[r], accs[uf * n_out + r]));
    accs.resize(n_out);
    if (fold_steps) red_lanes = 1;  // already scalar
    if (red_lanes > 1 && split > 1) {
      // fold the vector lanes first, so the warp exchange below moves one value, not 8
      for (Val& acc : accs) {
        Val h = b_.gep(acc, 0);
        for (int l = 1; l < red_lanes; ++l) h = b_.alu(op, ct, h, b_.gep(acc, l));
        acc = b_.acc(h);
      }
      acc_lanes = 1;
      red_lanes = 1;
    }
    // butterfly across each warp: every lane ends with its warp's part
    const int warp = static_cast<int>(caps_.warp_size);
    for (int m = std::min(split, warp) / 2; m >= 1; m /= 2)
      for (Val acc : accs) b_.assign(acc, b_.alu(op, ct, acc, b_.shfl_xor(acc, m)));
    if (split > warp) {
      // several warps: each writes its part to shared memory, then every thread folds the
      // parts in warp order (the same result in every thread)
      const int warps = split / warp;
      Val wid = b_.idiv_const(b_.cast(b_.special(3, split), idx_t_), warp);
      std::vector<Val> parts;
      for (Val acc : accs) {
        Val shared = b_.local(ct, int64_t(warps) * acc_lanes);
        b_.store(shared, b_.mul_const(wid, acc_lanes), acc);
        parts.push_back(shared);
      }
      b_.barrier();
      for (size_t r = 0; r < accs.size(); ++r) {
        Val total = b_.load(parts[r], b_.const_int(0, idx_t_), ct, -1, -1, acc_lanes);
        for (int x = 1; x < warps; ++x)
          total = b_.alu(op, ct, total,
                         b_.load(parts[r], b_.const_int(int64_t(x) * acc_lanes, idx_t_), ct, -1, -1,
                                 acc_lanes));
        b_.assign(accs[r], total);
      }
      b_.barrier();  // the parts may be rewritten (a reduce inside an outer loop)
    }
    if (red_lanes == 1) return accs;
    // horizontal: fold the lanes of each vector accumulator
    std::vector<Val> out;
    for (Val acc : accs) {
      Val h = b_.gep(acc, 0);
      for (int l = 1; l < red_lanes; ++l) h = b_.alu(op, ct, h, b_.gep(acc, l));
      out.push_back(h);
    }
    return out;
  }

  // acc + sum of the lanes of v (v a vector of `lanes`): an fma chain when v is a product.
  Val fold_into(Val acc, Val v, int lanes, DType ct) {
    const kiln_ir_inst& in = b_.insts().at(v);
    if (in.op == KILN_IR_MUL && is_float(ct)) {
      const Val a = in.src[0], c = in.src[1];
      for (int l = 0; l < lanes; ++l)
        acc = b_.alu(KILN_IR_MULADD, ct, b_.gep(a, l), b_.gep(c, l), acc);
      return acc;
    }
    for (int l = 0; l < lanes; ++l) acc = b_.alu(KILN_IR_ADD, ct, acc, b_.gep(v, l));
    return acc;
  }

  Val emit_gather(const UOp* u, Index& idx, Val gate) {
    if (idx.lanes > 1) return devectorize(u, idx, gate);
    const UOp* table = u->src[0].get();
    const UOp* index = u->src[1].get();
    std::vector<Val> dims;
    int lane_axis = -1;
    dims_for(idx, u->shape, dims, lane_axis);
    Val iv = b_.cast(emit(index, idx, gate), idx_t_);
    int64_t n = table->shape[u->axis];
    Val valid = b_.and_(b_.lt(b_.const_int(-1, idx_t_), iv), b_.lt(iv, b_.const_int(n, idx_t_)));
    dims[u->axis] = iv;
    Index tidx{table->shape, dims, -1};
    Val val = emit(table, tidx, b_.and_(gate, valid));
    return b_.alu(KILN_IR_WHERE, compute_dtype(u->dtype), valid, val, zero(u->dtype));
  }
};

}  // namespace

kiln_kernel LoweredKernel::view() const {
  kiln_kernel k{};
  k.ir_version = KILN_IR_VERSION;
  k.name = name.c_str();
  k.insts = insts.data();
  k.n_insts = static_cast<uint32_t>(insts.size());
  k.operands = operands.data();
  k.n_operands = static_cast<uint32_t>(operands.size());
  k.n_params = static_cast<uint32_t>(params.size());
  k.n_vars = static_cast<uint32_t>(vars.size());
  for (int i = 0; i < 3; ++i) {
    k.global_size[i] = global_size[i];
    k.local_size[i] = local_size[i];
  }
  return k;
}

uint64_t LoweredKernel::ir_hash() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the instruction bytes
  auto feed = [&](const void* p, size_t n) {
    auto* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  };
  for (const auto& i : insts) {
    feed(&i.op, sizeof i.op);
    feed(&i.dtype, 1);
    feed(&i.vcount, 1);
    feed(&i.flags, sizeof i.flags);
    feed(i.src, sizeof i.src);
    feed(&i.arg, 8);
    feed(&i.arg2, 8);
    feed(&i.imm, 8);
  }
  feed(operands.data(), operands.size() * sizeof(int32_t));
  feed(name.data(), name.size());
  feed(global_size, sizeof global_size);
  feed(local_size, sizeof local_size);
  return h;
}

LoweredKernel lower_assign(const UOpRef& target, const UOpRef& value,
                           const kiln_device_caps& caps) {
  Lowerer l(caps);
  return l.run_assign(target, value);
}

LoweredKernel lower_kernel(const UOpRef& root, const kiln_device_caps& caps,
                           const KernelOpts& opts) {
  Lowerer l(caps, opts);
  return l.run(root);
}

std::string KernelOpts::str() const {
  return "lanes=" + std::to_string(lanes) + " rows=" + std::to_string(rows) +
         " red_lanes=" + std::to_string(red_lanes);
}

std::vector<KernelOpts> candidate_opts(const UOpRef& root, const kiln_device_caps& caps) {
  std::vector<KernelOpts> out;
  if (root->op == Op::Attention || root->shape.empty()) return out;
  int64_t last = root->shape.back();
  bool has_reduce = fragment_reduce(root.get()) != nullptr;
  int64_t m = root->shape.size() >= 2 ? root->shape[root->shape.size() - 2] : 1;
  int max_lanes = std::max(1, std::min(16, static_cast<int>(caps.preferred_vector_bytes) / 2));
  for (int lanes : {1, 4, 8, 16}) {
    if (lanes > max_lanes || (lanes > 1 && last % lanes != 0)) continue;
    if (!has_reduce) {
      out.push_back({lanes, 1, -1});
      continue;
    }
    for (int rows : {1, 2, 4, 6, 8}) {
      if (rows > 1 && (m % rows != 0 || lanes == 1)) continue;
      if (lanes == 1 && rows == 1) {
        for (int red : {1, 4, 8, 16}) out.push_back({1, 1, red});
      } else {
        out.push_back({lanes, rows, 1});
      }
    }
  }
  return out;
}

}  // namespace kiln::detail
