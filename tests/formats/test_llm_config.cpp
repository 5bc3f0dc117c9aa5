// RoPE parameters and EOS ids from small configs in both transformers key styles and GGUF.
#include <catch2/catch.hpp>

#include "byte_writer.h"
#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/llm_config.h"

using kiln::rope_parameters;
using nlohmann::json;

TEST_CASE("RoPE: classic rope_theta / rope_scaling keys", "[rope]") {
  auto p = rope_parameters(json{{"rope_theta", 1e6}});
  CHECK(p.rope_type == "default");
  CHECK(p.rope_theta == 1e6);
  CHECK(!p.factor);
  CHECK(rope_parameters(json::object()).rope_theta == 10000.0);
  CHECK(rope_parameters(json::object(), "", 1e6).rope_theta == 1e6);
  CHECK(rope_parameters(json{{"rope_theta", 5e5}, {"rope_scaling", nullptr}}).rope_type == "default");

  auto linear = rope_parameters(json::parse(R"({"rope_theta": 10000, "rope_scaling": {"type": "linear", "factor": 2.0}})"));
  CHECK(linear.rope_type == "linear");  // the old "type" key
  CHECK(linear.factor == 2.0);
  CHECK(linear.raw["rope_theta"] == 10000);

  // Phi-3: original_max_position_embeddings outside the dict wins.
  auto phi = rope_parameters(json::parse(R"({
    "rope_theta": 10000.0, "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
    "partial_rotary_factor": 0.5,
    "rope_scaling": {"type": "longrope", "short_factor": [1.0, 1.5], "long_factor": [2, 3.5],
                     "original_max_position_embeddings": 999}})"));
  CHECK(phi.rope_type == "longrope");
  CHECK(phi.original_max_position_embeddings == 4096);
  CHECK(phi.short_factor == std::vector<double>{1.0, 1.5});
  CHECK(phi.long_factor == std::vector<double>{2.0, 3.5});
  CHECK(phi.partial_rotary_factor == 0.5);

  // yarn without original_max_position_embeddings takes max_position_embeddings.
  auto yarn = rope_parameters(json::parse(R"({"max_position_embeddings": 32768,
    "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "beta_fast": 32, "beta_slow": 1, "mscale": 0.707}})"));
  CHECK(yarn.original_max_position_embeddings == 32768);
  CHECK(yarn.beta_fast == 32.0);
  CHECK(yarn.mscale == 0.707);
}

TEST_CASE("RoPE: transformers-5 rope_parameters, global and per layer type", "[rope]") {
  auto global = rope_parameters(json::parse(R"({"max_position_embeddings": 131072,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                        "original_max_position_embeddings": 32768, "attention_factor": 1.1}})"));
  CHECK(global.rope_type == "yarn");
  CHECK(global.rope_theta == 1e6);
  CHECK(global.original_max_position_embeddings == 32768);
  CHECK(global.attention_factor == 1.1);
  CHECK(!kiln::has_per_layer_rope(json::parse(R"({"rope_parameters": {"rope_theta": 1}})")));

  const json gemma = json::parse(R"({
    "layer_types": ["sliding_attention", "sliding_attention", "full_attention"],
    "partial_rotary_factor": null,
    "rope_parameters": {
      "full_attention": {"rope_type": "proportional", "rope_theta": 1000000.0, "partial_rotary_factor": 0.25},
      "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}})");
  CHECK(kiln::has_per_layer_rope(gemma));
  auto types = kiln::rope_layer_types(gemma);
  std::sort(types.begin(), types.end());
  CHECK(types == std::vector<std::string>{"full_attention", "sliding_attention"});
  auto full = rope_parameters(gemma, "full_attention");
  CHECK(full.rope_type == "proportional");
  CHECK(full.rope_theta == 1e6);
  CHECK(full.partial_rotary_factor == 0.25);
  auto sliding = rope_parameters(gemma, "sliding_attention");
  CHECK(sliding.rope_type == "default");
  CHECK(sliding.rope_theta == 10000.0);
  CHECK(!sliding.partial_rotary_factor);
  CHECK_THROWS_WITH(rope_parameters(gemma), Catch::Contains("one entry per layer type") &&
                                                Catch::Contains("full_attention"));
  CHECK_THROWS_WITH(rope_parameters(gemma, "linear_attention"), Catch::Contains("none for 'linear_attention'"));

  // Per-layer entries inherit top-level rope_theta and partial_rotary_factor.
  auto inherit = rope_parameters(json::parse(R"({"rope_theta": 5e5, "partial_rotary_factor": 0.5,
    "layer_types": ["full_attention"], "max_position_embeddings": 4096,
    "rope_parameters": {"full_attention": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
                                           "high_freq_factor": 4}}})"), "full_attention");
  CHECK(inherit.rope_theta == 5e5);
  CHECK(inherit.partial_rotary_factor == 0.5);
  CHECK(inherit.original_max_position_embeddings == 4096);

  // Keys that are not all layer types: one global entry.
  auto not_per_layer = json::parse(R"({"layer_types": ["full_attention"],
    "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}})");
  CHECK(!kiln::has_per_layer_rope(not_per_layer));
  CHECK(rope_parameters(not_per_layer, "full_attention").rope_type == "linear");
}

