// The ids that end generation: every place a model states them, plus the tokenizer's own.
#include <algorithm>

#include "kiln/generate.h"
#include "kiln/llm_config.h"

namespace kiln {

std::vector<int32_t> generation_stop_ids(const ModelSource& source, const Tokenizer* tokenizer) {
  std::vector<int32_t> ids;
  for (int64_t id : eos_token_ids(source)) ids.push_back(static_cast<int32_t>(id));
  if (tokenizer)
    for (TokenId id : tokenizer->end_of_generation_ids()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace kiln
