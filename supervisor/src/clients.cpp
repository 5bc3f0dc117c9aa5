// Client side of the supervisor: decoding requests, the jobs the supervisor answers itself
// (Status, Health, Load, Free, Cancel), queueing model jobs, and sending replies.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "kiln/error.h"
#include "kiln/ipc/shm.h"
#include "state.h"

namespace kiln::supervisor {

using ipc::ProtocolError;
namespace err = ipc::err;

std::string Supervisor::State::client_key(size_t frontend, const std::string& routing_id) {
  return std::to_string(frontend) + ":" + routing_id;
}

void Supervisor::State::send_to_client(const std::string& client, const json& message) {
  if (gone_clients.count(client)) return;
  auto colon = client.find(':');
  size_t fe = std::stoul(client.substr(0, colon));
  std::string rid = client.substr(colon + 1);
  std::string body = ipc::encode(message);
  zmq::socket_t& s = *frontends[fe].socket;
  try {
    // router_mandatory: an unreachable peer is an error instead of a silent drop. A full
    // pipe (EAGAIN) means the client stopped reading: it is treated as gone too.
    if (!s.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !s.send(zmq::buffer(body), zmq::send_flags::dontwait)) {
      spdlog::warn("client is not reading its replies; cancelling its jobs");
      gone_clients.insert(client);
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) spdlog::warn("sending to a client failed: {}", e.what());
    gone_clients.insert(client);
  }
}

void Supervisor::State::reply(Job& job, json message) {
  message["id"] = job.id;
  if (!ipc::is_terminal(message)) {
    job.sent_output = true;
    return send_to_client(job.client, message);
  }
  // Clean up first (the job's shared memory is gone once its client has the answer).
  const std::string client = job.client;
  finish(job);  // `job` may be gone after this
  send_to_client(client, message);
}

void Supervisor::State::finish(Job& job) {
  auto cj = client_jobs.find(job.client);
  if (cj != client_jobs.end()) {
    cj->second.erase(ipc::job_id_key(job.id));
    if (cj->second.empty()) client_jobs.erase(cj);
  }
  if (Model* m = find_model(job.model)) {
    auto drop = [&](std::vector<uint64_t>& v) { v.erase(std::remove(v.begin(), v.end(), job.uid), v.end()); };
    drop(m->load_waiters);
    drop(m->free_waiters);
  }
  // The job lets go of its segments; a runner still reading one holds its own reference.
  segments.release_holder(job_holder(job.uid));
  if (!job.runner.empty() && runners.count(job.runner)) {
    // The runner still works on it (cancelled or past its deadline): keep the record until
    // the runner ends it, so its slot is accounted for.
    job.state = Job::State::Done;
    return;
  }
  jobs.erase(job.uid);
}

void Supervisor::State::drop_gone_clients() {
  if (gone_clients.empty()) return;
  for (const auto& client : gone_clients) {
    segments.release_holder(client_holder(client));
    auto cj = client_jobs.find(client);
    if (cj == client_jobs.end()) continue;
    std::vector<uint64_t> uids;
    for (const auto& [id, uid] : cj->second) uids.push_back(uid);
    spdlog::info("a client went away with {} job(s) in flight; cancelling them", uids.size());
    for (uint64_t uid : uids) {
      auto it = jobs.find(uid);
      if (it == jobs.end()) continue;
      if (it->second.state == Job::State::Running) cancel_on_runner(it->second);
      finish(it->second);
    }
    client_jobs.erase(client);
  }
  gone_clients.clear();
}

void Supervisor::State::on_client_message(size_t frontend, std::vector<zmq::message_t>& frames) {
  if (frames.size() < 2) return;  // a routing id without a body
  const std::string rid = frames[0].to_string();
  const std::string client = client_key(frontend, rid);
  size_t body = 1;
  if (frames.size() > 2 && frames[1].size() == 0) body = 2;  // REQ-style empty delimiter
  if (frames.size() != body + 1) {
    send_to_client(client, ipc::make_error(nullptr, err::kBadRequest,
                                           "a message is exactly one MessagePack frame"));
    return;
  }
  const auto& frame = frames[body];
  if (frame.size() > config.limits.max_payload_bytes + config.limits.chunk_bytes) {
    send_to_client(client, ipc::make_error(nullptr, err::kPayloadTooLarge,
                                           "message of " + std::to_string(frame.size()) +
                                               " bytes exceeds limits.max_payload"));
    return;
  }
  json msg;
  try {
    msg = ipc::decode(frame.data(), frame.size());
  } catch (const ProtocolError& e) {
    send_to_client(client, ipc::make_error(nullptr, e.code(), e.what()));
    return;
  }
  auto kind = msg.find("kind");
  if (kind != msg.end() && kind->is_string()) {
    if (*kind == "Data") return handle_data(client, msg);
    if (*kind == "Release") {
      // A client lets go of a segment (a result it has read, an input it created). Only its
      // own reference goes; names it holds none of are ignored.
      if (auto shm = msg.find("shm"); shm != msg.end() && shm->is_string()) {
        segments.release(shm->get<std::string>(), client_holder(client));
      }
      return;
    }
  }
  handle_request(frontend, rid, std::move(msg));
}

namespace {

// Fields of a request the supervisor consumes; the rest go to the runner.
bool envelope_field(const std::string& key) {
  return key == "id" || key == "kind" || key == "model" || key == "shm" || key == "deadline_ms" ||
         key == "v";
}

}  // namespace

void Supervisor::State::handle_request(size_t frontend, const std::string& rid, json msg) {
  const std::string client = client_key(frontend, rid);
  json id = msg.contains("id") ? msg["id"] : json();
  try {
    ipc::check_job_id(id);
  } catch (const ProtocolError& e) {
    send_to_client(client, ipc::make_error(id.is_string() || id.is_number() ? id : json(), e.code(), e.what()));
    return;
  }
  auto kind_name = msg.find("kind");
  if (kind_name == msg.end() || !kind_name->is_string()) {
    send_to_client(client, ipc::make_error(id, err::kBadRequest, "missing field 'kind'"));
    return;
  }
  auto kind = ipc::parse_job_kind(*kind_name);
  if (!kind) {
    send_to_client(client, ipc::make_error(id, err::kUnknownKind,
                                           "unknown job kind '" + kind_name->get<std::string>() + "'"));
    return;
  }
  auto& mine = client_jobs[client];
  if (mine.count(ipc::job_id_key(id))) {
    send_to_client(client, ipc::make_error(id, err::kDuplicateId,
                                           "job id " + ipc::job_id_text(id) + " is already in flight on this connection"));
    return;
  }
  if (static_cast<int64_t>(mine.size()) >= config.limits.max_jobs_per_client) {
    send_to_client(client, ipc::make_error(id, err::kQueueFull, "too many jobs in flight on this connection"));
    return;
  }

  // Accepted: from here on the job gets exactly one terminal reply.
  const uint64_t uid = next_uid++;
  Job& job = jobs[uid];
  job.uid = uid;
  job.client = client;
  job.id = id;
  job.kind = *kind;
  mine[ipc::job_id_key(id)] = uid;

  try {
    int64_t deadline_ms = ipc::opt_int(msg, "deadline_ms").value_or(config.limits.default_deadline_ms);
    if (deadline_ms <= 0) throw ProtocolError(err::kBadRequest, "field 'deadline_ms' must be positive");
    deadline_ms = std::min(deadline_ms, config.limits.max_deadline_ms);
    job.deadline = Clock::now() + std::chrono::milliseconds(deadline_ms);
    job.client_shm = ipc::opt_bool(msg, "shm").value_or(false) && frontends[frontend].is_ipc;

    switch (job.kind) {
      case JobKind::Health:
        reply(job, ipc::make_result(id, {{"ok", true},
                                         {"uptime_s", std::chrono::duration<double>(Clock::now() - started).count()},
                                         {"version", KILN_VERSION},
                                         {"instance", config.instance},
                                         {"protocol", ipc::kProtocolVersion}}));
        return;
      case JobKind::Status:
        reply(job, ipc::make_result(id, status_json()));
        return;
      case JobKind::Cancel: {
        if (!msg.contains("target")) throw ProtocolError(err::kBadRequest, "missing field 'target'");
        ipc::check_job_id(msg["target"]);
        bool found = false;
        auto t = mine.find(ipc::job_id_key(msg["target"]));
        if (t != mine.end() && t->second != uid) {
          found = true;
          handle_cancel(jobs.at(t->second));
        }
        reply(jobs.at(uid), ipc::make_result(id, {{"cancelled", found}}));
        return;
      }
      default:
        break;
    }

    std::string model_name = ipc::opt_string(msg, "model").value_or(config.default_model);
    if (model_name.empty()) throw ProtocolError(err::kUnknownModel, "no model given and no default_model configured");
    job.model = model_name;

    if (job.kind == JobKind::Load) {
      Model* m = find_model(model_name);
      if (auto path = ipc::opt_string(msg, "path")) {
        std::string real;
        try {
          real = check_model_path(*path, config.model_dirs);
        } catch (const Error& e) {
          throw ProtocolError(err::kForbidden, e.what());
        }
        if (m && (!m->adhoc || m->cfg.path != real)) {
          throw ProtocolError(err::kBadRequest, "model '" + model_name + "' already exists with another path");
        }
        if (!m) {
          ModelConfig mc;
          mc.name = model_name;
          mc.path = real;
          mc.plugin = ipc::opt_string(msg, "plugin").value_or("auto");
          mc.device = ipc::opt_string(msg, "device").value_or("none");
          mc.device_index = static_cast<int>(ipc::opt_int(msg, "device_index").value_or(0));
          mc.context = ipc::opt_int(msg, "context").value_or(0);
          mc.tool_parser = ipc::opt_string(msg, "tool_parser").value_or("auto");
          if (msg.contains("options")) {
            if (!msg["options"].is_object()) throw ProtocolError(err::kBadRequest, "field 'options' must be a map");
            mc.options = msg["options"];
          }
          for (char ch : model_name) {
            if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) {
              throw ProtocolError(err::kBadRequest, "model names use [A-Za-z0-9._-]");
            }
          }
          Model nm;
          nm.cfg = mc;
          nm.adhoc = true;
          nm.slots.resize(1);
          nm.last_used = Clock::now();
          m = &models.emplace(model_name, std::move(nm)).first->second;
          spdlog::info("model '{}' added by a client: {}", model_name, real);
        }
      }
      if (!m) throw ProtocolError(err::kUnknownModel, "no model named '" + model_name + "'");
      // Load answers once `replicas` replicas (default: all the model has) are ready.
      const int64_t want = ipc::opt_int(msg, "replicas").value_or(m->cfg.replicas);
      if (want < 1 || want > m->cfg.replicas) {
        throw ProtocolError(err::kBadRequest, "field 'replicas' must be 1.." + std::to_string(m->cfg.replicas) +
                                                  " (model '" + model_name + "' has " +
                                                  std::to_string(m->cfg.replicas) + " replicas)");
      }
      job.load_replicas = static_cast<int>(want);
      job.state = Job::State::Waiting;
      m->load_waiters.push_back(uid);
      m->last_used = Clock::now();
      want_loaded(*m);
      notify_load_waiters(*m);
      return;
    }

    Model* m = find_model(model_name);
    if (!m) throw ProtocolError(err::kUnknownModel, "no model named '" + model_name + "'");

    if (job.kind == JobKind::Free) {
      fail_queue(*m, err::kCancelled, "model '" + model_name + "' was freed");
      drain_model(*m);
      bool any = false;
      for (const auto& slot : m->slots) any |= !slot.runner.empty();
      if (!any) {
        reply(job, ipc::make_result(id, {{"model", model_name}, {"state", "unloaded"}}));
      } else {
        job.state = Job::State::Waiting;
        m->free_waiters.push_back(uid);
      }
      return;
    }

    // A model job: everything except the envelope goes to the runner.
    json request = json::object();
    uint64_t payload = 0;
    for (auto it = msg.begin(); it != msg.end(); ++it) {
      if (envelope_field(it.key())) continue;
      if (it->is_binary()) {
        payload += it->get_binary().size();
      } else if (it->is_object() && it->contains("chunked")) {
        auto size = (*it)["chunked"];
        if (!size.is_number_unsigned() || size.get<uint64_t>() == 0 || it->size() != 1) {
          throw ProtocolError(err::kBadRequest, "field '" + it.key() + "': {\"chunked\": N} needs a byte count N > 0");
        }
        payload += size.get<uint64_t>();
        if (payload <= config.limits.max_payload_bytes) job.incoming.emplace(it.key(), ipc::ChunkedInput(size.get<uint64_t>()));
      } else if (ipc::is_shm_ref(*it)) {
        payload += (*it)["size"].get<uint64_t>();
        if (payload <= config.limits.max_payload_bytes) accept_client_segment(job, frontend, it.key(), *it);
      }
      request[it.key()] = std::move(*it);
    }
    if (payload > config.limits.max_payload_bytes) {
      throw ProtocolError(err::kPayloadTooLarge, "request payload of " + std::to_string(payload) +
                                                     " bytes exceeds limits.max_payload (" +
                                                     std::to_string(config.limits.max_payload_bytes) + ")");
    }
    job.payload_bytes = payload;
    job.request = std::move(request);
    if (!job.incoming.empty()) {
      job.state = Job::State::Receiving;
      job.last_piece = Clock::now();
      return;
    }
    start_model_job(job);
  } catch (const ProtocolError& e) {
    auto it = jobs.find(uid);
    if (it != jobs.end()) reply(it->second, ipc::make_error(id, e.code(), e.what()));
  } catch (const Error& e) {
    auto it = jobs.find(uid);
    if (it != jobs.end()) reply(it->second, ipc::make_error(id, err::kBadRequest, e.what()));
  }
}

