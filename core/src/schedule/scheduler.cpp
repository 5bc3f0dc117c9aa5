#include "schedule/scheduler.h"

#include <cstdlib>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "kiln/env.h"

namespace kiln::detail {

namespace {

// u reduces exactly its source's last axis
bool last_axis_reduce(const UOp* u) {
  return u->axes.size() == 1 && u->axes[0] == static_cast<int>(u->src[0]->shape.size()) - 1;
}

// `view` broadcasts `src` (holding reduce `r`'s rows, in r's row-major order) back along r's
// reduced last axis: view element (i..., j) reads src's flat element i.
bool is_row_broadcast(const UOp* view, const UOp* src, const UOp* r) {
  const UOp* in = r->src[0].get();
  if (!last_axis_reduce(r)) return false;
  if (view->shape != in->shape || src->numel() != r->numel() || view->st.views().size() != 1)
    return false;
  const View& v = view->st.views()[0];
  if (v.offset != 0 || v.var || !v.mask.empty()) return false;
  Shape rows(in->shape.begin(), in->shape.end() - 1);
  std::vector<int64_t> want = contiguous_strides(rows);
  want.push_back(0);
  for (size_t a = 0; a < want.size(); ++a)
    if (in->shape[a] > 1 && v.strides[a] != want[a]) return false;
  return in->shape.back() > 1;
}

// The start of `view`'s window on a row-major `src` of shape `shape` when it is one: a run of the
// last axis, the other axes whole, nothing broadcast or padded (a slice). -1 otherwise.
int64_t last_axis_window(const UOp* view, const Shape& shape) {
  if (view->st.views().size() != 1 || view->shape.size() != shape.size() || shape.empty())
    return -1;
  const View& v = view->st.views()[0];
  if (v.var || !v.mask.empty()) return -1;
  const size_t last = shape.size() - 1;
  const std::vector<int64_t> want = contiguous_strides(shape);
  for (size_t a = 0; a < shape.size(); ++a) {
    if (a < last && view->shape[a] != shape[a]) return -1;
    if (view->shape[a] > 1 && v.strides[a] != want[a]) return -1;
  }
  const int64_t n = view->shape.back(), start = v.offset;
  return n < shape.back() && start >= 0 && start + n <= shape.back() ? start : -1;
}

// src (a last-axis reduce r's output, or a cast of it) is read only as its last axis's two
// halves, by two slices: the decode MLP's silu(gate) * up over the stacked gate/up GEMV. With
// ScheduleOptions::fuse_reduce_halves the reduce runs in the kernel that combines them (one
// warp a half of each output, lowerer's emit_gemv_block) instead of a kernel of its own.
bool read_as_halves(const UOp* src, const UOp* r, const std::vector<const UOp*>& parents) {
  if (!last_axis_reduce(r) || !holds_in_order(src, r)) return false;
  // (a kept reduced axis, as matmul's sum leaves it before its reshape folds into the slices,
  // is not the axis halved)
  Shape shape = src->shape;
  while (shape.size() > 1 && shape.back() == 1) shape.pop_back();
  if (parents.size() != 2 || shape.back() % 2 != 0) return false;
  const int64_t half = shape.back() / 2;
  int64_t starts = 0;
  for (const UOp* p : parents) {
    if (p->op != Op::View || p->shape.back() != half) return false;
    const int64_t s = last_axis_window(p, shape);
    if (s != 0 && s != half) return false;
    starts += s + 1;
  }
  return starts == half + 2;  // one each
}

bool is_leaf(const UOp* u) {
  return u->realized() || u->op == Op::Buffer || u->op == Op::Const || u->op == Op::Arange ||
         u->op == Op::Var;
}

struct Planner {
  std::vector<const UOp*> topo;
  std::unordered_map<const UOp*, UOpRef> refs;
  std::unordered_map<const UOp*, int> parents;
  std::unordered_map<const UOp*, std::vector<const UOp*>> parent_list;
  std::unordered_set<const UOp*> realize;
  // the reduce whose loop sits inside this node's (unrealized) fragment
  std::unordered_map<const UOp*, const UOp*> pending;
  // reduces fused through a row broadcast, with the broadcast sources (realized instead when
  // the kernel they land in is not a row kernel)
  std::unordered_map<const UOp*, std::vector<const UOp*>> row_fused;
  // single-value reduces fused through a broadcast, with the broadcast sources (realized
  // instead unless another reduce's source takes them in: nested)
  bool nest_scalars = false;
  bool fuse_halves = false;  // ScheduleOptions::fuse_reduce_halves
  std::unordered_map<const UOp*, std::vector<const UOp*>> scalar_fused;
  std::unordered_set<const UOp*> nested, refused;

