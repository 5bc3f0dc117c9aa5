// kiln/generate.h — the generation loop every LLM plugin shares (core/src/generate).
//
// A model plugin implements CausalLM (one sequence's forward pass over its own KV cache);
// core owns everything after the logits: sampling, penalties, stop strings, EOS handling,
// UTF-8-safe streaming, logprobs and the hand-off to a tool-call parser.
//
// A plugin's Model::generate is typically:
//   GenerateOptions opt;  opt.tokenizer = tok_.get();  opt.eos_ids = eos_ids_;
//   return kiln::generate(causal_lm_, request, opt, on_token, &cancel);
// docs/generation.md describes the loop.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/model.h"
#include "kiln/tokenizer.h"
#include "kiln/toolparser.h"

namespace kiln {

class ModelSource;

// What the generation loop needs from a causal language model.
class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t context_length() const = 0;
  // Runs `ids` at positions [start_pos, start_pos + ids.size()); the cache already holds the
  // positions before start_pos (a new sequence starts at 0). Returns the logits of the last
  // position: vocab_size() floats. Prompts longer than the model's prefill chunk are chunked
  // by the model. Throws kiln::Error when start_pos + ids.size() exceeds context_length().
  virtual std::vector<float> forward(std::span<const int32_t> ids, int64_t start_pos) = 0;
  // forward(), then the id of the largest logit (the first of equal ones): plain greedy decoding.
  // A model may pick it on its device, so that 4 bytes come back instead of vocab_size() floats.
  virtual int32_t forward_greedy(std::span<const int32_t> ids, int64_t start_pos);

  // Pipelined greedy decoding (optional; used only when pipelines_greedy()). greedy_enqueue
  // queues one decode step at `pos`, fed with `first` when given, else with the pick of the step
  // queued just before it, which never leaves the device; it does not wait. greedy_collect
  // returns the oldest queued step's pick, waiting for it. So the loop queues step n + 1 before
  // it reads step n's token, and the device never waits for the host. greedy_reset drops
  // whatever is still queued (a generation that stopped one step ahead).
  virtual bool pipelines_greedy() const { return false; }
  virtual void greedy_enqueue(std::optional<int32_t> first, int64_t pos);
  virtual int32_t greedy_collect();
  virtual void greedy_reset() {}
};

// ---------------------------------------------------------------------------------------
// The loop.

struct GenerateOptions {
  // Turns the prompt into ids and the generated ids into text. May be null: then the request
  // must give prompt_ids, stop strings cannot be used, and no text is produced.
  const Tokenizer* tokenizer = nullptr;
  // Ids that end generation (unless ignore_eos): typically generation_stop_ids(). The
  // tokenizer's end_of_generation_ids() are always added.
  std::vector<int32_t> eos_ids;
  // Whether prompt text gets the tokenizer's special tokens (BOS ...) as Hugging Face's
  // encode(add_special_tokens=True) adds them. nullopt: yes, unless the text already starts
  // with the BOS token's text (a rendered chat template), so BOS is never doubled.
  std::optional<bool> add_special;
  // Optional tool-call parser (not owned; set_tools etc. already called). It is fed every
  // emitted text delta; its deltas ride on the TokenEvents and its result is
  // GenerateResult::message. Give it text with special tokens (skip_special_tokens = false).
  ToolCallParser* tool_parser = nullptr;
};

// Generates one completion. Throws kiln::Error for invalid sampling values, a prompt longer
// than the context (both numbers named), an empty prompt or prompt ids outside the
// vocabulary. `cancel` is polled between tokens: when set, generation ends with
// finish_reason "cancelled". `on_token` may be empty.
GenerateResult generate(CausalLM& model, const GenerateRequest& request, const GenerateOptions& options,
                        const TokenSink& on_token = {}, const CancelFlag* cancel = nullptr);

// The ids that end generation for a model: eos_token_ids(source) (config.json,
// generation_config.json, GGUF eos/eot/eom) plus the tokenizer's end_of_generation_ids()
// when a tokenizer is given. Sorted, unique.
std::vector<int32_t> generation_stop_ids(const ModelSource& source, const Tokenizer* tokenizer);

// Throws kiln::Error naming the field and its value when a sampling parameter is out of
// range: max_tokens < 0, temperature < 0 or not finite, top_k < 0, top_p outside (0, 1],
// min_p outside [0, 1], repeat_penalty <= 0, presence/frequency penalty outside [-2, 2],
// top_logprobs outside [0, vocab_size] (or > 0 without logprobs), an empty stop string.
void validate_sampling(const SamplingParams& params, int64_t vocab_size);

// {"token_ids", "text", "finish_reason", "usage": {"prompt_tokens", "completion_tokens"},
//  "timings", "content", "reasoning", "tool_calls", "problems" (as kiln::to_json(ParseResult)),
//  and "logprobs": [{"id", "logprob", "top_logprobs": [{"id", "logprob"}]}] when present}.
nlohmann::json to_json(const GenerateResult& result);
nlohmann::json to_json(const PositionLogprobs& logprobs);

// ---------------------------------------------------------------------------------------
// The parts of the loop, public so tests (and other loops) can use them one at a time.

// transformers' RepetitionPenaltyLogitsProcessor: each distinct id in `context` has its
// logit divided by `penalty` when positive, multiplied when negative.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> context, double penalty);
// OpenAI's presence/frequency penalties: logit[j] -= count[j] * frequency + (count[j] > 0) *
// presence, counts over `generated`.
void apply_presence_frequency_penalty(std::span<float> logits, std::span<const int32_t> generated,
                                      double presence, double frequency);

// A token that survived filtering, with its probability after temperature and filters
// (renormalized over the kept set).
struct Candidate {
  int32_t id = -1;
  double prob = 0;
};
// Temperature (> 0), top-k, top-p and min-p as transformers' TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper and MinPLogitsWarper apply them, in that order (each
// keeps at least one token). Returns the kept tokens, most likely first (ties: lower id).
std::vector<Candidate> filter_candidates(std::span<const float> logits, const SamplingParams& params);

// The per-request random source: std::mt19937_64 (its output sequence is fixed by the C++
// standard) seeded with the request's seed, or from std::random_device without one.
class SamplingRng {
 public:
  explicit SamplingRng(std::optional<uint64_t> seed);
  double uniform();  // in [0, 1), 53 random bits; the same on every platform
  uint64_t seed() const { return seed_; }

 private:
  uint64_t seed_;
  std::mt19937_64 engine_;
};

// The index of the largest logit, the first of equal ones; NaNs never win (0 when all are NaN).
int32_t greedy_token(std::span<const float> logits);

// Picks the next token from raw logits: penalties, then argmax (temperature 0) or a draw
// from filter_candidates(). `context` is the prompt followed by `generated`.
int32_t sample_token(std::span<const float> logits, const SamplingParams& params,
                     std::span<const int32_t> context, std::span<const int32_t> generated, SamplingRng& rng);

// log_softmax of the logits at `chosen` and the `top_n` largest entries (ties: lower id).
PositionLogprobs logprobs_of(std::span<const float> logits, int32_t chosen, int64_t top_n);

// Stop strings over streamed text: push() takes the next decoded text and returns what can
// be emitted now. Text that could still become the start of a stop string is held back; on a
// match, the text before it is returned and matched() turns true (later pushes return "").
// flush() returns what is still held back (for the end of generation).
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);
  std::string push(std::string_view text);
  std::string flush();
  bool matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace kiln