void Supervisor::State::handle_data(const std::string& client, const json& piece) {
  json id = piece.contains("id") ? piece["id"] : json();
  auto cj = client_jobs.find(client);
  uint64_t uid = 0;
  if (cj != client_jobs.end()) {
    auto it = cj->second.find(ipc::job_id_key(id));
    if (it != cj->second.end()) uid = it->second;
  }
  auto jt = jobs.find(uid);
  if (uid == 0 || jt == jobs.end() || jt->second.state != Job::State::Receiving) {
    // Pieces of a job that already has its terminal reply (refused, failed, cancelled) or
    // never existed: answering would give that id a second terminal reply. Dropped.
    spdlog::debug("Data for job {}, which is not waiting for data: dropped", ipc::job_id_text(id));
    return;
  }
  Job& job = jt->second;
  try {
    std::string field = ipc::req_string(piece, "field");
    auto blob = job.incoming.find(field);
    if (blob == job.incoming.end()) throw ProtocolError(err::kBadRequest, "Data for field '" + field + "', which is not chunked");
    auto offset = ipc::opt_int(piece, "offset");
    auto data = piece.find("data");
    if (!offset || *offset < 0 || data == piece.end() || !data->is_binary()) {
      throw ProtocolError(err::kBadRequest, "Data needs a non-negative 'offset' and binary 'data'");
    }
    blob->second.add(field, static_cast<uint64_t>(*offset), data->get_binary());
    job.last_piece = Clock::now();
    for (const auto& [name, in] : job.incoming)
      if (!in.complete()) return;
    for (auto& [name, in] : job.incoming) job.request[name] = json::binary_t(in.take());
    job.incoming.clear();
    start_model_job(job);
  } catch (const ProtocolError& e) {
    reply(job, ipc::make_error(job.id, e.code(), e.what()));
  }
}

