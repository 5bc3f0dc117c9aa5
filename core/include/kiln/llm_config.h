// Helpers every LLM plugin needs from a model's configuration, whatever its architecture:
// RoPE parameters (classic rope_theta / rope_scaling keys, transformers-5 `rope_parameters`
// with per-layer-type entries, or GGUF metadata) and the set of end-of-sequence token ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/gguf.h"

namespace kiln {

class ModelSource;

// The RoPE settings of one kind of layer, standardized the way transformers 5 does
// (RotaryEmbeddingConfigMixin.standardize_rope_params).
struct RopeParameters {
  std::string rope_type = "default";  // default, linear, dynamic, yarn, longrope, llama3, ...
  double rope_theta = 10000.0;
  std::optional<double> factor;
  std::optional<double> partial_rotary_factor;
  std::optional<int64_t> original_max_position_embeddings;
  std::optional<double> attention_factor, beta_fast, beta_slow, mscale, mscale_all_dim;  // yarn
  std::optional<double> low_freq_factor, high_freq_factor;                               // llama3
  std::vector<double> short_factor, long_factor;                                        // longrope
  nlohmann::json raw = nlohmann::json::object();  // the whole standardized entry
  // Where the entry came from, for errors: "rope_scaling", "rope_parameters.full_attention",
  // the GGUF key prefix "llama.rope.scaling", ...
  std::string field = "rope_parameters";
};

// The text model's config: config["text_config"] for multimodal checkpoints, else config.
const nlohmann::json& text_config(const nlohmann::json& config);

// True when `config` holds one RoPE entry per layer type (transformers 5, e.g. Gemma 3/4:
// {"full_attention": {...}, "sliding_attention": {...}} keyed by the names in layer_types).
bool has_per_layer_rope(const nlohmann::json& config);
// The layer types that have their own entry (empty unless has_per_layer_rope).
std::vector<std::string> rope_layer_types(const nlohmann::json& config);

// RoPE parameters for layers of `layer_type` ("" when the model has one set). `config` is
// the (text) config object. With per-layer entries, `layer_type` must name one of them.
// Classic configs with "rope_local_base_freq" (Gemma 2/3 style) give that theta, unscaled,
// to "sliding_attention" layers. Malformed values are kiln::Errors naming the key.
RopeParameters rope_parameters(const nlohmann::json& config, std::string_view layer_type = {},
                               double default_theta = 10000.0);

// The same from GGUF metadata: {arch}.rope.freq_base, {arch}.rope.scaling.{type,factor,
// original_context_length,yarn_beta_fast,yarn_beta_slow,attn_factor}; "sliding_attention"
// uses {arch}.rope.freq_base_swa when present.
RopeParameters rope_parameters(const gguf::File& file, std::string_view layer_type = {},
                               double default_theta = 10000.0);

// End-of-sequence ids: the union (sorted, unique) of config.json eos_token_id (int or list,
// also under text_config), generation_config.json eos_token_id (int or list) and GGUF
// tokenizer.ggml.{eos,eot,eom}_token_id.
std::vector<int64_t> eos_token_ids(const ModelSource& source);
std::vector<int64_t> eos_token_ids(const nlohmann::json& config, const nlohmann::json& generation_config,
                                   const gguf::File* gguf);

}  // namespace kiln
