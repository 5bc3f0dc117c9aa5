#include "hparams.h"

#include <algorithm>

#include "kiln/error.h"

namespace kiln::llama {

namespace {

using json = nlohmann::json;

const std::vector<std::string> kHfArchitectures = {"LlamaForCausalLM", "Qwen2ForCausalLM",
                                                   "Qwen3ForCausalLM", "MistralForCausalLM"};
const std::vector<std::string> kGgufArchitectures = {"llama", "qwen2", "qwen3"};

struct ConfigReader {
  const json& c;
  std::string file;

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw Error(file + ": field '" + key + "' " + why);
  }
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt,
                  int64_t min = 1) const {
    if (!c.contains(key) || c[key].is_null()) {
      if (!fallback) fail(key, "is missing");
      return *fallback;
    }
    if (!c[key].is_number_integer()) fail(key, "must be an integer, got " + c[key].dump());
    int64_t v = c[key];
    if (v < min) fail(key, "= " + std::to_string(v) + " must be >= " + std::to_string(min));
    return v;
  }
  double number(const std::string& key, double fallback) const {
    if (!c.contains(key) || c[key].is_null()) return fallback;
    if (!c[key].is_number()) fail(key, "must be a number, got " + c[key].dump());
    return c[key].get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!c.contains(key) || c[key].is_null()) return fallback;
    if (!c[key].is_boolean()) fail(key, "must be true or false, got " + c[key].dump());
    return c[key].get<bool>();
  }
};

void check_shape(const Hparams& h) {
  if (h.heads % h.kv_heads != 0)
    throw Error(h.source + ": " + std::to_string(h.heads) + " attention heads are not a multiple of " +
                std::to_string(h.kv_heads) + " key/value heads");
  if (h.head_dim % 2 != 0) throw Error(h.source + ": head_dim " + std::to_string(h.head_dim) + " must be even");
  // the RoPE settings are read leniently; building the table once says early (naming the file
  // and field) when a type or a parameter is not one kiln implements
  try {
    nn::rope_table(h.rope, h.head_dim, h.max_positions);
  } catch (const Error& e) {
    throw Error(h.source + ": " + e.what());
  }
}

Hparams from_hf(const ModelSource& source) {
  const json& root = source.config();
  Hparams h;
  h.source = (source.folder() / "config.json").string();
  const json& c = text_config(root);
  ConfigReader r{c, h.source};
  std::string arch;
  if (root.contains("architectures") && root["architectures"].is_array()) {
    for (const auto& a : root["architectures"])
      if (a.is_string() && is_supported_architecture(a.get<std::string>())) arch = a.get<std::string>();
    if (arch.empty() && !root["architectures"].empty()) {
      throw Error(h.source + ": architecture " + root["architectures"].dump() +
                  " is not handled by the llama plugin (LlamaForCausalLM, Qwen2ForCausalLM, "
                  "Qwen3ForCausalLM, MistralForCausalLM)");
    }
  }
  if (arch.empty()) throw Error(h.source + ": field 'architectures' is missing");
  h.architecture = arch;
  h.naming = WeightNaming::HuggingFace;
  h.vocab = r.integer("vocab_size");
  h.hidden = r.integer("hidden_size");
  h.layers = r.integer("num_hidden_layers");
  h.heads = r.integer("num_attention_heads");
  h.kv_heads = r.integer("num_key_value_heads", h.heads);
  h.head_dim = r.integer("head_dim", h.hidden / h.heads);
  h.ffn = r.integer("intermediate_size");
  h.max_positions = r.integer("max_position_embeddings", 2048);
  h.rms_eps = r.number("rms_norm_eps", 1e-6);
  h.tied_embeddings = r.boolean("tie_word_embeddings", false);
  if (c.contains("hidden_act") && c["hidden_act"] != "silu")
    throw Error(h.source + ": field 'hidden_act' = " + c["hidden_act"].dump() + " is not supported (silu)");
  h.rope = rope_parameters(c);
  h.rope_style = nn::RopeStyle::Half;

  std::optional<int64_t> window;
  if (c.contains("sliding_window") && !c["sliding_window"].is_null()) window = r.integer("sliding_window");
  h.sliding_window.assign(h.layers, std::nullopt);
  if (c.contains("layer_types") && c["layer_types"].is_array()) {
    if (static_cast<int64_t>(c["layer_types"].size()) != h.layers)
      r.fail("layer_types", "has " + std::to_string(c["layer_types"].size()) + " entries for " +
                                std::to_string(h.layers) + " layers");
    for (int64_t i = 0; i < h.layers; ++i) {
      const json& t = c["layer_types"][i];
      if (t == "sliding_attention") {
        if (!window) r.fail("sliding_window", "is missing but layer_types names sliding_attention");
        h.sliding_window[i] = window;
      } else if (t != "full_attention") {
        r.fail("layer_types", "entry " + t.dump() + " is not full_attention or sliding_attention");
      }
    }
  } else if (arch == "MistralForCausalLM") {
    for (auto& w : h.sliding_window) w = window;
  } else if (arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM") {
    if (r.boolean("use_sliding_window", false) && window) {
      int64_t from = r.integer("max_window_layers", h.layers, 0);
      for (int64_t i = from; i < h.layers; ++i) h.sliding_window[i] = window;
    }
  }
  check_shape(h);
  return h;
}

