// `kiln generate`: in-process text generation with a model plugin (no supervisor).
#include <chrono>
#include <cmath>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "local_model.h"

namespace kiln::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::vector<int32_t> parse_prompt_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    std::string item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 0 || v > INT32_MAX)
      throw Error("--prompt-ids: '" + item + "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(static_cast<int32_t>(v));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return ids;
}

int set_beam(const Args& a) {
  if (!a.has("--beam")) return 0;
  std::string b = *a.get("--beam");
  if (b == "max") {
    set_beam_width(1 << 20);
    return 1 << 20;
  }
  int64_t n = a.get_int("--beam", 0);
  if (n < 0) throw Error("--beam " + b + " must be a positive number or max");
  set_beam_width(static_cast<int>(n));
  return static_cast<int>(n);
}

SamplingParams sampling_from(const Args& a) {
  SamplingParams s;
  s.max_tokens = a.get_int("--max-tokens", 128);
  s.temperature = a.get_double("--temperature", 0.0);
  s.top_k = a.get_int("--top-k", 40);
  s.top_p = a.get_double("--top-p", 0.95);
  s.min_p = a.get_double("--min-p", 0.05);
  if (a.has("--seed")) s.seed = static_cast<uint64_t>(a.get_int("--seed", 0));
  s.ignore_eos = a.has("--ignore-eos");
  if (s.max_tokens < 0) throw Error("--max-tokens " + std::to_string(s.max_tokens) + " must be >= 0");
  if (!(s.temperature >= 0) || !std::isfinite(s.temperature))
    throw Error("--temperature " + std::to_string(s.temperature) + " must be >= 0");
  if (s.top_k < 0) throw Error("--top-k " + std::to_string(s.top_k) + " must be >= 0");
  if (!(s.top_p > 0 && s.top_p <= 1)) throw Error("--top-p " + std::to_string(s.top_p) + " must be in (0, 1]");
  if (!(s.min_p >= 0 && s.min_p <= 1)) throw Error("--min-p " + std::to_string(s.min_p) + " must be in [0, 1]");
  return s;
}

int run_generate(const std::vector<std::string>& argv) {
  Args a(argv, {"--model", "--device", "--prompt", "--prompt-ids", "--max-tokens", "--temperature", "--top-k",
                "--top-p", "--min-p", "--seed", "--beam", "--context"},
         {"--chat", "--ignore-eos", "--json"});
  const std::string path = a.require("--model");
  if (a.has("--prompt") == a.has("--prompt-ids")) throw Error("give exactly one of --prompt TEXT and --prompt-ids 1,2,3");
  if (a.has("--chat") && a.has("--prompt-ids")) throw Error("--chat needs --prompt TEXT, not --prompt-ids");
  GenerateRequest req;
  req.sampling = sampling_from(a);
  std::vector<int32_t> prompt_ids;
  if (a.has("--prompt-ids")) prompt_ids = parse_prompt_ids(*a.get("--prompt-ids"));
  set_beam(a);
  const bool as_json = a.has("--json");

  auto t_load = Clock::now();
  LocalModel lm(path, a.get_or("--device", "auto"), a.get_int("--context", 0));
  Model& m = lm.model();
  m.warmup({});  // compile (or fetch) every kernel first, as a runner does before Ready
  const double load_s = std::chrono::duration<double>(Clock::now() - t_load).count();
  const bool has_tokenizer = (m.capabilities() & KILN_CAP_TOKENIZE) != 0;
  if (!prompt_ids.empty()) {
    req.prompt_ids = prompt_ids;
  } else if (a.has("--chat")) {
    json messages = json::array({{{"role", "user"}, {"content", *a.get("--prompt")}}});
    // the template writes the special tokens itself (BOS included)
    req.prompt_ids = m.tokenize(m.render_chat(messages, json(), true), false);
  } else {
    req.prompt = *a.get("--prompt");
  }

  std::string text;
  CancelFlag never{false};
  auto t0 = Clock::now();
  double ttft = -1;
  GenerateResult r = m.generate(req, [&](const TokenEvent& ev) {
    if (ttft < 0) ttft = std::chrono::duration<double>(Clock::now() - t0).count();
    text += ev.text;
    if (!as_json) std::cout << ev.text << std::flush;
  }, never);
  if (as_json) {
    json timings = {{"load_s", load_s}, {"ttft_s", ttft < 0 ? 0.0 : ttft},
                    {"prefill_tok_s", r.timings.value("prefill_tok_s", 0.0)},
                    {"decode_tok_s", r.timings.value("decode_tok_s", 0.0)}};
    // the result's ids, not the events': the last event may carry only held-back text (id -1)
    json out = {{"token_ids", r.token_ids},
                {"text", has_tokenizer ? json(text) : json(nullptr)},
                {"timings", timings},
                {"finish_reason", r.finish_reason},
                {"prompt_tokens", r.prompt_tokens}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

KILN_COMMAND("generate",
             "--model PATH [--device auto|cpu|cuda|hip] [--prompt TEXT | --prompt-ids 1,2,3] [--chat] "
             "[--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [--ignore-eos] "
             "[--beam N|max] [--json] [--context N]",
             "generate text in-process with a model plugin", run_generate);

}  // namespace kiln::cli