void Supervisor::State::check_receiving() {
  const auto now = Clock::now();
  const auto timeout = std::chrono::milliseconds(config.limits.chunk_timeout_ms);
  std::vector<uint64_t> stalled;
  for (auto& [uid, job] : jobs)
    if (job.state == Job::State::Receiving && now - job.last_piece > timeout) stalled.push_back(uid);
  for (uint64_t uid : stalled) {
    auto it = jobs.find(uid);
    if (it == jobs.end()) continue;
    Job& job = it->second;
    std::string what;
    for (const auto& [field, b] : job.incoming) {
      if (b.complete()) continue;
      what += (what.empty() ? "" : "; ") + std::string("field '") + field + "': " + std::to_string(b.received()) + " of " +
              std::to_string(b.size()) + " bytes arrived, missing bytes " + b.missing();
    }
    reply(job, ipc::make_error(job.id, err::kBadRequest,
                               "chunked input incomplete: no Data piece for " +
                                   std::to_string(config.limits.chunk_timeout_ms) + " ms (limits.chunk_timeout); " + what));
  }
}

void Supervisor::State::accept_client_segment(Job& job, size_t frontend, const std::string& field, const json& ref) {
  const std::string name = ref["shm"];
  const uint64_t size = ref["size"];
  if (!frontends[frontend].is_ipc) {
    throw ProtocolError(err::kBadRequest, "field '" + field + "': shared-memory inputs need an ipc:// endpoint "
                                          "(tcp clients send bytes inline or chunked)");
  }
  const std::string prefix = ipc::shm_client_prefix(config.instance);
  if (name.rfind(prefix, 0) != 0) {
    throw ProtocolError(err::kForbidden, "field '" + field + "': a client's segment must be named " + prefix +
                                             "* (got '" + name + "')");
  }
  try {
    ipc::shm_check_foreign(name, size);
  } catch (const Error& e) {
    throw ProtocolError(err::kBadRequest, "field '" + field + "': " + e.what());
  }
  // The job holds it while it is in flight; the client holds it until it sends Release (or
  // leaves, or lets limits.shm_ttl pass), so it may use it in several jobs.
  segments.acquire(name, size, job_holder(job.uid));
  segments.acquire(name, size, client_holder(job.client), /*once=*/true,
                   Clock::now() + std::chrono::milliseconds(config.limits.shm_ttl_ms));
}

