// Logit penalties, computed in float like the reference implementations they follow.
#include <unordered_map>
#include <unordered_set>

#include "kiln/generate.h"

namespace kiln {

namespace {
bool in_range(int32_t id, size_t n) { return id >= 0 && static_cast<size_t>(id) < n; }
}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context, double penalty) {
  if (penalty == 1.0) return;
  const float pen = static_cast<float>(penalty);
  // transformers gathers each id's score once (duplicates read the same original value).
  std::unordered_set<int32_t> seen;
  for (int32_t id : context) {
    if (!in_range(id, logits.size()) || !seen.insert(id).second) continue;
    float& l = logits[static_cast<size_t>(id)];
    l = l < 0 ? l * pen : l / pen;
  }
}

void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> generated,
                                      double presence, double frequency) {
  if (presence == 0.0 && frequency == 0.0) return;
  std::unordered_map<int32_t, int64_t> counts;
  for (int32_t id : generated)
    if (in_range(id, logits.size())) ++counts[id];
  const float pres = static_cast<float>(presence), freq = static_cast<float>(frequency);
  // Two steps, as vLLM applies them: the frequency term, then the presence term.
  for (const auto& [id, n] : counts) {
    float& l = logits[static_cast<size_t>(id)];
    l -= static_cast<float>(n) * freq;
    l -= pres;
  }
}

}  // namespace kiln