TEST_CASE("RoPE: classic Gemma-3 keys give sliding layers their local base", "[rope]") {
  const json cfg = json::parse(R"({"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
    "rope_scaling": {"rope_type": "linear", "factor": 8.0}})");
  auto sliding = rope_parameters(cfg, "sliding_attention");
  CHECK(sliding.rope_type == "default");
  CHECK(sliding.rope_theta == 10000.0);
  auto full = rope_parameters(cfg, "full_attention");
  CHECK(full.rope_type == "linear");
  CHECK(full.rope_theta == 1e6);
  CHECK(full.factor == 8.0);
}

TEST_CASE("RoPE: malformed values name the key, and text_config", "[rope]") {
  CHECK_THROWS_WITH(rope_parameters(json{{"rope_theta", "big"}}), Catch::Contains("rope_theta must be a number"));
  CHECK_THROWS_WITH(rope_parameters(json::parse(R"({"rope_scaling": {"rope_type": "linear", "factor": "2"}})")),
                    Catch::Contains("rope_scaling.factor"));
  CHECK_THROWS_WITH(rope_parameters(json::parse(R"({"rope_scaling": {"rope_type": "longrope", "short_factor": 3}})")),
                    Catch::Contains("short_factor must be a list"));
  const json mm = json::parse(R"({"model_type": "gemma3", "text_config": {"rope_theta": 7.0}})");
  CHECK(rope_parameters(kiln::text_config(mm)).rope_theta == 7.0);
  CHECK(&kiln::text_config(mm["text_config"]) == &mm["text_config"]);
}

namespace {

kiln::gguf::File rope_gguf() {
  kiln::test::ByteWriter w;
  w.raw("GGUF").u32(3).u64(0).u64(7);
  w.str("general.architecture").u32(8).str("llama");
  w.str("llama.rope.freq_base").u32(6).put(500000.0f);
  w.str("llama.rope.freq_base_swa").u32(6).put(10000.0f);
  w.str("llama.rope.scaling.type").u32(8).str("yarn");
  w.str("llama.rope.scaling.factor").u32(6).put(4.0f);
  w.str("llama.rope.scaling.original_context_length").u32(4).u32(8192);
  w.str("tokenizer.ggml.eot_token_id").u32(4).u32(128009);
  return kiln::gguf::File::parse(kiln::test::in_memory(w.bytes, "rope.gguf"));
}

}  // namespace

TEST_CASE("RoPE and EOS from GGUF metadata", "[rope][eos]") {
  auto file = rope_gguf();
  auto p = rope_parameters(file);
  CHECK(p.rope_type == "yarn");
  CHECK(p.rope_theta == 500000.0);
  CHECK(p.factor == 4.0);
  CHECK(p.original_max_position_embeddings == 8192);
  CHECK(rope_parameters(file, "sliding_attention").rope_theta == 10000.0);
  CHECK(kiln::eos_token_ids(json(), json(), &file) == std::vector<int64_t>{128009});
}

TEST_CASE("EOS ids: union of config, generation config and GGUF", "[eos]") {
  auto file = rope_gguf();
  CHECK(kiln::eos_token_ids(json{{"eos_token_id", 128001}},
                            json{{"eos_token_id", json::array({128001, 128008, 128009})}}, &file) ==
        std::vector<int64_t>{128001, 128008, 128009});
  CHECK(kiln::eos_token_ids(json{{"eos_token_id", nullptr}}, json(), nullptr).empty());
  CHECK(kiln::eos_token_ids(json::parse(R"({"text_config": {"eos_token_id": [1, 106]}})"),
                            json{{"eos_token_id", 1}}, nullptr) == std::vector<int64_t>{1, 106});
  CHECK_THROWS_WITH(kiln::eos_token_ids(json{{"eos_token_id", "</s>"}}, json(), nullptr),
                    Catch::Contains("config.json: eos_token_id must be an integer"));
  auto vocab = kiln::gguf::File::open(kiln::test::formats_data("gguf_v3_all.gguf"));
  CHECK(kiln::eos_token_ids(json(), json{{"eos_token_id", 5}}, &vocab) == std::vector<int64_t>{2, 5});
}