void Supervisor::State::start_model_job(Job& job) {
  Model* m = find_model(job.model);
  if (!m) return reply(job, ipc::make_error(job.id, err::kUnknownModel, "no model named '" + job.model + "'"));
  int64_t queued = 0;
  for (uint64_t q : m->queue) {
    auto it = jobs.find(q);
    queued += it != jobs.end() && it->second.state == Job::State::Queued;
  }
  if (queued >= config.limits.queue_depth) {
    return reply(job, ipc::make_error(job.id, err::kQueueFull,
                                      "model '" + job.model + "' has " + std::to_string(queued) +
                                          " jobs queued (limits.queue_depth)"));
  }
  // Big inputs travel to the runner in shared memory.
  for (auto it = job.request.begin(); it != job.request.end(); ++it) {
    if (!it->is_binary() || it->get_binary().size() < config.limits.shm_threshold_bytes) continue;
    std::string name = shm_prefix + "in." + std::to_string(next_segment++);
    try {
      ipc::shm_write(name, it->get_binary().data(), it->get_binary().size());
    } catch (const Error& e) {
      return reply(job, ipc::make_error(job.id, err::kInternal, e.what()));
    }
    segments.acquire(name, it->get_binary().size(), job_holder(job.uid));
    *it = ipc::shm_ref(name, it->get_binary().size());
  }
  job.state = Job::State::Queued;
  m->queue.push_back(job.uid);
  m->last_used = Clock::now();
  want_loaded(*m);
  dispatch(*m);
}

