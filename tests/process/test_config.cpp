// Supervisor configuration: the embedded default, and errors that name file and field.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "kiln/error.h"
#include "kiln/supervisor/config.h"

using namespace kiln::supervisor;
using Catch::Matchers::Contains;

namespace {
std::string error_of(const std::string& yaml) {
  try {
    parse_config(yaml, "t.yaml", "/base");
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("the embedded default configuration parses", "[config]") {
  Config c = default_config();
  CHECK(c.instance == "default");
  REQUIRE(c.models.size() == 2);
  CHECK(c.models[0].name == "default");
  CHECK(c.models[0].plugin == "auto");
  CHECK(c.models[0].path.ends_with("/.cache/kiln/models/SmolLM2-135M-Instruct.Q4_1.gguf"));
  CHECK(c.models[1].name == "echo");
  CHECK(c.default_model == "default");
  REQUIRE(c.endpoints.size() == 1);
  CHECK(c.endpoints[0].url.rfind("ipc://", 0) == 0);
  CHECK(c.limits.shm_threshold_bytes == 64 * 1024);
  CHECK(c.runners.heartbeat_timeout_ms == 5000);
}

TEST_CASE("a full configuration reads every field", "[config]") {
  setenv("KILN_TEST_MODELS", "/models", 1);
  Config c = parse_config(R"(
instance: prod
run_dir: /tmp/kiln-prod
endpoints:
  - ipc:///tmp/kiln-prod/k.sock
  - {url: "tcp://127.0.0.1:7777", curve_secret_key_file: keys/server.key}
plugin_paths: [plugins]
model_dirs: ["${KILN_TEST_MODELS}", "${KILN_NOT_SET:-/fallback}"]
models:
  - name: llm
    plugin: auto
    path: qwen.gguf
    device: cpu
    device_index: 1
    context: 8192
    dtype: f16
    threads: 8
    replicas: 2
    slots: 4
    tool_parser: hermes
    warmup: false
    idle_unload: 10m
    memory: 2.5GiB
    options: {a: 1, b: [x, "2"]}
limits: {queue_depth: 10, max_payload: 1MB, default_deadline: 30s, max_deadline: 1h}
runners: {heartbeat: 250ms, heartbeat_timeout: 2s}
logging: {level: debug}
)", "x.yaml", "/etc/kiln");
  CHECK(c.endpoints[1].curve_secret_key_file == "/etc/kiln/keys/server.key");
  CHECK(c.plugin_paths == std::vector<std::string>{"/etc/kiln/plugins"});
  CHECK(c.model_dirs == std::vector<std::string>{"/models", "/fallback"});
  const ModelConfig& m = c.models[0];
  CHECK(m.path == "/etc/kiln/qwen.gguf");
  CHECK(m.device_index == 1);
  CHECK(m.replicas == 2);
  CHECK(m.idle_unload_ms == 600000);
  CHECK(m.memory_bytes == uint64_t(2.5 * 1073741824.0));
  CHECK(m.options["a"] == 1);
  CHECK(m.options["b"][1] == "2");
  CHECK_FALSE(m.warmup);
  CHECK(c.limits.max_payload_bytes == 1000000);
  CHECK(c.limits.default_deadline_ms == 30000);
  CHECK(ModelConfig::from_json(m.to_json()).to_json() == m.to_json());
}

TEST_CASE("configuration errors name the file, the field and the value", "[config]") {
  CHECK_THAT(error_of("models:\n  - name: a\n    plugin: testmodel\n    replica: 2\n"),
             Contains("config t.yaml: models[0]: unknown field 'replica'"));
  CHECK_THAT(error_of("models:\n  - name: a\n    plugin: testmodel\n    replicas: two\n"),
             Contains("models[0].replicas: must be an integer, got 'two'"));
  CHECK_THAT(error_of("models:\n  - {name: a, plugin: x}\n  - {name: a, plugin: x}\n"),
             Contains("model name 'a' is used twice"));
  CHECK_THAT(error_of("endpoints: [tcp://0.0.0.0:1]\n"), Contains("needs curve_secret_key_file"));
  CHECK_THAT(error_of("limits: {max_payload: 12 parsecs}\n"), Contains("limits.max_payload: unknown size unit"));
  CHECK_THAT(error_of("runners: {heartbeat: soon}\n"), Contains("runners.heartbeat: 'soon' is not a duration"));
  CHECK_THAT(error_of("default_model: x\n"), Contains("no model named 'x'"));
  CHECK_THAT(error_of("models:\n  - {name: a}\n"), Contains("'auto' needs a path"));
  CHECK_THAT(error_of("models:\n  - {name: 'a b', plugin: x}\n"), Contains("models[0].name"));
  CHECK_THAT(error_of("model_dirs: [\"${KILN_SURELY_UNSET_VAR}\"]\n"), Contains("KILN_SURELY_UNSET_VAR is not set"));
  CHECK_THAT(error_of("logging: {level: loud}\n"), Contains("logging.level"));
  CHECK_THAT(error_of("a: [\n"), Contains("invalid YAML"));
  CHECK_THAT(error_of("- 1\n"), Contains("must be a map"));
}

TEST_CASE("sizes and durations", "[config]") {
  CHECK(parse_size("4096", "x") == 4096);
  CHECK(parse_size("64KiB", "x") == 65536);
  CHECK(parse_size("2 MB", "x") == 2000000);
  CHECK_THROWS_AS(parse_size("-1", "x"), kiln::Error);
  CHECK(parse_duration_ms("750", "x") == 750);
  CHECK(parse_duration_ms("1.5s", "x") == 1500);
  CHECK(parse_duration_ms("2h", "x") == 7200000);
  CHECK_THROWS_WITH(parse_duration_ms("3 fortnights", "limits.x"), Contains("limits.x: unknown duration unit"));
}
