// YAML -> Config with strict checking: unknown fields, wrong types and bad values are errors
// that name the file and the field path.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"
#include "kiln/supervisor/config.h"

namespace fs = std::filesystem;

namespace kiln::supervisor {

namespace {

// A YAML node with the path it was reached by, for error messages.
class Field {
 public:
  Field(YAML::Node node, std::string path, const std::string* origin)
      : node_(std::move(node)), path_(std::move(path)), origin_(origin) {}

  bool present() const { return node_.IsDefined() && !node_.IsNull(); }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& why) const {
    throw Error("config " + *origin_ + ": " + (path_.empty() ? "" : path_ + ": ") + why);
  }

  Field operator[](const std::string& key) const {
    std::string path = path_.empty() ? key : path_ + "." + key;
    // Only maps have fields (yaml-cpp throws on anything else); absent ones read as absent.
    if (!node_.IsDefined() || !node_.IsMap()) return Field(YAML::Node(), path, origin_);
    return Field(node_[key], path, origin_);
  }
  Field at(size_t i) const { return Field(node_[i], path_ + "[" + std::to_string(i) + "]", origin_); }

  void require_map(const std::set<std::string>& allowed) const {
    if (!node_.IsMap()) fail("must be a map");
    for (const auto& kv : node_) {
      std::string key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail("unknown field '" + key + "' (known: " + list + ")");
      }
    }
  }
  size_t sequence_size() const {
    if (!node_.IsSequence()) fail("must be a list");
    return node_.size();
  }
  bool is_scalar() const { return node_.IsScalar(); }
  bool is_map() const { return node_.IsMap(); }

  std::string scalar() const {
    if (!node_.IsScalar()) fail("must be a single value");
    return node_.Scalar();
  }
  std::string str(const std::string& fallback) const { return present() ? scalar() : fallback; }
  std::string expanded(const std::string& fallback) const {
    return present() ? expand_vars(scalar(), "config " + *origin_ + ": " + path_) : fallback;
  }
  int64_t integer(int64_t fallback, int64_t min, int64_t max) const {
    if (!present()) return fallback;
    std::string s = scalar();
    int64_t v = 0;
    try {
      size_t used = 0;
      v = std::stoll(s, &used);
      if (used != s.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("must be an integer, got '" + s + "'");
    }
    if (v < min || v > max) {
      fail("must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
    }
    return v;
  }
  bool boolean(bool fallback) const {
    if (!present()) return fallback;
    std::string s = scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail("must be true or false, got '" + s + "'");
  }
  uint64_t size(uint64_t fallback) const {
    return present() ? parse_size(scalar(), "config " + *origin_ + ": " + path_) : fallback;
  }
  int64_t duration(int64_t fallback) const {
    return present() ? parse_duration_ms(scalar(), "config " + *origin_ + ": " + path_) : fallback;
  }
  std::vector<std::string> string_list() const {
    std::vector<std::string> out;
    if (!present()) return out;
    for (size_t i = 0; i < sequence_size(); ++i) out.push_back(at(i).expanded(""));
    return out;
  }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::string path_;
  const std::string* origin_;
};

nlohmann::json yaml_to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : n) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : n) out.push_back(yaml_to_json(v));
    return out;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: stays a string
  if (s == "true") return true;
  if (s == "false") return false;
  if (s == "null" || s == "~") return nullptr;
  try {
    size_t used = 0;
    long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
    double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (const std::exception&) {
  }
  return s;
}

std::string resolve_path(const std::string& p, const std::string& base_dir) {
  if (p.empty()) return p;
  fs::path path(p);
  if (p[0] == '~') {
    const char* home = std::getenv("HOME");
    if (home) path = fs::path(home) / p.substr(p.size() > 1 && p[1] == '/' ? 2 : 1);
  }
  if (path.is_relative()) path = fs::path(base_dir) / path;
  return path.lexically_normal().string();
}

bool valid_model_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

ModelConfig parse_model(const Field& f, const std::string& base_dir) {
  f.require_map({"name", "plugin", "path", "device", "device_index", "context", "dtype", "threads",
                 "replicas", "slots", "tool_parser", "warmup", "idle_unload", "preload",
                 "memory", "options"});
  ModelConfig m;
  m.name = f["name"].str("");
  if (!valid_model_name(m.name)) {
    f["name"].fail("a model needs a name of 1-128 characters from [A-Za-z0-9._-], got '" + m.name + "'");
  }
  m.plugin = f["plugin"].str("auto");
  m.path = resolve_path(f["path"].expanded(""), base_dir);
  m.device = f["device"].str("none");
  m.device_index = static_cast<int>(f["device_index"].integer(0, 0, 1024));
  m.context = f["context"].integer(0, 0, int64_t{1} << 40);
  m.dtype = f["dtype"].str("");
  m.threads = static_cast<int>(f["threads"].integer(0, 0, 4096));
  m.replicas = static_cast<int>(f["replicas"].integer(1, 1, 64));
  m.slots = static_cast<int>(f["slots"].integer(1, 1, 1024));
  m.tool_parser = f["tool_parser"].str("auto");
  m.warmup = f["warmup"].boolean(true);
  m.idle_unload_ms = f["idle_unload"].duration(0);
  m.preload = f["preload"].boolean(false);
  m.memory_bytes = f["memory"].size(0);
  if (f["options"].present()) {
    if (!f["options"].is_map()) f["options"].fail("must be a map");
    m.options = yaml_to_json(f["options"].node());
  }
  if (m.plugin == "auto" && m.path.empty()) {
    f["plugin"].fail("'auto' needs a path to probe; name the plugin or give a path");
  }
  return m;
}

