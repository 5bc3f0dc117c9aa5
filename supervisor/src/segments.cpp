#include "segments.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kiln/ipc/shm.h"

namespace kiln::supervisor {

void SegmentLedger::acquire(const std::string& name, uint64_t size, const std::string& holder, bool once,
                            std::optional<Clock::time_point> expires) {
  Segment& s = segments_[name];
  s.size = size;
  if (once) {
    for (auto& r : s.refs) {
      if (r.holder == holder) {
        r.expires = expires;  // a renewed reference
        return;
      }
    }
  }
  s.refs.push_back(Ref{holder, expires});
}

void SegmentLedger::drop_if_unheld(std::map<std::string, Segment>::iterator it) {
  if (!it->second.refs.empty()) return;
  ipc::shm_remove(it->first);
  segments_.erase(it);
}

bool SegmentLedger::release(const std::string& name, const std::string& holder) {
  auto it = segments_.find(name);
  if (it == segments_.end()) return false;
  auto& refs = it->second.refs;
  auto r = std::find_if(refs.begin(), refs.end(), [&](const Ref& x) { return x.holder == holder; });
  if (r == refs.end()) return false;
  refs.erase(r);
  drop_if_unheld(it);
  return true;
}

void SegmentLedger::release_holder(const std::string& holder) {
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto next = std::next(it);
    auto& refs = it->second.refs;
    auto before = refs.size();
    refs.erase(std::remove_if(refs.begin(), refs.end(), [&](const Ref& x) { return x.holder == holder; }), refs.end());
    if (refs.size() != before) drop_if_unheld(it);
    it = next;
  }
}

void SegmentLedger::expire(Clock::time_point now) {
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto next = std::next(it);
    auto& refs = it->second.refs;
    auto before = refs.size();
    refs.erase(std::remove_if(refs.begin(), refs.end(), [&](const Ref& x) { return x.expires && now > *x.expires; }),
               refs.end());
    if (refs.size() != before) {
      spdlog::debug("shared memory {}: a client did not release it within limits.shm_ttl", it->first);
      drop_if_unheld(it);
    }
    it = next;
  }
}

void SegmentLedger::clear() {
  for (const auto& [name, s] : segments_) ipc::shm_remove(name);
  segments_.clear();
}

size_t SegmentLedger::references(const std::string& name) const {
  auto it = segments_.find(name);
  return it == segments_.end() ? 0 : it->second.refs.size();
}

ipc::json SegmentLedger::to_json(size_t max_list) const {
  uint64_t bytes = 0;
  ipc::json list = ipc::json::array();
  for (const auto& [name, s] : segments_) {
    bytes += s.size;
    if (list.size() >= max_list) continue;
    ipc::json holders = ipc::json::array();
    for (const auto& r : s.refs) holders.push_back(r.holder);
    list.push_back({{"name", name}, {"size", s.size}, {"holders", holders}});
  }
  return {{"segments", segments_.size()}, {"bytes", bytes}, {"list", list}};
}

}  // namespace kiln::supervisor
