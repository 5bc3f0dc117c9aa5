// ModelSource: folders, sharded checkpoints, diffusers components, GGUF files and splits, and
// the ways a model folder can be broken.
#include <catch2/catch.hpp>

#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/llm_config.h"
#include "kiln/model_source.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using kiln::ModelSource;
using kiln::test::TempDir;
using nlohmann::json;

namespace {

fs::path data(const std::string& name) { return kiln::test::formats_data(name); }

// Copies the sharded fixture into `dir` so a test can break it.
void copy_sharded(const TempDir& dir) {
  fs::copy(data("sharded"), dir.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("ModelSource: a sharded Hugging Face folder", "[model_source]") {
  ModelSource src = ModelSource::open(data("sharded"));
  CHECK(src.folder() == data("sharded"));
  CHECK(src.config()["model_type"] == "llama");
  CHECK(src.generation_config()["temperature"] == 0.6);
  CHECK(src.tokenizer_config()["eos_token"] == "</s>");
  CHECK(src.model_index().is_null());
  CHECK(src.json_file("config.json") != nullptr);
  CHECK(src.json_file("missing.json") == nullptr);
  CHECK(src.gguf() == nullptr);
  CHECK(src.safetensors_files().size() == 2);
  CHECK(src.architectures() == std::vector<std::string>{"LlamaForCausalLM", "llama"});

  json index = json::parse(kiln::test::read_text(data("sharded/model.safetensors.index.json")));
  const auto& tensors = src.tensors();
  REQUIRE(tensors.size() == index["weight_map"].size());
  CHECK(tensors.files().size() == 2);
  CHECK(tensors.total_bytes() == index["metadata"]["total_size"].get<uint64_t>());
  for (const auto& [name, file] : index["weight_map"].items()) {
    const kiln::TensorRef& t = tensors.at(name);
    CHECK(fs::path(t.file).filename() == file.get<std::string>());
    CHECK(t.format == kiln::WeightFormat::Safetensors);
    CHECK(t.data.data() == t.mapping->data() + t.offset);
  }
  const auto& q = tensors.at("model.layers.0.self_attn.q_proj.weight");
  CHECK(q.type == kiln::WeightType::BF16);
  CHECK(q.shape == std::vector<int64_t>{8, 8});
  CHECK(q.nbytes == 128);
  CHECK_THROWS_WITH(tensors.at("model.layers.9.mlp.weight"),
                    Catch::Contains("'model.layers.9.mlp.weight' not found"));

  CHECK(kiln::eos_token_ids(src) == std::vector<int64_t>{2, 7, 9});
  kiln::RopeParameters rope = kiln::rope_parameters(src.config());
  CHECK(rope.rope_type == "llama3");
  CHECK(rope.rope_theta == 500000.0);
  CHECK(rope.factor == 8.0);
  CHECK(rope.original_max_position_embeddings == 8192);
  CHECK(rope.low_freq_factor == 1.0);
  CHECK(rope.high_freq_factor == 4.0);
}

TEST_CASE("ModelSource: index file, single shard and read_json", "[model_source]") {
  ModelSource by_index = ModelSource::open(data("sharded/model.safetensors.index.json"));
  CHECK(by_index.tensors().size() == 5);
  CHECK(by_index.config()["model_type"] == "llama");
  ModelSource shard = ModelSource::open(data("sharded/model-00002-of-00002.safetensors"));
  CHECK(shard.tensors().size() == 3);
  CHECK(shard.folder().empty());
  CHECK(shard.config().is_null());
  CHECK_THROWS_AS(shard.read_json("config.json"), kiln::Error);
  ModelSource folder = ModelSource::open(data("sharded"));
  CHECK(folder.read_json("tokenizer_config.json")["bos_token"] == "<s>");
  CHECK_THROWS_WITH(folder.read_json("tokenizer.json"), Catch::Contains("tokenizer.json: no such file"));
}

TEST_CASE("ModelSource: a diffusers folder has one source per component", "[model_source]") {
  ModelSource src = ModelSource::open(data("diffusers"));
  CHECK(src.architectures() == std::vector<std::string>{"StableDiffusionPipeline"});
  CHECK(src.tensors().empty());
  REQUIRE(src.components().size() == 3);  // unet, text_encoder, scheduler; safety_checker is null
  const ModelSource* unet = src.component("unet");
  REQUIRE(unet != nullptr);
  CHECK(unet->config()["in_channels"] == 4);
  CHECK(unet->architectures() == std::vector<std::string>{"UNet2DConditionModel"});
  CHECK(unet->tensors().at("conv_in.weight").shape == std::vector<int64_t>{4, 4, 3, 3});
  CHECK(unet->tensors().at("conv_in.weight").type == kiln::WeightType::F16);
  const ModelSource* te = src.component("text_encoder");
  REQUIRE(te != nullptr);
  CHECK(te->architectures() == std::vector<std::string>{"CLIPTextModel", "clip_text_model"});
  CHECK(te->tensors().size() == 1);
  const ModelSource* sched = src.component("scheduler");
  REQUIRE(sched != nullptr);
  CHECK(sched->json_file("scheduler_config.json") != nullptr);
  CHECK(sched->tensors().empty());
  CHECK(src.component("safety_checker") == nullptr);
}

TEST_CASE("ModelSource: a GGUF file gives metadata and row-major shapes", "[model_source]") {
  ModelSource src = ModelSource::open(data("gguf_v3_all.gguf"));
  REQUIRE(src.gguf() != nullptr);
  CHECK(src.architectures() == std::vector<std::string>{"kilntest"});
  const auto& q = src.tensors().at("t.q8_0");
  CHECK(q.format == kiln::WeightFormat::Gguf);
  CHECK(q.type == kiln::WeightType::Q8_0);
  CHECK(q.shape == std::vector<int64_t>{2, 2, 32});
  CHECK(kiln::eos_token_ids(src) == std::vector<int64_t>{2});
}

TEST_CASE("ModelSource: split GGUF sets and ambiguous folders", "[model_source]") {
  TempDir dir;
  fs::copy_file(data("gguf_v3_all.gguf"), dir / "m-00001-of-00002.gguf");
  fs::copy_file(data("gguf_align64.gguf"), dir / "m-00002-of-00002.gguf");
  ModelSource from_file = ModelSource::open(dir / "m-00001-of-00002.gguf");
  CHECK(from_file.gguf_files().size() == 2);
  CHECK(from_file.tensors().contains("t.f32"));
  CHECK(from_file.tensors().contains("b.f32"));
  ModelSource from_folder = ModelSource::open(dir.path());
  CHECK(from_folder.tensors().size() == from_file.tensors().size());
  fs::copy_file(data("gguf_align64.gguf"), dir / "other.gguf");
  CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("several GGUF models"));
  fs::remove(dir / "m-00002-of-00002.gguf");
  CHECK_THROWS_WITH(ModelSource::open(dir / "m-00001-of-00002.gguf"),
                    Catch::Contains("m-00002-of-00002.gguf is missing"));
}

TEST_CASE("ModelSource: weight variants and plain folders of safetensors", "[model_source]") {
  TempDir dir;
  fs::copy_file(data("st_all.safetensors"), dir / "model.fp16.safetensors");
  fs::copy_file(data("sharded/model-00002-of-00002.safetensors"), dir / "model.safetensors");
  CHECK(ModelSource::open(dir.path()).tensors().size() == 3);
  CHECK(ModelSource::open(dir.path(), {"fp16"}).tensors().contains("f8_e4m3_all"));
  CHECK_THROWS_WITH(ModelSource::open(dir.path(), {"int8"}), Catch::Contains("no weights for variant 'int8'"));
  TempDir loose;
  fs::copy_file(data("st_all.safetensors"), loose / "a.safetensors");
  fs::copy_file(data("sharded/model-00002-of-00002.safetensors"), loose / "b.safetensors");
  CHECK(ModelSource::open(loose.path()).tensors().size() == 18 + 3);
  fs::copy_file(data("st_all.safetensors"), loose / "c.safetensors");
  CHECK_THROWS_WITH(ModelSource::open(loose.path()),
                    Catch::Contains("appears twice") && Catch::Contains("a.safetensors") &&
                        Catch::Contains("c.safetensors"));
}

TEST_CASE("ModelSource: broken sharded checkpoints name the file", "[model_source][corrupt]") {
  auto index_with = [](const TempDir& dir, const std::string& text) {
    kiln::test::write_text(dir / "model.safetensors.index.json", text);
  };
  SECTION("missing shard") {
    TempDir dir;
    copy_sharded(dir);
    fs::remove(dir / "model-00002-of-00002.safetensors");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("shard 'model-00002-of-00002.safetensors' is missing"));
  }
  SECTION("tensor not in the shard the map names") {
    TempDir dir;
    copy_sharded(dir);
    index_with(dir, R"({"weight_map": {"lm_head.weight": "model-00001-of-00002.safetensors",
                                      "model.norm.weight": "model-00002-of-00002.safetensors"}})");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()),
                      Catch::Contains("model.safetensors.index.json") && Catch::Contains("'lm_head.weight'") &&
                          Catch::Contains("has no such tensor"));
  }
  SECTION("path outside the folder") {
    TempDir dir;
    copy_sharded(dir);
    index_with(dir, R"({"weight_map": {"x": "../../etc/passwd"}})");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("points outside the folder"));
    index_with(dir, R"({"weight_map": {"x": "/etc/passwd"}})");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("points outside the folder"));
  }
  SECTION("no weight_map, bad JSON, corrupt shard, corrupt config") {
    TempDir dir;
    copy_sharded(dir);
    index_with(dir, R"({"metadata": {}})");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("no \"weight_map\""));
    index_with(dir, "{not json");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("model.safetensors.index.json: invalid JSON"));
    copy_sharded(dir);
    kiln::test::write_text(dir / "model-00001-of-00002.safetensors", "garbage!");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("model-00001-of-00002.safetensors"));
    copy_sharded(dir);
    kiln::test::write_text(dir / "config.json", "{\"a\": [1, 2,}");
    CHECK_THROWS_WITH(ModelSource::open(dir.path()), Catch::Contains("config.json: invalid JSON"));
  }
  CHECK_THROWS_WITH(ModelSource::open("/no/such/model"), Catch::Contains("no such file or folder"));
  CHECK_THROWS_WITH(ModelSource::open(data("README.md")), Catch::Contains("not a model"));
}
