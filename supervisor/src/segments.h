// The supervisor's ledger of shared-memory segments: who holds each one. A segment is kept
// while it has at least one holder and removed (shm_unlink) when the last one lets go.
//
// The count lives here, in the supervisor, not in the segment: a holder that crashes never
// decrements a counter in shared memory, but the supervisor sees every holder go (a runner
// exits, a client disconnects or lets its time-to-live pass) and drops its references then.
// Holders are named "job:<uid>" (a job in flight), "runner:<uid>" (a runner working on a job
// that reads the segment), "client:<key>" (a client that received the segment as a result,
// or created it as an input, and has not sent Release yet).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kiln/ipc/codec.h"

namespace kiln::supervisor {

class SegmentLedger {
 public:
  using Clock = std::chrono::steady_clock;

  // Adds one reference of `holder` to segment `name` (entering it in the ledger if new).
  // `once`: the holder keeps at most one reference (clients), otherwise references count
  // (one per job a runner runs on it). `expires`: the reference lapses then (clients).
  void acquire(const std::string& name, uint64_t size, const std::string& holder, bool once = false,
               std::optional<Clock::time_point> expires = std::nullopt);
  // Drops one reference of `holder`; removes the segment when none is left. False when the
  // holder held none (an unknown name, another client's segment).
  bool release(const std::string& name, const std::string& holder);
  // Drops every reference of `holder` (it finished, died or went away).
  void release_holder(const std::string& holder);
  // Drops references whose time has passed.
  void expire(Clock::time_point now);
  // Removes every segment in the ledger (shutdown).
  void clear();

  bool contains(const std::string& name) const { return segments_.count(name) != 0; }
  size_t references(const std::string& name) const;
  size_t size() const { return segments_.size(); }
  // {segments, bytes, list: [{name, size, holders: [...]}]} (the list capped at `max_list`).
  ipc::json to_json(size_t max_list = 64) const;

 private:
  struct Ref {
    std::string holder;
    std::optional<Clock::time_point> expires;
  };
  struct Segment {
    uint64_t size = 0;
    std::vector<Ref> refs;
  };
  void drop_if_unheld(std::map<std::string, Segment>::iterator it);

  std::map<std::string, Segment> segments_;
};

}  // namespace kiln::supervisor
