// Models and their runner processes: spawning, restarting with backoff, draining, memory
// budget (LRU unloading), idle unloading and routing jobs to the least loaded replica.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "kiln/error.h"
#include "kiln/ipc/shm.h"
#include "state.h"

namespace fs = std::filesystem;

namespace kiln::supervisor {

namespace err = ipc::err;

Model* Supervisor::State::find_model(const std::string& name) {
  auto it = models.find(name);
  return it == models.end() ? nullptr : &it->second;
}

ModelStatus Supervisor::State::status_of(const Model& m) const {
  bool alive = false;
  for (const auto& slot : m.slots) {
    auto r = runners.find(slot.runner);
    if (r == runners.end()) continue;
    if (r->second.state == RunnerState::Ready) return ModelStatus::Ready;
    if (r->second.state != RunnerState::Draining) alive = true;
  }
  if (alive) return ModelStatus::Loading;
  if (m.failed) return ModelStatus::Failed;
  if (m.wanted) return ModelStatus::Loading;
  return ModelStatus::Unloaded;
}

void Supervisor::State::want_loaded(Model& m) {
  if (m.failed) {
    // A new request is a new attempt.
    m.failed = false;
    for (auto& slot : m.slots) {
      slot.failures = 0;
      slot.restart_at.reset();
    }
  }
  m.wanted = true;
  ensure_runners(m);
}

uint64_t Supervisor::State::memory_estimate(const Model& m) const {
  uint64_t per_replica = m.cfg.memory_bytes ? m.cfg.memory_bytes : m.reported_memory;
  if (per_replica == 0 && !m.cfg.path.empty()) {
    std::error_code ec;
    if (fs::is_directory(m.cfg.path, ec)) {
      for (fs::recursive_directory_iterator it(m.cfg.path, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) per_replica += it->file_size(ec);
      }
    } else {
      auto size = fs::file_size(m.cfg.path, ec);
      if (!ec) per_replica = size;
    }
  }
  return per_replica * m.cfg.replicas;
}

bool Supervisor::State::has_room_for(Model& m) {
  const Limits& lim = config.limits;
  if (lim.memory_budget_bytes == 0 && lim.max_loaded_models == 0) return true;
  const uint64_t need = memory_estimate(m);
  if (lim.memory_budget_bytes && need > lim.memory_budget_bytes) {
    m.last_error = "model '" + m.cfg.name + "' needs about " + std::to_string(need) +
                   " bytes, more than limits.memory_budget (" + std::to_string(lim.memory_budget_bytes) + ")";
    m.failed = true;
    m.wanted = false;
    fail_queue(m, err::kLoadFailed, m.last_error);
    return false;
  }
  auto live = [&](const Model& x) {
    for (const auto& slot : x.slots)
      if (!slot.runner.empty()) return true;
    return false;
  };
  auto busy = [&](const Model& x) {
    if (!x.load_waiters.empty()) return true;
    for (uint64_t q : x.queue)
      if (jobs.count(q) && jobs.at(q).state == Job::State::Queued) return true;
    for (const auto& slot : x.slots) {
      auto r = runners.find(slot.runner);
      if (r != runners.end() && !r->second.jobs.empty()) return true;
    }
    return false;
  };
  uint64_t used = 0;
  int64_t loaded = 0;
  for (auto& [name, x] : models) {
    if (&x == &m || !live(x)) continue;
    used += memory_estimate(x);
    ++loaded;
  }
  auto fits = [&] {
    return (lim.memory_budget_bytes == 0 || used + need <= lim.memory_budget_bytes) &&
           (lim.max_loaded_models == 0 || loaded < lim.max_loaded_models);
  };
  if (fits()) {
    m.waiting_for_memory = false;
    return true;
  }
  // Unload idle models, least recently used first. Their runners count as loaded until they
  // have exited, so this returns false now and the next tick retries.
  std::vector<Model*> idle;
  for (auto& [name, x] : models) {
    if (&x == &m || !live(x) || busy(x) || x.wanted == false) continue;
    idle.push_back(&x);
  }
  std::sort(idle.begin(), idle.end(), [](Model* a, Model* b) { return a->last_used < b->last_used; });
  for (Model* x : idle) {
    if (fits()) break;
    spdlog::info("unloading model '{}' (least recently used) to make room for '{}'", x->cfg.name, m.cfg.name);
    used -= memory_estimate(*x);
    --loaded;
    drain_model(*x);
  }
  if (!m.waiting_for_memory) {
    spdlog::info("model '{}' waits for memory (limits.memory_budget / max_loaded_models)", m.cfg.name);
  }
  m.waiting_for_memory = true;
  return false;
}

void Supervisor::State::ensure_runners(Model& m) {
  if (!m.wanted) return;
  const auto now = Clock::now();
  bool any_live = false;
  for (const auto& slot : m.slots) any_live |= !slot.runner.empty();
  for (size_t i = 0; i < m.slots.size(); ++i) {
    ReplicaSlot& slot = m.slots[i];
    if (!slot.runner.empty()) continue;
    if (slot.restart_at && now < *slot.restart_at) continue;
    if (!any_live && !has_room_for(m)) return;
    any_live = true;
    slot.restart_at.reset();
    spawn_runner(m, static_cast<int>(i));
    if (!m.wanted) return;  // the spawn failed
  }
}

void Supervisor::State::spawn_runner(Model& m, int replica) {
  const std::string uid = std::string("r") + std::to_string(next_runner++);
  std::vector<std::string> args = {"--backend", backend_url, "--id", uid, "--instance", config.instance,
                                   "--parent-pid", std::to_string(getpid())};
  std::unique_ptr<RunnerProcess> process;
  try {
    process = std::make_unique<RunnerProcess>(runner_exe, args);
  } catch (const Error& e) {
    m.last_error = e.what();
    m.failed = true;
    m.wanted = false;
    spdlog::error("model '{}': {}", m.cfg.name, e.what());
    fail_queue(m, err::kLoadFailed, e.what());
    return;
  }
  Runner& r = runners[uid];
  r.uid = uid;
  r.model = m.cfg.name;
  r.replica = replica;
  r.process = std::move(process);
  r.spawned_at = r.last_seen = Clock::now();
  m.slots[replica].runner = uid;
  spdlog::info("model '{}' replica {}: started runner {} (pid {})", m.cfg.name, replica, uid, r.process->pid());
}

void Supervisor::State::drain_model(Model& m) {
  m.wanted = false;
  m.waiting_for_memory = false;
  for (auto& slot : m.slots) {
    slot.restart_at.reset();
    auto it = runners.find(slot.runner);
    if (it == runners.end()) continue;
    Runner& r = it->second;
    if (r.state == RunnerState::Draining) continue;
    r.state = RunnerState::Draining;
    if (r.connected) {
      send_to_runner(r, json{{"t", "drain"}});
    } else {
      r.kill_reason = "unloaded before it connected";
      r.process->kill();
    }
  }
}

void Supervisor::State::on_runner_exit(Runner& r, const std::string& how) {
  const std::string uid = r.uid;
  Model* m = find_model(r.model);
  const bool intended = r.state == RunnerState::Draining;
  std::string reason = !r.kill_reason.empty() ? r.kill_reason : !r.failure.empty() ? r.failure : how;
  // Jobs it was running: one that already sent output (stream chunks, progress) ends with
  // runner_crashed — its client has seen part of an answer, so running it again would show
  // another. One that sent nothing yet goes back to the front of the queue, once, unless the
  // runner was stopped on purpose (a poison job then crashes at most two runners).
  std::vector<uint64_t> lost(r.jobs.begin(), r.jobs.end());
  std::vector<uint64_t> requeue;
  r.jobs.clear();
  for (uint64_t j : lost) {
    auto it = jobs.find(j);
    if (it == jobs.end()) continue;
    Job& job = it->second;
    job.runner.clear();
    if (job.state == Job::State::Done) {
      finish(job);
    } else if (!intended && m && m->wanted && !job.sent_output && !job.cancelled_at && job.attempts < 2) {
      job.state = Job::State::Queued;
      requeue.push_back(j);
    } else {
      reply(job, ipc::make_error(job.id, err::kRunnerCrashed,
                                 "the runner of model '" + r.model + "' stopped (" + reason + ") during the job"));
    }
  }
  if (m) {
    for (auto j = requeue.rbegin(); j != requeue.rend(); ++j) m->queue.push_front(*j);
    if (!requeue.empty()) spdlog::info("model '{}': {} job(s) that had sent nothing yet go back to the queue", r.model, requeue.size());
  }
  const int replica = r.replica;
  const std::string failure = r.failure;
  const bool was_ready = r.stable;
  if (intended) {
    spdlog::info("model '{}' replica {}: runner {} stopped ({})", r.model, replica, uid, how);
  } else {
    spdlog::warn("model '{}' replica {}: runner {} {}", r.model, replica, uid, reason);
  }
  runners.erase(uid);  // r is gone from here on
  // Crash recovery: the runner's references go (inputs it was reading), and segments it
  // wrote whose reply never arrived (in no ledger entry) are orphans.
  segments.release_holder(runner_holder(uid));
  for (const auto& name : ipc::shm_list(shm_prefix + uid + ".")) {
    if (!segments.contains(name)) ipc::shm_remove(name);
  }
  if (!m) return;
  ReplicaSlot& slot = m->slots[replica];
  slot.runner.clear();
  if (!intended) {
    ++slot.failures;
    m->last_error = failure.empty() ? "runner " + reason : failure;
    if (!failure.empty() || slot.failures > config.runners.max_restarts) {
      // A load error repeats itself; a runner crashing again and again is not retried
      // forever. The next request for the model tries again.
      if (failure.empty()) {
        m->last_error = "runner crashed " + std::to_string(slot.failures) + " times in a row (" + reason + ")";
      }
      m->failed = true;
      m->wanted = false;
      drain_model(*m);
      fail_queue(*m, err::kLoadFailed, "model '" + m->cfg.name + "': " + m->last_error);
    } else if (m->wanted) {
      ++m->restarts;
      int64_t backoff = config.runners.restart_backoff_min_ms;
      for (int i = 1; i < slot.failures && backoff < config.runners.restart_backoff_max_ms; ++i) backoff *= 2;
      backoff = std::min(backoff, config.runners.restart_backoff_max_ms);
      slot.restart_at = Clock::now() + std::chrono::milliseconds(backoff);
      spdlog::info("model '{}' replica {}: restarting in {} ms{}", m->cfg.name, replica, backoff,
                   was_ready ? "" : " (it had not become ready)");
    }
  }
  bool any = false;
  for (const auto& s : m->slots) any |= !s.runner.empty();
  if (!any && !m->free_waiters.empty()) {
    auto waiters = m->free_waiters;
    for (uint64_t w : waiters) {
      auto it = jobs.find(w);
      if (it != jobs.end()) reply(it->second, ipc::make_result(it->second.id, {{"model", m->cfg.name}, {"state", "unloaded"}}));
    }
    m->free_waiters.clear();
  }
  if (!any && m->adhoc && !m->wanted && m->queue.empty() && m->load_waiters.empty()) {
    // A model a client added lives as long as it is loaded.
    models.erase(m->cfg.name);
    return;
  }
  ensure_runners(*m);
}

void Supervisor::State::fail_queue(Model& m, const std::string& code, const std::string& message) {
  std::vector<uint64_t> victims(m.queue.begin(), m.queue.end());
  victims.insert(victims.end(), m.load_waiters.begin(), m.load_waiters.end());
  m.queue.clear();
  m.load_waiters.clear();
  for (uint64_t uid : victims) {
    auto it = jobs.find(uid);
    if (it == jobs.end() || it->second.state == Job::State::Done) continue;
    if (it->second.state == Job::State::Running) continue;
    reply(it->second, ipc::make_error(it->second.id, code, message));
  }
}

int Supervisor::State::ready_replicas(const Model& m) const {
  int n = 0;
  for (const auto& slot : m.slots) {
    auto r = runners.find(slot.runner);
    n += r != runners.end() && r->second.state == RunnerState::Ready;
  }
  return n;
}

void Supervisor::State::notify_load_waiters(Model& m) {
  const int ready = ready_replicas(m);
  if (ready == 0) return;
  std::vector<uint64_t> answered, waiting;
  for (uint64_t w : m.load_waiters) {
    auto it = jobs.find(w);
    if (it == jobs.end()) continue;
    (it->second.load_replicas <= ready ? answered : waiting).push_back(w);
  }
  m.load_waiters = waiting;
  for (uint64_t w : answered) {
    auto it = jobs.find(w);
    if (it == jobs.end()) continue;
    reply(it->second, ipc::make_result(it->second.id, {{"model", m.cfg.name},
                                                       {"state", "ready"},
                                                       {"replicas_ready", ready},
                                                       {"replicas", m.cfg.replicas},
                                                       {"metadata", m.metadata}}));
  }
}

void Supervisor::State::dispatch(Model& m) {
  while (!m.queue.empty()) {
    auto it = jobs.find(m.queue.front());
    if (it == jobs.end() || it->second.state != Job::State::Queued) {
      m.queue.pop_front();
      continue;
    }
    Runner* best = nullptr;
    for (const auto& slot : m.slots) {
      auto r = runners.find(slot.runner);
      if (r == runners.end() || r->second.state != RunnerState::Ready) continue;
      if (static_cast<int>(r->second.jobs.size()) >= m.cfg.slots) continue;
      if (!best || r->second.jobs.size() < best->jobs.size()) best = &r->second;
    }
    if (!best) return;
    m.queue.pop_front();
    Job& job = it->second;
    job.state = Job::State::Running;
    ++job.attempts;
    job.runner = best->uid;
    best->jobs.insert(job.uid);
    m.last_used = Clock::now();
    // The runner holds the job's input segments until it ends the job (or dies).
    for (const auto& v : job.request)
      if (ipc::is_shm_ref(v)) segments.acquire(v["shm"], v["size"], runner_holder(best->uid));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(job.deadline - Clock::now()).count();
    send_to_runner(*best, json{{"t", "job"}, {"job", job.uid}, {"kind", ipc::job_kind_name(job.kind)},
                               {"request", job.request}, {"deadline_ms", std::max<int64_t>(left, 1)}});
  }
}

void Supervisor::State::check_idle() {
  const auto now = Clock::now();
  for (auto& [name, m] : models) {
    if (m.cfg.idle_unload_ms <= 0 || !m.wanted || status_of(m) != ModelStatus::Ready) continue;
    if (now - m.last_used < std::chrono::milliseconds(m.cfg.idle_unload_ms)) continue;
    bool busy = !m.load_waiters.empty();
    for (uint64_t q : m.queue) busy |= jobs.count(q) && jobs.at(q).state == Job::State::Queued;
    for (const auto& slot : m.slots) {
      auto r = runners.find(slot.runner);
      busy |= r != runners.end() && !r->second.jobs.empty();
    }
    if (busy) continue;
    spdlog::info("model '{}' idle for {} ms: unloading", name, m.cfg.idle_unload_ms);
    drain_model(m);
  }
}

}  // namespace kiln::supervisor
