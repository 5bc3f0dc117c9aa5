// The supervisor's internal state. One thread (the event loop) owns all of it; the methods
// are spread over a few files by topic: clients.cpp (client requests and replies),
// models.cpp (models and runner processes), runners.cpp (runner messages), supervisor.cpp
// (set-up, the loop and timers).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "kiln/ipc/chunked_input.h"
#include "kiln/ipc/codec.h"
#include "kiln/ipc/protocol.h"
#include "kiln/supervisor/supervisor.h"
#include "runner_process.h"
#include "security.h"
#include "segments.h"

namespace kiln::supervisor {

using Clock = std::chrono::steady_clock;
using ipc::json;
using ipc::JobKind;

struct Frontend {
  std::string url;  // as bound
  bool is_ipc = false;
  std::string socket_path;  // ipc: removed on shutdown
  std::unique_ptr<zmq::socket_t> socket;
};

struct Job {
  uint64_t uid = 0;
  std::string client;       // key of the client (endpoint index + routing id)
  json id;                  // the client's id, echoed on every reply
  JobKind kind = JobKind::Health;
  std::string model;
  json request;             // what the runner gets
  Clock::time_point deadline;
  bool client_shm = false;  // deliver big blobs as shared-memory handles
  enum class State { Receiving, Queued, Running, Waiting, Done } state = State::Queued;
  std::string runner;       // runner uid while Running (or cancelled but not yet ended)
  std::map<std::string, ipc::ChunkedInput> incoming;  // chunked fields still arriving
  Clock::time_point last_piece;  // Receiving: when the last Data piece (or the request) came
  int load_replicas = 0;         // Load: answer once this many replicas are ready
  std::optional<Clock::time_point> cancelled_at;  // the runner was told to stop
  uint64_t payload_bytes = 0;
  int64_t seq = 0;
  bool sent_output = false;  // a chunk, progress or data piece reached the client
  int attempts = 0;          // times dispatched to a runner
};

enum class RunnerState { Spawned, Starting, Loading, Warming, Ready, Draining };
const char* runner_state_name(RunnerState s);

struct Runner {
  std::string uid;          // ZeroMQ routing id, unique for every process ever started
  std::string model;
  int replica = 0;
  std::unique_ptr<RunnerProcess> process;
  RunnerState state = RunnerState::Spawned;
  bool connected = false;
  Clock::time_point spawned_at, last_seen, last_progress_log;
  std::set<uint64_t> jobs;  // running here, including cancelled ones not yet ended
  json progress;            // latest load progress
  std::string failure;      // a load error the runner reported before exiting
  std::string kill_reason;  // why the supervisor killed it, if it did
  bool stable = false;      // reached Ready
};

enum class ModelStatus { Unloaded, Loading, Ready, Failed };

struct ReplicaSlot {
  std::string runner;                // uid of the live process, "" when none
  int failures = 0;                  // consecutive crashes or failed loads
  std::optional<Clock::time_point> restart_at;
};

struct Model {
  ModelConfig cfg;
  bool adhoc = false;                // added by a Load request with a path
  bool wanted = false;               // should have runners
  bool waiting_for_memory = false;
  std::vector<ReplicaSlot> slots;
  std::deque<uint64_t> queue;        // job uids waiting for a free runner slot
  std::vector<uint64_t> load_waiters;  // Load jobs answered when the model is ready
  std::vector<uint64_t> free_waiters;  // Free jobs answered when the runners are gone
  Clock::time_point last_used;
  std::string last_error;
  uint64_t reported_memory = 0;      // from the runner's metadata
  json metadata;                     // from the last runner that became ready
  int64_t restarts = 0;
  bool failed = false;
};

// Names of the holders in the segment ledger (segments.h).
inline std::string job_holder(uint64_t uid) { return "job:" + std::to_string(uid); }
inline std::string runner_holder(const std::string& uid) { return "runner:" + uid; }
// (A client key holds the ZeroMQ routing id, binary: hex keeps Status readable.)
inline std::string client_holder(const std::string& key) {
  static const char* digits = "0123456789abcdef";
  std::string out = "client:";
  for (unsigned char c : key) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

struct Supervisor::State {
  Config config;
  Clock::time_point started = Clock::now();
  zmq::context_t context{1};
  std::vector<Frontend> frontends;
  std::unique_ptr<zmq::socket_t> backend;  // ROUTER the runners connect to
  std::string backend_url, backend_path;
  std::unique_ptr<ZapHandler> zap;
  int lock_fd = -1;
  std::string lock_path;
  std::string runner_exe;
  std::string shm_prefix;    // "kiln.<instance>."
  uint64_t next_uid = 1;
  uint64_t next_runner = 1;
  uint64_t next_segment = 1;

  std::map<std::string, Model> models;
  std::map<std::string, Runner> runners;
  std::map<uint64_t, Job> jobs;
  // client key -> (dumped client id -> job uid)
  std::map<std::string, std::map<std::string, uint64_t>> client_jobs;
  std::set<std::string> gone_clients;  // could not be reached: their jobs get cancelled
  SegmentLedger segments;  // shared memory in use, with its holders
  Clock::time_point last_heartbeat_sent, last_shm_sweep;

  explicit State(Config c) : config(std::move(c)) {}

  // ---- supervisor.cpp
  void setup();
  void shutdown();
  void tick();
  void run(const std::atomic<bool>& stop);

  // ---- clients.cpp
  void on_client_message(size_t frontend, std::vector<zmq::message_t>& frames);
  void handle_request(size_t frontend, const std::string& routing_id, json request);
  void handle_data(const std::string& client, const json& piece);
  void handle_cancel(Job& job);
  void start_model_job(Job& job);
  void reply(Job& job, json message);            // echoes the id; terminal replies finish it
  void send_to_client(const std::string& client, const json& message);
  void finish(Job& job);                         // forget a job once it has its terminal reply
  void drop_gone_clients();
  void accept_client_segment(Job& job, size_t frontend, const std::string& field, const json& ref);
  void check_receiving();  // chunked inputs that stopped arriving
  json status_json();
  static std::string client_key(size_t frontend, const std::string& routing_id);

  // ---- models.cpp
  Model* find_model(const std::string& name);
  void want_loaded(Model& m);
  void ensure_runners(Model& m);
  void spawn_runner(Model& m, int replica);
  void drain_model(Model& m);
  void on_runner_exit(Runner& r, const std::string& how);
  void dispatch(Model& m);
  void fail_queue(Model& m, const std::string& code, const std::string& message);
  ModelStatus status_of(const Model& m) const;
  bool has_room_for(Model& m);
  uint64_t memory_estimate(const Model& m) const;
  void check_idle();
  void notify_load_waiters(Model& m);
  int ready_replicas(const Model& m) const;

  // ---- runners.cpp
  void on_backend_message(std::vector<zmq::message_t>& frames);
  void on_runner_reply(Runner& r, const json& msg);
  void send_to_runner(Runner& r, const json& message);
  void cancel_on_runner(Job& job);
  // Shared-memory results become client handles or inline bytes, big inline ones chunks.
  void deliver_blobs(Job& job, const Runner& r, json& body, std::vector<json>& pieces_out);
  void release_inputs(const Job& job, const std::string& runner_uid);  // the runner is done with them
  void check_runners();
};

}  // namespace kiln::supervisor