EndpointConfig parse_endpoint_entry(const Field& f, const std::string& base_dir) {
  EndpointConfig e;
  if (f.is_scalar()) {
    e.url = f.expanded("");
  } else {
    f.require_map({"url", "insecure", "curve_secret_key_file", "curve_authorized_keys_file"});
    e.url = f["url"].expanded("");
    e.insecure = f["insecure"].boolean(false);
    e.curve_secret_key_file = resolve_path(f["curve_secret_key_file"].expanded(""), base_dir);
    e.curve_authorized_keys_file = resolve_path(f["curve_authorized_keys_file"].expanded(""), base_dir);
  }
  ipc::Endpoint ep;
  try {
    ep = ipc::parse_endpoint(e.url);
  } catch (const Error& err) {
    f.fail(err.what());
  }
  if (!ep.is_ipc && e.curve_secret_key_file.empty() && !e.insecure) {
    f.fail("tcp endpoint " + e.url + " needs curve_secret_key_file (CURVE encryption) or an "
           "explicit 'insecure: true'");
  }
  if (ep.is_ipc && (!e.curve_secret_key_file.empty() || e.insecure)) {
    f.fail("ipc endpoints are protected by their 0700 directory; curve/insecure apply to tcp only");
  }
  return e;
}

}  // namespace

nlohmann::json ModelConfig::to_json() const {
  return {{"name", name},       {"plugin", plugin},     {"path", path},
          {"device", device},   {"device_index", device_index}, {"context", context},
          {"dtype", dtype},     {"threads", threads},   {"replicas", replicas},
          {"slots", slots},     {"tool_parser", tool_parser}, {"warmup", warmup},
          {"idle_unload_ms", idle_unload_ms}, {"preload", preload},
          {"memory_bytes", memory_bytes}, {"options", options}};
}

ModelConfig ModelConfig::from_json(const nlohmann::json& j) {
  ModelConfig m;
  m.name = j.at("name");
  m.plugin = j.at("plugin");
  m.path = j.at("path");
  m.device = j.at("device");
  m.device_index = j.at("device_index");
  m.context = j.at("context");
  m.dtype = j.at("dtype");
  m.threads = j.at("threads");
  m.replicas = j.at("replicas");
  m.slots = j.at("slots");
  m.tool_parser = j.at("tool_parser");
  m.warmup = j.at("warmup");
  m.idle_unload_ms = j.at("idle_unload_ms");
  m.preload = j.at("preload");
  m.memory_bytes = j.at("memory_bytes");
  m.options = j.at("options");
  return m;
}

const ModelConfig* Config::find_model(const std::string& name) const {
  for (const auto& m : models)
    if (m.name == name) return &m;
  return nullptr;
}

