// Small deterministic CausalLMs for the loop tests: pure functions from (position, last
// token) to logits, so every expected token is known in advance.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "kiln/generate.h"

namespace kiln::test {

// Plays back `script`: the logits after position p put `favoured` on script[p + 1 -
// prompt_len] (0 elsewhere; past the script's end, on `fallback`). Counts forward calls and
// the positions they were given, so tests can check the loop's bookkeeping.
class ScriptedLM final : public CausalLM {
 public:
  ScriptedLM(int64_t vocab, int64_t context, std::vector<int32_t> script, int32_t fallback = 0,
             float favoured = 10.0f)
      : vocab_(vocab), context_(context), script_(std::move(script)), fallback_(fallback), favoured_(favoured) {}
  int64_t vocab_size() const override { return vocab_; }
  int64_t context_length() const override { return context_; }
  std::vector<float> forward(std::span<const int32_t> ids, int64_t start_pos) override;
  // counted; picks through forward() (the default), or an id outside the vocabulary when
  // bad_pick is set
  int32_t forward_greedy(std::span<const int32_t> ids, int64_t start_pos) override;

  // pipelined greedy decoding, as a device would run it: each queued step is fed with the
  // previous queued step's pick unless given a token
  bool pipelines_greedy() const override { return pipeline; }
  void greedy_enqueue(std::optional<int32_t> first, int64_t pos) override;
  int32_t greedy_collect() override;
  void greedy_reset() override;

  int64_t calls = 0, greedy_calls = 0;
  bool bad_pick = false;
  bool pipeline = false;
  std::vector<int64_t> enqueued;  // positions queued, in order
  int64_t resets = 0;
  std::deque<int32_t> queued;     // picks not collected yet
  std::vector<int64_t> start_positions;
  std::vector<size_t> lengths;

 private:
  int64_t vocab_, context_;
  std::vector<int32_t> script_;
  int32_t fallback_;
  float favoured_;
  int64_t prompt_len_ = -1;
  int32_t last_pick_ = -1;
};

// Logits keyed on the last token only: table[last] (a full row), or a default row.
class TableLM final : public CausalLM {
 public:
  TableLM(int64_t vocab, std::vector<float> default_row) : vocab_(vocab), default_(std::move(default_row)) {}
  int64_t vocab_size() const override { return vocab_; }
  int64_t context_length() const override { return 4096; }
  std::vector<float> forward(std::span<const int32_t> ids, int64_t start_pos) override;
  std::map<int32_t, std::vector<float>> table;

 private:
  int64_t vocab_;
  std::vector<float> default_;
};

std::filesystem::path tokenizer_path(const std::string& name);  // "llama3", "llama2", "qwen3"
const Tokenizer& shared_tokenizer(const std::string& name);     // loaded once per process

}  // namespace kiln::test
