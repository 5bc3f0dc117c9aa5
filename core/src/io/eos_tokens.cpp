// End-of-sequence ids gathered from every place a model states them.
#include <algorithm>

#include "kiln/error.h"
#include "kiln/llm_config.h"
#include "kiln/model_source.h"

using nlohmann::json;

namespace kiln {

namespace {

// eos_token_id may be an int, a list of ints, or null.
void add_ids(const json& obj, const std::string& where, std::vector<int64_t>& out) {
  if (!obj.is_object()) return;
  auto it = obj.find("eos_token_id");
  if (it == obj.end() || it->is_null()) return;
  auto add_one = [&](const json& v) {
    if (!v.is_number_integer()) throw Error(where + ": eos_token_id must be an integer or a list of integers, found " + v.dump());
    out.push_back(v.get<int64_t>());
  };
  if (it->is_array()) {
    for (const json& v : *it) add_one(v);
  } else {
    add_one(*it);
  }
}

}  // namespace

std::vector<int64_t> eos_token_ids(const json& config, const json& generation_config, const gguf::File* gguf) {
  std::vector<int64_t> out;
  add_ids(config, "config.json", out);
  if (config.is_object() && config.contains("text_config"))
    add_ids(config["text_config"], "config.json text_config", out);
  add_ids(generation_config, "generation_config.json", out);
  if (gguf) {
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                            "tokenizer.ggml.eom_token_id"})
      if (const gguf::Value* v = gguf->find(key)) out.push_back(v->as_int());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<int64_t> eos_token_ids(const ModelSource& source) {
  return eos_token_ids(source.config(), source.generation_config(), source.gguf());
}

}  // namespace kiln
