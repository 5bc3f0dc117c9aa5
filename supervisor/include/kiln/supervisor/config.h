// The supervisor's configuration, read from YAML (docs/config.md documents every field;
// configs/default.yaml is compiled in as the default). Every error names the file and the
// field path, e.g. "config x.yaml: models[1].replicas: must be an integer >= 1, got 'two'".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::supervisor {

struct EndpointConfig {
  std::string url;
  bool insecure = false;  // tcp only: allow plaintext without CURVE
  // tcp CURVE: the server's secret key (file holding a Z85 key) and, optionally, a file of
  // client public keys that may connect (one per line); without it any client that knows the
  // server's public key may connect.
  std::string curve_secret_key_file;
  std::string curve_authorized_keys_file;
};

struct ModelConfig {
  std::string name;
  std::string plugin = "auto";   // model plugin name, or "auto": ask every plugin's claims()
  std::string path;              // model file or directory ("" for plugins that need none)
  std::string device = "none";   // none | auto | cpu | cuda | hip | <device plugin name>
  int device_index = 0;
  int64_t context = 0;           // 0 = the model's default
  std::string dtype;             // "" = the model's default
  int threads = 0;               // 0 = one per core
  int replicas = 1;
  int slots = 1;                 // jobs one replica runs at once
  std::string tool_parser = "auto";  // auto | none | <tool-parser plugin name>
  bool warmup = true;
  int64_t idle_unload_ms = 0;    // 0 = never unload for idleness
  bool preload = false;          // load when the supervisor starts instead of on first use
  uint64_t memory_bytes = 0;     // expected resident size; 0 = estimate from the files
  nlohmann::json options = nlohmann::json::object();  // passed to the plugin as is

  nlohmann::json to_json() const;
  static ModelConfig from_json(const nlohmann::json& j);
};

struct Limits {
  int64_t queue_depth = 256;            // queued jobs per model
  uint64_t max_payload_bytes = 64ull << 20;  // one request, all fields (inputs after chunks)
  uint64_t max_frame_bytes = 80ull << 20;    // one ZeroMQ frame (bigger: connection dropped)
  int64_t default_deadline_ms = 600000;
  int64_t max_deadline_ms = 3600000;
  int64_t max_jobs_per_client = 1024;
  uint64_t inline_max_bytes = 1ull << 20;    // larger result blobs go in chunks (or shm)
  uint64_t chunk_bytes = 1ull << 20;
  uint64_t shm_threshold_bytes = 64ull << 10;  // larger blobs use shared memory when allowed
  int64_t shm_ttl_ms = 60000;           // unreleased client segments are removed after this
  int64_t chunk_timeout_ms = 30000;     // a chunked input with no new piece this long fails
  uint64_t memory_budget_bytes = 0;     // 0 = no budget
  int64_t max_loaded_models = 0;        // 0 = no limit
};

struct RunnerSettings {
  std::string runner_path;              // "" = kiln-runner beside the running executable
  int64_t heartbeat_ms = 500;
  int64_t heartbeat_timeout_ms = 5000;
  int64_t restart_backoff_min_ms = 200;
  int64_t restart_backoff_max_ms = 10000;
  int64_t max_restarts = 5;             // consecutive failures before a model is marked failed
  int64_t cancel_grace_ms = 5000;       // a cancelled job must end within this, or the runner is killed
  int64_t start_timeout_ms = 600000;    // Starting -> Ready, including load and warmup
};

struct LoggingConfig {
  std::string level = "info";
  std::string file;  // "" = stderr
};

struct Config {
  std::string source;                   // file the config came from ("<embedded default>")
  std::string instance = "default";
  std::string run_dir;                  // private 0700 directory for ipc sockets and locks
  std::vector<EndpointConfig> endpoints;
  std::vector<std::string> plugin_paths;
  std::vector<std::string> model_dirs;  // Load requests may only name paths under these
  std::string default_model;
  std::vector<ModelConfig> models;
  Limits limits;
  RunnerSettings runners;
  LoggingConfig logging;

  const ModelConfig* find_model(const std::string& name) const;
};

// Parses YAML text; relative paths resolve against `base_dir`; `origin` names the source in
// error messages.
Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::string& base_dir);
// Reads a YAML file (relative paths resolve against its directory).
Config load_config_file(const std::string& path);
// configs/default.yaml as compiled in (relative paths resolve against the current directory).
Config default_config();
const char* default_config_text();

// "64MiB", "2GB", "4096" -> bytes; "500ms", "5s", "2m", "1h", "750" (ms) -> milliseconds.
// Throw kiln::Error with `what` in the message.
uint64_t parse_size(const std::string& text, const std::string& what);
int64_t parse_duration_ms(const std::string& text, const std::string& what);
// ${VAR} and ${VAR:-fallback}; ${KILN_RUN_DIR} is the default run directory. An unset
// variable without fallback is an error naming `what`.
std::string expand_vars(const std::string& text, const std::string& what);

}  // namespace kiln::supervisor
