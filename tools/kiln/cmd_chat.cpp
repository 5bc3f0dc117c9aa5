// `kiln chat`: an interactive REPL over a chat model, streaming the answer with live tok/s.
#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "local_model.h"

namespace kiln::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int run_chat(const std::vector<std::string>& argv) {
  Args a(argv, {"--model", "--device", "--max-tokens", "--system", "--context"}, {});
  LocalModel lm(a.require("--model"), a.get_or("--device", "auto"), a.get_int("--context", 0));
  Model& m = lm.model();
  if (!(m.capabilities() & KILN_CAP_CHAT)) throw Error("model " + *a.get("--model") + " has no chat template");
  std::cerr << "kiln chat: " << lm.plugin_name() << " loaded in " << lm.load_s() << " s; warming up...\n";
  m.warmup({});
  std::cerr << "ready. Empty line or EOF quits.\n";
  json messages = json::array();
  if (a.has("--system")) messages.push_back({{"role", "system"}, {"content", *a.get("--system")}});
  std::string line;
  CancelFlag never{false};
  while (true) {
    std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line) || line.empty()) break;
    messages.push_back({{"role", "user"}, {"content", line}});
    GenerateRequest req;
    req.sampling.temperature = 0;
    req.sampling.max_tokens = a.get_int("--max-tokens", 256);
    req.prompt_ids = m.tokenize(m.render_chat(messages, json(), true), false);
    std::string answer;
    int64_t n = 0;
    auto t0 = Clock::now();
    GenerateResult r = m.generate(req, [&](const TokenEvent& ev) {
      answer += ev.text;
      ++n;
      std::cout << ev.text << std::flush;
    }, never);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cout << "\n";
    std::cerr << "[" << n << " tokens, " << (s > 0 ? n / s : 0.0) << " tok/s overall, decode "
              << r.timings.value("decode_tok_s", 0.0) << " tok/s, prefill " << r.timings.value("prefill_tok_s", 0.0)
              << " tok/s]\n";
    messages.push_back({{"role", "assistant"}, {"content", answer}});
  }
  return 0;
}

}  // namespace

KILN_COMMAND("chat", "--model PATH [--device auto|cpu|cuda|hip] [--max-tokens N] [--system TEXT] [--context N]",
             "interactive chat with streaming output and live tok/s", run_chat);

}  // namespace kiln::cli
