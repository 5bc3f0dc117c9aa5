// The generation loop: prompt -> prefill -> (sample, stream, decode one token)*. Everything
// after the model's logits happens here, the same for every LLM plugin.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <unordered_set>

#include "kiln/error.h"
#include "kiln/generate.h"
#include "runtime/debug.h"

namespace kiln {

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// KILN_DEBUG >= 1: where a decode step's host time goes (the model's forward, including the wait
// for the device and the logits' copy; sampling; detokenizing, stop strings and the parser)
struct StepTimes {
  double forward = 0, sample = 0, text = 0;
  int64_t steps = 0;
  ~StepTimes() {
    if (steps == 0 || detail::debug_level() < 1) return;
    const double us = 1e6 / static_cast<double>(steps);
    std::cerr << "generate: " << steps << " decode steps, per step: forward " << forward * us << " us, sample "
              << sample * us << " us, text " << text * us << " us\n";
  }
};

std::vector<int32_t> prompt_ids_of(const GenerateRequest& request, const GenerateOptions& options) {
  if (!request.prompt_ids.empty()) return request.prompt_ids;
  if (!options.tokenizer)
    throw Error("generate: the model has no tokenizer, so the prompt must be given as token ids");
  const Tokenizer& tok = *options.tokenizer;
  bool add_special = true;
  if (options.add_special) {
    add_special = *options.add_special;
  } else if (auto bos = tok.bos_id()) {
    // A rendered chat template already starts with BOS: do not add a second one.
    const std::string bos_text = tok.token_text(*bos);
    if (!bos_text.empty() && request.prompt.starts_with(bos_text)) add_special = false;
  }
  return tok.encode(request.prompt, add_special);
}

// Text, stop strings and the tool-call parser for one request: emitted text flows
// decoder -> stop filter -> (parser, event, result).
class TextPipeline {
 public:
  TextPipeline(const GenerateOptions& options, const SamplingParams& params) : parser_(options.tool_parser), stops_(params.stop) {
    if (options.tokenizer) decoder_.emplace(*options.tokenizer, params.skip_special_tokens);
  }

  bool has_text() const { return decoder_.has_value(); }
  bool stopped() const { return stops_.matched(); }

  // The token's text (possibly empty) into `event`; true when a stop string matched.
  bool add_token(int32_t id, TokenEvent& event) {
    if (!decoder_) return false;
    emit(stops_.push(decoder_->feed(id)), event);
    return stops_.matched();
  }
  // End of generation: whatever the decoder and the stop filter still hold, and the parser's
  // last deltas.
  void finish(bool cancelled, TokenEvent& event) {
    if (decoder_ && !cancelled) {
      emit(stops_.push(decoder_->finish()), event);
      if (!stops_.matched()) emit(stops_.flush(), event);
    }
    if (parser_) {
      auto deltas = parser_->finish();
      event.tool_deltas.insert(event.tool_deltas.end(), deltas.begin(), deltas.end());
    }
  }
  const std::string& text() const { return text_; }
  ParseResult message() const {
    if (parser_) return parser_->result();
    ParseResult r;
    r.content = text_;
    return r;
  }

 private:
  void emit(const std::string& piece, TokenEvent& event) {
    if (piece.empty()) return;
    event.text += piece;
    text_ += piece;
    if (parser_) {
      auto deltas = parser_->feed(piece);
      event.tool_deltas.insert(event.tool_deltas.end(), deltas.begin(), deltas.end());
    }
  }

  ToolCallParser* parser_;
  std::optional<StreamingDecoder> decoder_;
  StopStringFilter stops_;
  std::string text_;
};

}  // namespace