  void visit(const UOpRef& root) {
    // iterative DFS, children before parents
    std::vector<std::pair<const UOp*, size_t>> stack;
    std::unordered_set<const UOp*> seen;
    if (refs.count(root.get())) return;
    refs[root.get()] = root;
    stack.push_back({root.get(), 0});
    seen.insert(root.get());
    while (!stack.empty()) {
      auto& [u, i] = stack.back();
      if (is_leaf(u) || i >= u->src.size()) {
        topo.push_back(u);
        stack.pop_back();
        continue;
      }
      const UOpRef& s = u->src[i++];
      bool dup = false;
      for (size_t j = 0; j + 1 < i; ++j) dup |= (u->src[j] == s);
      if (!dup) {
        parents[s.get()]++;
        parent_list[s.get()].push_back(u);
      }
      if (refs.count(s.get()) == 0) {
        refs[s.get()] = s;
        stack.push_back({s.get(), 0});
      }
    }
  }

  const UOp* fragment_reduce(const UOp* u) const {
    if (realize.count(u)) return nullptr;
    auto it = pending.find(u);
    return it == pending.end() ? nullptr : it->second;
  }

  // r is a single value the kernel of a reduce over its source's last axis can compute first
  static bool nestable(const UOp* r) { return r->numel() == 1; }

  void plan() {
    row_fused.clear();
    scalar_fused.clear();
    nested.clear();
    refused.clear();
    for (const UOp* u : topo) {
      if (is_leaf(u)) continue;
      const UOp* p = nullptr;
      switch (u->op) {
        case Op::Contiguous:
        case Op::Copy:
          realize.insert(u);
          if (u->op == Op::Copy && !is_leaf(u->src[0].get())) realize.insert(u->src[0].get());
          break;
        case Op::Reduce:
          if (const UOp* r = fragment_reduce(u->src[0].get())) {
            if (!scalar_fused.count(r))
              realize.insert(u->src[0].get());
            else  // (a refused one is cut at its broadcasts below, not at this whole source)
              (last_axis_reduce(u) ? nested : refused).insert(r);
          }
          p = u;
          break;
        case Op::View: {
          const UOp* s = u->src[0].get();
          if (const UOp* r = fragment_reduce(s)) {
            if (u->st.is_contiguous()) {
              p = r;
            } else if (is_row_broadcast(u, s, r) && r->src[0]->shape.back() <= kMaxRowKernel) {
              p = r;
              row_fused[r].push_back(s);
            } else if (nest_scalars && nestable(r)) {
              p = r;
              scalar_fused[r].push_back(s);
            } else if (fuse_halves && read_as_halves(s, r, parent_list[s])) {
              p = r;
            } else {
              realize.insert(s);
            }
          }
          break;
        }
        case Op::Attention:
          // its own kernel; memory-like inputs (elementwise fragments fuse into its loads)
          realize.insert(u);
          for (const auto& s : u->src)
            if (fragment_reduce(s.get())) realize.insert(s.get());
          break;
        case Op::Gather:
          for (const auto& s : u->src)
            if (fragment_reduce(s.get())) realize.insert(s.get());
          break;
        default:  // ALU and casts
          for (const auto& s : u->src) {
            const UOp* r = fragment_reduce(s.get());
            if (!r) continue;
            if (!p)
              p = r;
            else if (r != p)
              realize.insert(s.get());
          }
          break;
      }
      pending[u] = p;
    }
  }

  // The kernels (realized roots) each node's value is fused into.
  std::unordered_map<const UOp*, std::unordered_set<const UOp*>> consumers() const {
    std::unordered_map<const UOp*, std::unordered_set<const UOp*>> roots;
    for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
      const UOp* u = *it;
      auto& r = roots[u];
      if (realize.count(u)) r.insert(u);
      auto pl = parent_list.find(u);
      if (pl == parent_list.end()) continue;
      for (const UOp* p : pl->second) {
        if (realize.count(p))
          r.insert(p);
        else
          for (const UOp* x : roots[p]) r.insert(x);
      }
    }
    return roots;
  }