Hparams from_gguf(const gguf::File& g) {
  Hparams h;
  h.source = g.path();
  std::string arch = g.architecture();
  if (std::find(kGgufArchitectures.begin(), kGgufArchitectures.end(), arch) == kGgufArchitectures.end())
    throw Error(g.path() + ": general.architecture '" + arch +
                "' is not handled by the llama plugin (llama, qwen2, qwen3)");
  h.architecture = arch;
  h.naming = WeightNaming::Gguf;
  auto key = [&](const std::string& k) { return arch + "." + k; };
  auto integer = [&](const std::string& k, std::optional<int64_t> fallback = std::nullopt) {
    const gguf::Value* v = g.find(key(k));
    if (!v) {
      if (!fallback) throw Error(g.path() + ": metadata key '" + key(k) + "' is missing");
      return *fallback;
    }
    int64_t x = v->as_int();
    if (x <= 0) throw Error(g.path() + ": metadata key '" + key(k) + "' = " + std::to_string(x) + " must be positive");
    return x;
  };
  h.hidden = integer("embedding_length");
  h.layers = integer("block_count");
  h.ffn = integer("feed_forward_length");
  h.heads = integer("attention.head_count");
  h.kv_heads = integer("attention.head_count_kv", h.heads);
  h.head_dim = integer("attention.key_length", h.hidden / h.heads);
  h.max_positions = integer("context_length", 2048);
  const gguf::Value* eps = g.find(key("attention.layer_norm_rms_epsilon"));
  h.rms_eps = eps ? eps->as_double() : 1e-6;
  const gguf::TensorInfo* emb = g.find_tensor("token_embd.weight");
  if (!emb) throw Error(g.path() + ": tensor 'token_embd.weight' is missing");
  h.vocab = emb->shape.at(0);
  if (const gguf::Value* v = g.find(key("vocab_size"))) h.vocab = v->as_int();
  h.tied_embeddings = g.find_tensor("output.weight") == nullptr;
  h.rope = rope_parameters(g);
  // convert_hf_to_gguf permutes llama's Q/K rows for llama.cpp's interleaved ("normal")
  // rotation; qwen2/qwen3 keep Hugging Face's layout (NeoX rotation).
  h.rope_style = arch == "llama" ? nn::RopeStyle::Interleaved : nn::RopeStyle::Half;
  h.sliding_window.assign(h.layers, std::nullopt);
  check_shape(h);
  return h;
}

}  // namespace

bool is_supported_architecture(const std::string& name) {
  return std::find(kHfArchitectures.begin(), kHfArchitectures.end(), name) != kHfArchitectures.end() ||
         std::find(kGgufArchitectures.begin(), kGgufArchitectures.end(), name) != kGgufArchitectures.end();
}

Hparams read_hparams(const ModelSource& source) {
  if (source.gguf() && source.config().is_null()) return from_gguf(*source.gguf());
  if (source.config().is_null())
    throw Error(source.path().string() + ": no config.json and no GGUF metadata to read the model's shape from");
  return from_hf(source);
}

}  // namespace kiln::llama