GenerateResult generate(CausalLM& model, const GenerateRequest& request, const GenerateOptions& options,
                        const TokenSink& on_token, const CancelFlag* cancel) {
  const SamplingParams& params = request.sampling;
  const int64_t vocab = model.vocab_size();
  const int64_t context = model.context_length();
  validate_sampling(params, vocab);
  if (!params.stop.empty() && !options.tokenizer)
    throw Error("generate: stop strings need a tokenizer, and the model has none");

  const auto t_start = Clock::now();
  const std::vector<int32_t> prompt = prompt_ids_of(request, options);
  if (prompt.empty()) throw Error("generate: the prompt is empty (0 tokens)");
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      throw Error("generate: prompt token " + std::to_string(i) + " has id " + std::to_string(prompt[i]) +
                  ", outside the vocabulary of " + std::to_string(vocab));
  const int64_t prompt_len = static_cast<int64_t>(prompt.size());
  if (prompt_len > context)
    throw Error("generate: the prompt has " + std::to_string(prompt_len) + " tokens, more than the context of " +
                std::to_string(context) + " tokens");

  std::unordered_set<int32_t> eos(options.eos_ids.begin(), options.eos_ids.end());
  if (options.tokenizer)
    for (TokenId id : options.tokenizer->end_of_generation_ids()) eos.insert(id);

  GenerateResult result;
  result.prompt_tokens = prompt_len;
  result.finish_reason = "length";
  TextPipeline text(options, params);
  SamplingRng rng(params.seed);
  auto emit = [&](const TokenEvent& ev) {
    if (on_token) on_token(ev);
  };
  auto cancelled = [&] { return cancel && cancel->load(); };
  auto check_pick = [&](int32_t id) {
    if (id < 0 || id >= vocab)
      throw Error("generate: the model picked token " + std::to_string(id) + ", outside the vocabulary of " +
                  std::to_string(vocab));
    return id;
  };
  auto check_logits = [&](const std::vector<float>& logits) {
    if (static_cast<int64_t>(logits.size()) != vocab)
      throw Error("generate: the model returned " + std::to_string(logits.size()) + " logits, expected vocab_size " +
                  std::to_string(vocab));
  };

  std::vector<int32_t> seq = prompt;  // prompt + generated: the repetition penalty's context
  Clock::time_point t_prefill_start = t_start, t_prefill_end = t_start, t_first = t_start, t_last = t_start;
  bool was_cancelled = false;
  if (params.max_tokens > 0 && !(was_cancelled = cancelled())) {
    t_prefill_start = Clock::now();
    std::vector<float> logits = model.forward(prompt, 0);
    check_logits(logits);
    t_prefill_end = Clock::now();
    int64_t pos = prompt_len;  // where the next fed token goes
    // plain greedy (no penalties, no logprobs): the model picks the token, maybe on its device,
    // so no logits are copied back
    const bool model_picks = params.plain_greedy() && !params.logprobs;
    std::optional<int32_t> picked;
    // ... and with a model that pipelines, the step after the next is queued before the next
    // token is read, so the device never waits for the host's turn
    const bool pipelined = model_picks && model.pipelines_greedy();
    int64_t queued_until = -1;  // the position of the last queued step
    struct Drain {
      CausalLM& m;
      bool on;
      ~Drain() {
        if (on) m.greedy_reset();
      }
    } drain{model, pipelined};
    StepTimes times;
    for (;;) {
      const std::span<const int32_t> generated(result.token_ids);
      const auto t_sample = Clock::now();
      const int32_t id = picked ? *picked : sample_token(logits, params, seq, generated, rng);
      t_last = Clock::now();
      times.sample += seconds(t_sample, t_last);
      if (result.token_ids.empty()) t_first = t_last;
      result.token_ids.push_back(id);
      seq.push_back(id);
      TokenEvent ev;
      ev.id = id;
      if (params.logprobs) {
        ev.logprobs = logprobs_of(logits, id, params.top_logprobs);
        result.logprobs.push_back(*ev.logprobs);
      }
      if (!params.ignore_eos && eos.contains(id)) {
        result.finish_reason = "stop";
        emit(ev);
        break;
      }
      const bool stop = text.add_token(id, ev);
      if (!stop) emit(ev);
      times.text += seconds(t_last, Clock::now());
      if (stop) {
        result.finish_reason = "stop";
        emit(ev);
        break;
      }
      if (static_cast<int64_t>(result.token_ids.size()) >= params.max_tokens || pos >= context) break;
      if (cancelled()) {
        was_cancelled = true;
        break;
      }
      const auto t_forward = Clock::now();
      const std::span<const int32_t> fed(&seq.back(), 1);
      if (pipelined) {
        if (queued_until < pos) model.greedy_enqueue(fed[0], pos);
        queued_until = pos;
        if (static_cast<int64_t>(result.token_ids.size()) + 1 < params.max_tokens && pos + 1 < context) {
          model.greedy_enqueue(std::nullopt, pos + 1);  // fed with the pick collected below
          queued_until = pos + 1;
        }
        picked = check_pick(model.greedy_collect());
        ++pos;
      } else if (model_picks) {
        picked = check_pick(model.forward_greedy(fed, pos++));
      } else {
        logits = model.forward(fed, pos++);
        check_logits(logits);
      }
      times.forward += seconds(t_forward, Clock::now());
      ++times.steps;
    }
  }
  if (was_cancelled) result.finish_reason = "cancelled";

  TokenEvent last;
  text.finish(was_cancelled, last);
  if (!last.text.empty() || !last.tool_deltas.empty()) emit(last);
  result.completion_tokens = static_cast<int64_t>(result.token_ids.size());
  result.text = text.text();
  result.message = text.message();

  const int64_t n = result.completion_tokens;
  const double prefill_s = n > 0 ? seconds(t_prefill_start, t_prefill_end) : 0.0;
  const double decode_s = n > 1 ? seconds(t_first, t_last) : 0.0;
  result.timings = {
      {"prompt_tokens", prompt_len},
      {"completion_tokens", n},
      {"ttft_s", n > 0 ? seconds(t_start, t_first) : 0.0},
      {"prefill_s", prefill_s},
      {"prefill_tok_s", prefill_s > 0 ? static_cast<double>(prompt_len) / prefill_s : 0.0},
      {"decode_s", decode_s},
      {"decode_tok_s", decode_s > 0 ? static_cast<double>(n - 1) / decode_s : 0.0},
      {"total_s", seconds(t_start, Clock::now())},
  };
  return result;
}

}  // namespace kiln
