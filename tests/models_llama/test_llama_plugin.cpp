// llama.so through the plugin loader, as a runner uses it: claims, create, generate with
// core/generate's loop, embeddings, and clear errors for bad models and requests.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/plugin.h"
#include "kiln/plugin_loader.h"

using namespace kiln;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) { return std::string(KILN_TEST_DATA_DIR) + "/llama/" + name; }

json read_json(const fs::path& p) {
  std::ifstream in(p);
  REQUIRE(in);
  return json::parse(in);
}

struct Loaded {
  PluginHandle plugin = load_plugin(std::string(KILN_PLUGIN_DIR) + "/llama.so", KILN_PLUGIN_MODEL);
  const ModelFactory* factory = static_cast<const ModelFactory*>(plugin.api());
  PluginHandle device = load_plugin(std::string(KILN_PLUGIN_DIR) + "/cpu_llvm.so", KILN_PLUGIN_DEVICE);

  std::unique_ptr<Model, std::function<void(Model*)>> create(const std::string& path, int64_t context = 0) {
    ModelProbe probe = probe_model(path);
    ModelLoadOptions o;
    o.path = path;
    o.source = probe.source;
    o.config = probe.config;
    o.device = device;
    o.context = context;
    return {factory->create(o), [f = factory](Model* m) { f->destroy(m); }};
  }
};

// A copy of a fixture folder with config.json edited.
fs::path edited_fixture(const std::string& name, const std::function<void(json&)>& edit) {
  fs::path dir = fs::temp_directory_path() / ("kiln_llama_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture(name) + "/model.safetensors", dir / "model.safetensors");
  json cfg = read_json(fixture(name) + "/config.json");
  edit(cfg);
  std::ofstream(dir / "config.json") << cfg.dump(1);
  return dir;
}

}  // namespace

TEST_CASE("llama.so claims the four architectures and nothing else") {
  Loaded l;
  CHECK(l.factory->claims(probe_model(fixture("qwen2_bias"))) > 0);
  CHECK(l.factory->claims(probe_model(fixture("mistral_swa"))) > 0);
  CHECK(l.factory->claims(probe_model(fixture("llama3_gqa") + "/model.q4_0.gguf")) > 0);
  ModelProbe other;
  other.architectures = {"GPT2LMHeadModel", "gpt2"};
  CHECK(l.factory->claims(other) == 0);
}

TEST_CASE("llama.so generates transformers' greedy tokens through core/generate") {
  Loaded l;
  for (const char* name : {"llama3_gqa", "qwen3_qknorm"}) {
    auto m = l.create(fixture(name));
    json exp = read_json(fixture(name) + "/expected.json");
    GenerateRequest req;
    req.prompt_ids = exp["prompt_ids"].get<std::vector<int32_t>>();
    req.sampling.temperature = 0;
    req.sampling.max_tokens = 32;
    req.sampling.ignore_eos = true;
    std::vector<int32_t> got;
    CancelFlag never{false};
    GenerateResult r = m->generate(req, [&](const TokenEvent& ev) { got.push_back(ev.id); }, never);
    INFO(name);
    CHECK(got == exp["greedy"].get<std::vector<int32_t>>());
    CHECK(r.finish_reason == "length");
    CHECK(m->metadata()["vocab_size"] == 256);
  }
}

TEST_CASE("llama.so: bad models and requests are errors naming the file, field or value") {
  Loaded l;
  SECTION("unknown architecture") {
    fs::path d = edited_fixture("llama3_gqa", [](json& c) { c["architectures"] = {"GPT2LMHeadModel"}; });
    CHECK_THROWS_WITH(l.create(d.string()), Catch::Contains("GPT2LMHeadModel") && Catch::Contains("config.json"));
  }
  SECTION("missing tensor") {
    fs::path d = edited_fixture("llama3_gqa", [](json& c) { c["num_hidden_layers"] = 3; });
    CHECK_THROWS_WITH(l.create(d.string()),
                      Catch::Contains("model.layers.2.input_layernorm.weight") && Catch::Contains("is missing"));
  }
  SECTION("wrong shape") {
    fs::path d = edited_fixture("llama3_gqa", [](json& c) { c["intermediate_size"] = 96; });
    CHECK_THROWS_WITH(l.create(d.string()), Catch::Contains("gate_proj.weight") && Catch::Contains("(128, 64)") &&
                                                Catch::Contains("expected (96, 64)") && Catch::Contains("model.safetensors"));
  }
  SECTION("invalid config value") {
    fs::path d = edited_fixture("llama3_gqa", [](json& c) { c["num_key_value_heads"] = 3; });
    CHECK_THROWS_WITH(l.create(d.string()), Catch::Contains("not a multiple of 3"));
  }
  SECTION("prompt longer than the context, invalid sampling; the model keeps serving") {
    auto m = l.create(fixture("qwen2_bias"), 16);
    CancelFlag never{false};
    GenerateRequest req;
    req.prompt_ids = std::vector<int32_t>(17, 5);
    req.sampling.temperature = 0;
    CHECK_THROWS_WITH(m->generate(req, {}, never), Catch::Contains("17") && Catch::Contains("16"));
    req.prompt_ids = {5, 6};
    req.sampling.top_p = 1.5;
    CHECK_THROWS_WITH(m->generate(req, {}, never), Catch::Contains("top_p"));
    req.sampling.top_p = 1.0;
    req.sampling.max_tokens = 3;
    std::vector<int32_t> got;
    m->generate(req, [&](const TokenEvent& ev) { got.push_back(ev.id); }, never);
    CHECK(got.size() <= 3);
    CHECK(!got.empty());
  }
}
