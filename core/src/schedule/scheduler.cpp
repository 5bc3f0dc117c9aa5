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
      if (!dup) parents[s.get()]++;
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
      // a reduce fragment used twice would run its loop twice: compute it once
      if (p && parents[u] > 1) realize.insert(u);
    }
  }
};

}  // namespace

Schedule create_schedule(const std::vector<UOpRef>& outputs) {
  Planner planner;
  for (const auto& o : outputs) planner.visit(o);
  for (const auto& o : outputs)
    if (!is_leaf(o.get())) planner.realize.insert(o.get());
  planner.plan();
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
