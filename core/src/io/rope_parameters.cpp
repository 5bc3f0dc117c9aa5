// RoPE parameters from a Hugging Face config (both key styles) or GGUF metadata.
#include <set>

#include "kiln/error.h"
#include "kiln/llm_config.h"

using nlohmann::json;

namespace kiln {

namespace {

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& v, const std::string& key) {
  if (!v.is_number()) throw Error("config: " + key + " must be a number, found " + v.dump());
  return v.get<double>();
}

std::optional<double> opt_number(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return std::nullopt;
  return number(*v, where + "." + key);
}

std::vector<double> number_list(const json& obj, const char* key, const std::string& where) {
  const json* v = member(obj, key);
  if (!v) return {};
  if (!v->is_array()) throw Error("config: " + where + "." + key + " must be a list of numbers");
  std::vector<double> out;
  for (const json& x : *v) out.push_back(number(x, where + "." + key));
  return out;
}

// The rope dict: rope_scaling wins over rope_parameters, as transformers'
// convert_rope_params_to_dict does (`rope_scaling or rope_parameters`).
const json* rope_dict(const json& config) {
  const json* d = member(config, "rope_scaling");
  if (d && d->is_object() && !d->empty()) return d;
  d = member(config, "rope_parameters");
  if (d && d->is_object() && !d->empty()) return d;
  return nullptr;
}

RopeParameters from_entry(json entry, const json& config, double default_theta, const std::string& where) {
  if (!entry.is_object()) throw Error("config: " + where + " must be an object");
  RopeParameters p;
  // Missing keys are filled the way standardize_rope_params fills them.
  if (!member(entry, "rope_type")) entry["rope_type"] = member(entry, "type") ? entry["type"] : json("default");
  if (!entry["rope_type"].is_string()) throw Error("config: " + where + ".rope_type must be a string");
  p.rope_type = entry["rope_type"].get<std::string>();
  if (!member(entry, "rope_theta")) {
    const json* theta = member(config, "rope_theta");
    entry["rope_theta"] = theta ? *theta : json(default_theta);
  }
  p.rope_theta = number(entry["rope_theta"], where + ".rope_theta");
  if (const json* prf = member(config, "partial_rotary_factor")) entry["partial_rotary_factor"] = *prf;
  if (p.rope_type == "llama3" || p.rope_type == "yarn" || p.rope_type == "longrope") {
    if (const json* top = member(config, "original_max_position_embeddings")) {
      entry["original_max_position_embeddings"] = *top;  // Phi-3 keeps it outside the dict
    } else if (!member(entry, "original_max_position_embeddings")) {
      if (const json* mpe = member(config, "max_position_embeddings"))
        entry["original_max_position_embeddings"] = *mpe;
    }
  }
  p.factor = opt_number(entry, "factor", where);
  p.partial_rotary_factor = opt_number(entry, "partial_rotary_factor", where);
  if (auto ompe = opt_number(entry, "original_max_position_embeddings", where))
    p.original_max_position_embeddings = static_cast<int64_t>(*ompe);
  p.attention_factor = opt_number(entry, "attention_factor", where);
  p.beta_fast = opt_number(entry, "beta_fast", where);
  p.beta_slow = opt_number(entry, "beta_slow", where);
  p.mscale = opt_number(entry, "mscale", where);
  p.mscale_all_dim = opt_number(entry, "mscale_all_dim", where);
  p.low_freq_factor = opt_number(entry, "low_freq_factor", where);
  p.high_freq_factor = opt_number(entry, "high_freq_factor", where);
  p.short_factor = number_list(entry, "short_factor", where);
  p.long_factor = number_list(entry, "long_factor", where);
  p.raw = std::move(entry);
  p.field = where;
  return p;
}

}  // namespace

const json& text_config(const json& config) {
  const json* t = member(config, "text_config");
  return t && t->is_object() ? *t : config;
}

std::vector<std::string> rope_layer_types(const json& config) {
  const json* d = rope_dict(config);
  const json* layer_types = member(config, "layer_types");
  if (!d || !layer_types || !layer_types->is_array()) return {};
  std::set<std::string> known;
  for (const json& t : *layer_types)
    if (t.is_string()) known.insert(t.get<std::string>());
  std::vector<std::string> out;
  for (const auto& [key, value] : d->items()) {
    if (!known.count(key)) return {};  // not keyed by layer type: one global entry
    out.push_back(key);
  }
  return out;
}

bool has_per_layer_rope(const json& config) { return !rope_layer_types(config).empty(); }

RopeParameters rope_parameters(const json& config, std::string_view layer_type, double default_theta) {
  const std::string type(layer_type);
  const json* d = rope_dict(config);
  auto layer_types = rope_layer_types(config);
  if (!layer_types.empty()) {
    if (type.empty() || !d->contains(type)) {
      std::string names;
      for (const auto& t : layer_types) names += (names.empty() ? "" : ", ") + t;
      throw Error("config: rope_parameters has one entry per layer type (" + names + ")" +
                  (type.empty() ? "; ask for one of them" : "; none for '" + type + "'"));
    }
    return from_entry((*d)[type], config, default_theta, "rope_parameters." + type);
  }
  // Gemma 2/3-style classic keys: sliding layers use their own base frequency, unscaled.
  if (type == "sliding_attention") {
    if (const json* local = member(config, "rope_local_base_freq")) {
      json entry = {{"rope_type", "default"}, {"rope_theta", number(*local, "rope_local_base_freq")}};
      return from_entry(std::move(entry), config, default_theta, "rope_local_base_freq");
    }
  }
  const char* key = d && d == member(config, "rope_scaling") ? "rope_scaling" : "rope_parameters";
  return from_entry(d ? *d : json::object(), config, default_theta, key);
}

RopeParameters rope_parameters(const gguf::File& file, std::string_view layer_type, double default_theta) {
  const std::string arch = file.architecture();
  auto find = [&](const std::string& suffix) { return file.find(arch + suffix); };
  RopeParameters p;
  p.rope_theta = default_theta;
  if (const auto* v = find(".rope.freq_base")) p.rope_theta = v->as_double();
  if (layer_type == "sliding_attention")
    if (const auto* v = find(".rope.freq_base_swa")) p.rope_theta = v->as_double();
  if (const auto* v = find(".rope.scaling.type")) {
    const std::string t = v->as_string();
    p.rope_type = (t == "none" || t.empty()) ? "default" : t;
  }
  if (p.rope_type != "default") {
    if (const auto* v = find(".rope.scaling.factor")) p.factor = v->as_double();
    if (const auto* v = find(".rope.scaling.original_context_length"))
      p.original_max_position_embeddings = v->as_int();
    if (const auto* v = find(".rope.scaling.yarn_beta_fast")) p.beta_fast = v->as_double();
    if (const auto* v = find(".rope.scaling.yarn_beta_slow")) p.beta_slow = v->as_double();
    if (const auto* v = find(".rope.scaling.attn_factor")) p.attention_factor = v->as_double();
  }
  p.field = arch + ".rope.scaling";
  p.raw = {{"rope_type", p.rope_type}, {"rope_theta", p.rope_theta}};
  if (p.factor) p.raw["factor"] = *p.factor;
  if (p.original_max_position_embeddings) p.raw["original_max_position_embeddings"] = *p.original_max_position_embeddings;
  if (p.beta_fast) p.raw["beta_fast"] = *p.beta_fast;
  if (p.beta_slow) p.raw["beta_slow"] = *p.beta_slow;
  if (p.attention_factor) p.raw["attention_factor"] = *p.attention_factor;
  return p;
}

}  // namespace kiln