  // The reduce in the fragment of kernel root u.
  const UOp* root_reduce(const UOp* u) const {
    if (u->op == Op::Contiguous) return fragment_reduce(u->src[0].get());
    auto it = pending.find(u);
    return it == pending.end() ? nullptr : it->second;
  }

  // A reduce fragment fused into two kernels would run its loop in each: realize it once.
  // Repeat until stable, as each realization changes what its producers fuse into.
  void plan_to_fixpoint() {
    for (int round = 0; round < 64; ++round) {
      plan();
      auto roots = consumers();
      bool changed = false;
      // a row-broadcast reduce only fuses into a row kernel: elsewhere every output would run
      // the row's loop again
      for (const UOp* u : topo) {
        if (!realize.count(u) || is_leaf(u)) continue;
        const UOp* r = root_reduce(u);
        auto rf = r ? row_fused.find(r) : row_fused.end();
        if (rf == row_fused.end() || is_row_kernel(u, r)) continue;
        for (const UOp* s : rf->second) changed |= realize.insert(s).second;
      }
      // a single value broadcast to anything but another reduce's source is its own kernel:
      // elsewhere every output would run its loop again
      for (const auto& [r, sources] : scalar_fused)
        if (!nested.count(r) || refused.count(r))
          for (const UOp* s : sources) changed |= realize.insert(s).second;
      for (const UOp* u : topo) {
        if (is_leaf(u) || realize.count(u)) continue;
        auto it = pending.find(u);
        if (it == pending.end() || !it->second) continue;
        if (roots[u].size() > 1) {
          // (a nested single value under it is computed in its own kernel instead, as without
          // nesting, rather than this node realized in every shape it takes on the way)
          auto sf = scalar_fused.find(it->second);
          if (sf != scalar_fused.end()) {
            for (const UOp* s : sf->second) changed |= realize.insert(s).second;
          } else {
            realize.insert(u);
            changed = true;
          }
        }
      }
      if (!changed) return;
    }
  }
};

}  // namespace

bool holds_in_order(const UOp* s, const UOp* r) {
  for (; s != r; s = s->src[0].get())
    if (s->realized() || !(s->op == Op::Cast || (s->op == Op::View && s->st.is_contiguous())))
      return false;
  return true;
}

bool is_row_kernel(const UOp* root, const UOp* reduce) {
  if (!reduce || root->op == Op::Reduce || reduce->axes.size() != 1) return false;
  const Shape& in = reduce->src[0]->shape;
  return root->shape == in && reduce->axes[0] == static_cast<int>(in.size()) - 1 && in.back() > 1 &&
         in.back() <= kMaxRowKernel;
}

ScheduleOptions schedule_options_for(const Device* device) {
  ScheduleOptions o;
  if (!device) return o;
  // (read once: every realize asks)
  static const bool off = env::is_off("KILN_NEST_SCALAR");
  const kiln_device_caps& c = device->caps();
  o.nest_scalar_reduces = c.warp_size > 1 && c.local_memory_bytes > 0 && !off;
  // (KILN_FUSE_MLP_HALVES=1, with the llama plugin's decode reading its stacked gate/up lazily:
  // on an H100 16 kernels a step fewer, the same time, so off by default; session 14)
  static const bool halves = env::is_on("KILN_FUSE_MLP_HALVES");
  o.fuse_reduce_halves = o.nest_scalar_reduces && halves;
  return o;
}

Schedule create_schedule(const std::vector<UOpRef>& outputs, const ScheduleOptions& opts) {
  Planner planner;
  planner.nest_scalars = opts.nest_scalar_reduces;
  planner.fuse_halves = opts.fuse_reduce_halves;
  for (const auto& o : outputs) planner.visit(o);
  for (const auto& o : outputs)
    if (!is_leaf(o.get())) planner.realize.insert(o.get());
  planner.plan_to_fixpoint();
  Schedule schedule;
  for (const UOp* u : planner.topo) {
    if (!planner.realize.count(u) || is_leaf(u)) continue;
    ScheduleItem item;
    item.kind = u->op == Op::Copy ? ScheduleItem::Kind::Copy : ScheduleItem::Kind::Kernel;
    item.root = planner.refs[u];
    schedule.items.push_back(std::move(item));
  }
  return schedule;
}

}  // namespace kiln::detail
