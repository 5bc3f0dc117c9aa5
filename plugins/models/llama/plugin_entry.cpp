// llama.so — the model plugin for Llama, Qwen2, Qwen3 (dense) and Mistral checkpoints
// (Hugging Face folders and GGUF files).
#include "hparams.h"
#include "kiln/error.h"
#include "kiln/plugin.h"
#include "llama_model.h"

namespace {

int claims(const kiln::ModelProbe& probe) {
  for (const auto& a : probe.architectures)
    if (kiln::llama::is_supported_architecture(a)) return 50;
  return 0;
}

kiln::Model* create(const kiln::ModelLoadOptions& options) { return new kiln::llama::LlamaModel(options); }
void destroy(kiln::Model* model) { delete model; }

const kiln::ModelFactory kFactory = {sizeof(kiln::ModelFactory), kiln::KILN_MODEL_NEEDS_DEVICE, &claims, &create,
                                     &destroy};

const kiln_plugin_descriptor kDescriptor = {
    KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_MODEL, "llama", "0.1 (Llama, Qwen2, Qwen3, Mistral)",
    KILN_MODEL_API_VERSION,         0,                 &kFactory,
};

const kiln_plugin_descriptor* entry() { return &kDescriptor; }

}  // namespace

KILN_DECLARE_PLUGIN(entry);
