#include "scripted_lm.h"

#include "kiln/error.h"

namespace kiln::test {

std::vector<float> ScriptedLM::forward(std::span<const int32_t> ids, int64_t start_pos) {
  if (start_pos + static_cast<int64_t>(ids.size()) > context_)
    throw Error("ScriptedLM: position " + std::to_string(start_pos + ids.size()) + " beyond the context");
  if (start_pos == 0) prompt_len_ = static_cast<int64_t>(ids.size());
  ++calls;
  start_positions.push_back(start_pos);
  lengths.push_back(ids.size());
  const int64_t last = start_pos + static_cast<int64_t>(ids.size()) - 1;
  const int64_t step = last + 1 - prompt_len_;  // index of the token these logits predict
  std::vector<float> logits(static_cast<size_t>(vocab_), 0.0f);
  const int32_t next = step >= 0 && step < static_cast<int64_t>(script_.size()) ? script_[static_cast<size_t>(step)] : fallback_;
  logits[static_cast<size_t>(next)] = favoured_;
  return logits;
}

int32_t ScriptedLM::forward_greedy(std::span<const int32_t> ids, int64_t start_pos) {
  ++greedy_calls;
  const int32_t id = CausalLM::forward_greedy(ids, start_pos);
  return bad_pick ? static_cast<int32_t>(vocab_) : id;
}

void ScriptedLM::greedy_enqueue(std::optional<int32_t> first, int64_t pos) {
  if (!first && last_pick_ < 0) throw Error("ScriptedLM: a step fed from the device before any pick");
  const int32_t fed = first ? *first : last_pick_;
  enqueued.push_back(pos);
  last_pick_ = CausalLM::forward_greedy(std::span<const int32_t>(&fed, 1), pos);
  queued.push_back(last_pick_);
}

int32_t ScriptedLM::greedy_collect() {
  if (queued.empty()) throw Error("ScriptedLM: greedy_collect with nothing queued");
  const int32_t id = queued.front();
  queued.pop_front();
  return id;
}

void ScriptedLM::greedy_reset() {
  ++resets;
  queued.clear();
  last_pick_ = -1;
}

std::vector<float> TableLM::forward(std::span<const int32_t> ids, int64_t) {
  auto it = table.find(ids.back());
  return it == table.end() ? default_ : it->second;
}

std::filesystem::path tokenizer_path(const std::string& name) {
  return std::filesystem::path(TOKENIZER_DATA_DIR) / name / "tokenizer.json";
}

const Tokenizer& shared_tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  auto& slot = loaded[name];
  if (!slot) slot = load_tokenizer(tokenizer_path(name));
  return *slot;
}

}  // namespace kiln::test