void Supervisor::State::handle_cancel(Job& job) {
  if (job.state == Job::State::Running) cancel_on_runner(job);
  reply(job, ipc::make_error(job.id, err::kCancelled, "cancelled by the client"));
}

json Supervisor::State::status_json() {
  json out;
  out["instance"] = config.instance;
  out["pid"] = getpid();
  out["uptime_s"] = std::chrono::duration<double>(Clock::now() - started).count();
  out["endpoints"] = json::array();
  for (const auto& fe : frontends) out["endpoints"].push_back(fe.url);
  size_t open = 0;
  // Jobs the supervisor answers at once (this Status among them) are not counted.
  for (const auto& [uid, job] : jobs) {
    open += job.state != Job::State::Done && (ipc::runs_on_model(job.kind) || job.state == Job::State::Waiting);
  }
  out["jobs_in_flight"] = open;
  out["clients"] = client_jobs.size();
  out["shm"] = segments.to_json();
  out["models"] = json::array();
  for (auto& [name, m] : models) {
    json mj;
    mj["name"] = name;
    mj["plugin"] = m.cfg.plugin;
    mj["path"] = m.cfg.path;
    mj["device"] = m.cfg.device;
    const char* st = "unloaded";
    switch (status_of(m)) {
      case ModelStatus::Unloaded: st = "unloaded"; break;
      case ModelStatus::Loading: st = "loading"; break;
      case ModelStatus::Ready: st = "ready"; break;
      case ModelStatus::Failed: st = "failed"; break;
    }
    mj["state"] = st;
    size_t queued = 0;
    for (uint64_t q : m.queue) queued += jobs.count(q) && jobs.at(q).state == Job::State::Queued;
    mj["queued"] = queued;
    mj["restarts"] = m.restarts;
    mj["last_error"] = m.last_error;
    mj["memory_bytes"] = memory_estimate(m);
    mj["idle_s"] = std::chrono::duration<double>(Clock::now() - m.last_used).count();
    mj["replicas"] = json::array();
    for (size_t i = 0; i < m.slots.size(); ++i) {
      json rj = {{"index", i}, {"failures", m.slots[i].failures}};
      auto r = runners.find(m.slots[i].runner);
      if (r != runners.end()) {
        rj["runner"] = r->first;
        rj["pid"] = r->second.process->pid();
        rj["state"] = runner_state_name(r->second.state);
        rj["jobs"] = r->second.jobs.size();
        if (!r->second.progress.is_null()) rj["progress"] = r->second.progress;
      } else {
        rj["state"] = m.slots[i].restart_at ? "restarting" : "stopped";
      }
      mj["replicas"].push_back(rj);
    }
    out["models"].push_back(mj);
  }
  return out;
}

}  // namespace kiln::supervisor
