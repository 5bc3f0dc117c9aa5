// Sampling values are checked once per request, before any work, with messages that name the
// field and the value the client sent.
#include <cmath>
#include <sstream>

#include "kiln/error.h"
#include "kiln/generate.h"

namespace kiln {

namespace {

std::string show(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

[[noreturn]] void bad(const std::string& field, const std::string& value, const std::string& rule) {
  throw Error("sampling parameter " + field + " = " + value + " is invalid: " + rule);
}

void need_finite(const char* field, double v) {
  if (!std::isfinite(v)) bad(field, show(v), "must be a finite number");
}

}  // namespace

void validate_sampling(const SamplingParams& p, int64_t vocab_size) {
  if (p.max_tokens < 0) bad("max_tokens", std::to_string(p.max_tokens), "must be >= 0");
  need_finite("temperature", p.temperature);
  if (p.temperature < 0) bad("temperature", show(p.temperature), "must be >= 0 (0 = greedy)");
  if (p.top_k < 0) bad("top_k", std::to_string(p.top_k), "must be >= 0 (0 = off)");
  need_finite("top_p", p.top_p);
  if (!(p.top_p > 0 && p.top_p <= 1)) bad("top_p", show(p.top_p), "must be in (0, 1] (1 = off)");
  need_finite("min_p", p.min_p);
  if (p.min_p < 0 || p.min_p > 1) bad("min_p", show(p.min_p), "must be in [0, 1] (0 = off)");
  need_finite("repeat_penalty", p.repeat_penalty);
  if (p.repeat_penalty <= 0) bad("repeat_penalty", show(p.repeat_penalty), "must be > 0 (1 = off)");
  need_finite("presence_penalty", p.presence_penalty);
  if (p.presence_penalty < -2 || p.presence_penalty > 2)
    bad("presence_penalty", show(p.presence_penalty), "must be in [-2, 2] (0 = off)");
  need_finite("frequency_penalty", p.frequency_penalty);
  if (p.frequency_penalty < -2 || p.frequency_penalty > 2)
    bad("frequency_penalty", show(p.frequency_penalty), "must be in [-2, 2] (0 = off)");
  if (p.top_logprobs < 0 || p.top_logprobs > vocab_size)
    bad("top_logprobs", std::to_string(p.top_logprobs), "must be in [0, " + std::to_string(vocab_size) + "]");
  if (p.top_logprobs > 0 && !p.logprobs)
    bad("top_logprobs", std::to_string(p.top_logprobs), "needs logprobs = true");
  for (size_t i = 0; i < p.stop.size(); ++i)
    if (p.stop[i].empty()) bad("stop[" + std::to_string(i) + "]", "\"\"", "a stop string must not be empty");
}

}  // namespace kiln
