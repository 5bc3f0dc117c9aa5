// Post-processors: what encode(add_special_tokens=True) wraps around a single sequence.
#pragma once

#include <memory>
#include <vector>

#include "text/pipeline.h"

namespace kiln::text {

// TemplateProcessing's "single" template, and Roberta/Bert processing ([CLS] A [SEP]), and
// GGUF's add_bos / add_eos: ids before and after the sequence.
class TemplatePostProcessor : public PostProcessor {
 public:
  TemplatePostProcessor(std::vector<TokenId> before, std::vector<TokenId> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void process(std::vector<TokenId>& ids) const override {
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }
  const std::vector<TokenId>& before() const { return before_; }

 private:
  std::vector<TokenId> before_;
  std::vector<TokenId> after_;
};

class SequencePostProcessor : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void process(std::vector<TokenId>& ids) const override {
    for (const auto& s : steps_) s->process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

}  // namespace kiln::text
