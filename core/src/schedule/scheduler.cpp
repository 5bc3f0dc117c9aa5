#include "schedule/scheduler.h"

#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace kiln::detail {

namespace {

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

  void plan() {
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
          if (fragment_reduce(u->src[0].get())) realize.insert(u->src[0].get());
          p = u;
          break;
        case Op::View: {
          const UOp* s = u->src[0].get();
          if (const UOp* r = fragment_reduce(s)) {
            if (u->st.is_contiguous()) p = r;
            else realize.insert(s);
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
            if (!p) p = r;
            else if (r != p) realize.insert(s.get());
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
        if (realize.count(p)) r.insert(p);
        else
          for (const UOp* x : roots[p]) r.insert(x);
      }
    }
    return roots;
  }

  // A reduce fragment fused into two kernels would run its loop in each: realize it once.
  // Repeat until stable, as each realization changes what its producers fuse into.
  void plan_to_fixpoint() {
    for (int round = 0; round < 64; ++round) {
      plan();
      auto roots = consumers();
      bool changed = false;
      for (const UOp* u : topo) {
        if (is_leaf(u) || realize.count(u)) continue;
        auto it = pending.find(u);
        if (it == pending.end() || !it->second) continue;
        if (roots[u].size() > 1) {
          realize.insert(u);
          changed = true;
        }
      }
      if (!changed) return;
    }
  }
};

}  // namespace

Schedule create_schedule(const std::vector<UOpRef>& outputs) {
  Planner planner;
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
