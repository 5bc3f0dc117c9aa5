// The job-level kiln::Model of the llama plugin: tokenizer, chat template, generation,
// embeddings over a LlamaLM.
#pragma once

#include <memory>
#include <mutex>

#include "kiln/model.h"
#include "kiln/tokenizer.h"
#include "llama_lm.h"

namespace kiln::llama {

class LlamaModel final : public Model {
 public:
  explicit LlamaModel(const ModelLoadOptions& options);

  uint32_t capabilities() const override;
  nlohmann::json metadata() const override;
  void warmup(const ProgressFn& progress) override;
  std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                          bool add_generation_prompt) const override;
  GenerateResult generate(const GenerateRequest& request, const TokenSink& on_token,
                          const CancelFlag& cancel) override;
  std::vector<int32_t> tokenize(const std::string& text, bool add_special) const override;
  std::string detokenize(const std::vector<int32_t>& ids) const override;
  EmbedResult embed(const EmbedRequest& request, const CancelFlag& cancel) override;

  LlamaLM& lm() { return *lm_; }
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }

 private:
  std::shared_ptr<const ModelSource> source_;
  std::unique_ptr<LlamaLM> lm_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<int32_t> eos_ids_;
  double load_s_ = 0;
  std::mutex mutex_;  // one job at a time: the LM holds one sequence's cache
};

}  // namespace kiln::llama
