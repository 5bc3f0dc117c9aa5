// The hyperparameters of a Llama-family model (Llama, Qwen2, Qwen3 dense, Mistral), read from
// a Hugging Face config.json or from GGUF metadata (arch keys llama, qwen2, qwen3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llm_config.h"
#include "kiln/model_source.h"
#include "kiln/rope.h"

namespace kiln::llama {

enum class WeightNaming { HuggingFace, Gguf };

struct Hparams {
  std::string architecture;  // LlamaForCausalLM, ..., or the GGUF arch key
  WeightNaming naming = WeightNaming::HuggingFace;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0;
  int64_t max_positions = 0;  // the context the model was trained for
  double rms_eps = 1e-6;
  bool tied_embeddings = false;
  // Sliding window per layer (none = full attention).
  std::vector<std::optional<int64_t>> sliding_window;
  RopeParameters rope;
  nn::RopeStyle rope_style = nn::RopeStyle::Half;
  std::string source;  // the file the values came from (for error messages)
};

// Throws kiln::Error naming the file and field for missing or invalid values and for
// architectures this plugin does not handle.
Hparams read_hparams(const ModelSource& source);

// Architectures this plugin claims (HF class names and GGUF arch keys).
bool is_supported_architecture(const std::string& name);

}  // namespace kiln::llama
