// GenerateResult as JSON: one shape for the CLI (`kiln generate --json`) and tools.
#include "kiln/generate.h"

namespace kiln {

nlohmann::json to_json(const PositionLogprobs& lp) {
  nlohmann::json top = nlohmann::json::array();
  for (const auto& t : lp.top) top.push_back({{"id", t.id}, {"logprob", t.logprob}});
  return {{"id", lp.chosen.id}, {"logprob", lp.chosen.logprob}, {"top_logprobs", top}};
}

nlohmann::json to_json(const GenerateResult& r) {
  nlohmann::json out = to_json(r.message);  // content, reasoning, tool_calls, problems
  out["token_ids"] = r.token_ids;
  out["text"] = r.text;
  out["finish_reason"] = r.finish_reason;
  out["usage"] = {{"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens}};
  out["timings"] = r.timings;
  if (!r.logprobs.empty()) {
    nlohmann::json lps = nlohmann::json::array();
    for (const auto& lp : r.logprobs) lps.push_back(to_json(lp));
    out["logprobs"] = lps;
  }
  return out;
}

}  // namespace kiln