Config parse_config(const std::string& yaml_text, const std::string& origin,
                    const std::string& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw Error("config " + origin + ": invalid YAML: " + e.what());
  }
  Config c;
  c.source = origin;
  const std::string* o = &c.source;
  Field top(root, "", o);
  if (!top.present()) top.fail("the configuration is empty");
  top.require_map({"instance", "run_dir", "endpoints", "plugin_paths", "model_dirs",
                   "default_model", "models", "limits", "runners", "logging"});
  c.instance = top["instance"].str("default");
  if (!valid_model_name(c.instance)) top["instance"].fail("must be 1-128 characters from [A-Za-z0-9._-]");
  c.run_dir = resolve_path(top["run_dir"].expanded(ipc::default_run_dir()), base_dir);
  if (top["endpoints"].present()) {
    for (size_t i = 0; i < top["endpoints"].sequence_size(); ++i) {
      c.endpoints.push_back(parse_endpoint_entry(top["endpoints"].at(i), base_dir));
    }
  }
  if (c.endpoints.empty()) {
    c.endpoints.push_back({"ipc://" + c.run_dir + "/" + c.instance + ".sock", false, "", ""});
  }
  for (auto& p : top["plugin_paths"].string_list()) c.plugin_paths.push_back(resolve_path(p, base_dir));
  for (auto& p : top["model_dirs"].string_list()) c.model_dirs.push_back(resolve_path(p, base_dir));
  if (top["models"].present()) {
    for (size_t i = 0; i < top["models"].sequence_size(); ++i) {
      ModelConfig m = parse_model(top["models"].at(i), base_dir);
      if (c.find_model(m.name)) {
        top["models"].at(i)["name"].fail("model name '" + m.name + "' is used twice");
      }
      c.models.push_back(std::move(m));
    }
  }
  c.default_model = top["default_model"].str(c.models.empty() ? "" : c.models.front().name);
  if (!c.default_model.empty() && !c.find_model(c.default_model)) {
    top["default_model"].fail("no model named '" + c.default_model + "' is configured");
  }

  Field l = top["limits"];
  if (l.present()) {
    l.require_map({"queue_depth", "max_payload", "max_frame", "default_deadline", "max_deadline",
                   "max_jobs_per_client", "inline_max", "chunk", "chunk_timeout", "shm_threshold",
                   "shm_ttl", "memory_budget", "max_loaded_models"});
  }
  Limits& lim = c.limits;
  lim.queue_depth = l["queue_depth"].integer(lim.queue_depth, 1, 1 << 24);
  lim.max_payload_bytes = l["max_payload"].size(lim.max_payload_bytes);
  lim.max_frame_bytes = l["max_frame"].size(lim.max_frame_bytes);
  lim.default_deadline_ms = l["default_deadline"].duration(lim.default_deadline_ms);
  lim.max_deadline_ms = l["max_deadline"].duration(lim.max_deadline_ms);
  lim.max_jobs_per_client = l["max_jobs_per_client"].integer(lim.max_jobs_per_client, 1, 1 << 24);
  lim.inline_max_bytes = l["inline_max"].size(lim.inline_max_bytes);
  lim.chunk_bytes = l["chunk"].size(lim.chunk_bytes);
  lim.shm_threshold_bytes = l["shm_threshold"].size(lim.shm_threshold_bytes);
  lim.shm_ttl_ms = l["shm_ttl"].duration(lim.shm_ttl_ms);
  lim.chunk_timeout_ms = l["chunk_timeout"].duration(lim.chunk_timeout_ms);
  if (lim.chunk_timeout_ms <= 0) l["chunk_timeout"].fail("must be positive");
  lim.memory_budget_bytes = l["memory_budget"].size(lim.memory_budget_bytes);
  lim.max_loaded_models = l["max_loaded_models"].integer(lim.max_loaded_models, 0, 1 << 20);
  if (lim.chunk_bytes < 1024) l["chunk"].fail("must be at least 1KiB");
  if (lim.max_frame_bytes < lim.chunk_bytes + 4096) {
    l["max_frame"].fail("must exceed limits.chunk by at least 4KiB so chunks fit in a frame");
  }
  if (lim.default_deadline_ms <= 0 || lim.default_deadline_ms > lim.max_deadline_ms) {
    l["default_deadline"].fail("must be positive and at most limits.max_deadline");
  }

  Field r = top["runners"];
  if (r.present()) {
    r.require_map({"runner_path", "heartbeat", "heartbeat_timeout", "restart_backoff_min",
                   "restart_backoff_max", "max_restarts", "cancel_grace", "start_timeout"});
  }
  RunnerSettings& rs = c.runners;
  rs.runner_path = resolve_path(r["runner_path"].expanded(""), base_dir);
  rs.heartbeat_ms = r["heartbeat"].duration(rs.heartbeat_ms);
  rs.heartbeat_timeout_ms = r["heartbeat_timeout"].duration(rs.heartbeat_timeout_ms);
  rs.restart_backoff_min_ms = r["restart_backoff_min"].duration(rs.restart_backoff_min_ms);
  rs.restart_backoff_max_ms = r["restart_backoff_max"].duration(rs.restart_backoff_max_ms);
  rs.max_restarts = r["max_restarts"].integer(rs.max_restarts, 0, 1000);
  rs.cancel_grace_ms = r["cancel_grace"].duration(rs.cancel_grace_ms);
  rs.start_timeout_ms = r["start_timeout"].duration(rs.start_timeout_ms);
  if (rs.heartbeat_ms < 10) r["heartbeat"].fail("must be at least 10ms");
  if (rs.heartbeat_timeout_ms < 2 * rs.heartbeat_ms) {
    r["heartbeat_timeout"].fail("must be at least twice runners.heartbeat");
  }

  Field g = top["logging"];
  if (g.present()) g.require_map({"level", "file"});
  c.logging.level = g["level"].str("info");
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.count(c.logging.level)) g["level"].fail("must be one of trace, debug, info, warn, error, critical, off");
  c.logging.file = resolve_path(g["file"].expanded(""), base_dir);
  return c;
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("config " + path + ": cannot be read");
  std::stringstream buf;
  buf << in.rdbuf();
  fs::path abs = fs::absolute(path);
  return parse_config(buf.str(), path, abs.parent_path().string());
}

Config default_config() {
  return parse_config(default_config_text(), "<embedded default>", fs::current_path().string());
}

}  // namespace kiln::supervisor
