// `kiln bench llm --model PATH`: time to Ready with an empty and with a warm kernel cache,
// TTFT and prefill speed on a 512-token prompt, decode speed (batch 1), peak RSS and kernels
// per decode step — and llama.cpp (llama-cpp-python) on the same GGUF and threads, in the
// same run, as ratios. Each kiln measurement runs in a child process (`--inner`) so cold and
// warm starts are real process starts.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "args.h"
#include "bench.h"
#include "kiln/error.h"
#include "local_model.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string run_capture(const std::string& cmd, int* rc) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    *rc = pclose(p);
  } else {
    *rc = -1;
  }
  return out;
}

// The last JSON line a child printed; a child that printed none failed: say what it printed.
json last_json(const std::string& out, const char* what) {
  size_t at = out.rfind("\n{");
  size_t start = at == std::string::npos ? out.find('{') : at + 1;
  if (start == std::string::npos)
    throw Error(std::string("bench llm: the ") + what + " printed no result: " + out.substr(0, 600));
  return json::parse(out.substr(start));
}

std::vector<int32_t> bench_prompt(int64_t n, int64_t vocab) {
  std::vector<int32_t> ids;
  uint64_t x = 88172645463325252ull;
  for (int64_t i = 0; i < n; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    ids.push_back(static_cast<int32_t>(100 + x % static_cast<uint64_t>(std::max<int64_t>(vocab - 200, 1))));
  }
  return ids;
}

// One process: load + warm up (time to Ready); with `measure`, also one generation.
int inner(const Args& a) {
  auto t0 = Clock::now();
  LocalModel lm(a.require("--model"), a.get_or("--device", "cpu"), a.get_int("--context", 0));
  Model& m = lm.model();
  double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  m.warmup({});
  double ready_s = std::chrono::duration<double>(Clock::now() - t0).count();
  json out = {{"load_s", load_s}, {"ready_s", ready_s}};
  if (a.has("--measure")) {
    json md = m.metadata();
    GenerateRequest req;
    req.prompt_ids = bench_prompt(a.get_int("--prompt-tokens", 512), md.value("vocab_size", 32000));
    req.sampling.temperature = 0;
    req.sampling.max_tokens = a.get_int("--decode-tokens", 64);
    req.sampling.ignore_eos = true;
    CancelFlag never{false};
    GenerateResult r = m.generate(req, {}, never);
    out["ttft_s"] = r.timings.value("ttft_s", 0.0);
    out["prefill_tok_s"] = r.timings.value("prefill_tok_s", 0.0);
    out["decode_tok_s"] = r.timings.value("decode_tok_s", 0.0);
    out["kernels_per_decode_step"] = md.value("decode_kernels", 0);
    out["prompt_tokens"] = req.prompt_ids.size();
    out["vocab_size"] = md.value("vocab_size", 32000);
    out["decode_tokens"] = r.completion_tokens;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out["peak_rss_mb"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
  std::cout << "\n" << out.dump() << std::endl;
  return 0;
}

const char* kLlamaCppPeer = R"PY(
import json, sys, time, resource
import numpy as np
from llama_cpp import Llama
path, n_prompt, n_decode, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
prompt = [int(x) for x in sys.argv[5].split(",")]
t0 = time.time()
llm = Llama(model_path=path, n_ctx=n_prompt + n_decode + 8, n_batch=512, n_threads=threads, verbose=False)
load_s = time.time() - t0
n_vocab = llm.n_vocab()
def argmax_last():
    return int(np.argmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,))))
# warmup (first touch of the weights, thread pool start), as kiln's warmup does
llm.eval(prompt[:16]); llm.eval([prompt[0]]); llm.reset()
t1 = time.time()
llm.eval(prompt)
prefill_s = time.time() - t1
tok = argmax_last()
ttft_s = time.time() - t1
t2 = time.time()
for _ in range(n_decode - 1):
    llm.eval([tok])
    tok = argmax_last()
decode_s = time.time() - t2
print(json.dumps({"name": "llama.cpp (llama-cpp-python)", "ready_s": load_s, "ttft_s": ttft_s,
                  "prefill_tok_s": len(prompt) / prefill_s, "decode_tok_s": (n_decode - 1) / decode_s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))
)PY";

std::string find_python_with(const std::string& module) {
  std::vector<std::string> c;
  if (const char* p = std::getenv("KILN_PYTHON")) c.emplace_back(p);
  c.emplace_back("/work/venv/bin/python");
  c.emplace_back("python3");
  for (const auto& py : c) {
    if (std::system((quote(py) + " -c " + quote("import " + module) + " >/dev/null 2>&1").c_str()) == 0) return py;
  }
  return "";
}

int run_bench_llm(const std::vector<std::string>& argv, bool as_json) {
  Args a(argv, {"--model", "--device", "--context", "--prompt-tokens", "--decode-tokens", "--threads"},
         {"--inner", "--measure", "--no-peer"});
  if (a.has("--inner")) return inner(a);
  const std::string model = a.require("--model");
  const int64_t n_prompt = a.get_int("--prompt-tokens", 512), n_decode = a.get_int("--decode-tokens", 64);
  const fs::path cache = fs::temp_directory_path() / ("kiln-bench-llm-" + std::to_string(getpid()));
  fs::remove_all(cache);
  fs::create_directories(cache);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string base = quote(self) + " bench llm --inner --model " + quote(model) + " --device " +
                     quote(a.get_or("--device", "cpu")) + " --context " +
                     std::to_string(a.get_int("--context", n_prompt + n_decode + 64)) + " --prompt-tokens " +
                     std::to_string(n_prompt) + " --decode-tokens " + std::to_string(n_decode);
  std::string env = "KILN_CACHE_DIR=" + quote(cache.string()) + " ";
  int rc = 0;
  std::string cold_out = run_capture(env + base + " 2>&1", &rc);
  if (rc != 0) throw Error("bench llm: cold start failed: " + cold_out.substr(0, 600));
  json cold = last_json(cold_out, "cold start");
  std::string warm_out = run_capture(env + base + " --measure 2>&1", &rc);
  if (rc != 0) throw Error("bench llm: warm run failed: " + warm_out.substr(0, 600));
  json warm = last_json(warm_out, "warm run");
  fs::remove_all(cache);
  json kiln = warm;
  kiln["cold_ready_s"] = cold["ready_s"];
  kiln["warm_ready_s"] = warm["ready_s"];
  kiln.erase("ready_s");
  json out = {{"model", model}, {"threads", std::thread::hardware_concurrency()}, {"kiln", kiln}};

  std::string reason;
  if (a.has("--no-peer")) reason = "--no-peer";
  else if (model.size() < 5 || model.substr(model.size() - 5) != ".gguf") reason = "llama.cpp needs a .gguf file";
  std::string py = reason.empty() ? find_python_with("llama_cpp") : "";
  if (reason.empty() && py.empty()) reason = "no Python with llama_cpp (pip install llama-cpp-python)";
  if (reason.empty()) {
    fs::path script = fs::temp_directory_path() / ("kiln-bench-llm-peer-" + std::to_string(getpid()) + ".py");
    std::ofstream(script) << kLlamaCppPeer;
    std::string ids;  // the prompt kiln ran
    for (int32_t id : bench_prompt(n_prompt, kiln.value("vocab_size", int64_t{32000})))
      ids += (ids.empty() ? "" : ",") + std::to_string(id);
    std::string res = run_capture(quote(py) + " " + quote(script.string()) + " " + quote(model) + " " +
                                      std::to_string(n_prompt) + " " + std::to_string(n_decode) + " " +
                                      std::to_string(a.get_int("--threads", std::thread::hardware_concurrency())) +
                                      " " + quote(ids) + " 2>&1",
                                  &rc);
    fs::remove(script);
    if (rc != 0) reason = "llama.cpp peer failed: " + res.substr(0, 300);
    else {
      json peer = last_json(res, "llama.cpp peer");
      out["llama_cpp"] = peer;
      json ratio;
      for (const char* k : {"prefill_tok_s", "decode_tok_s"})
        if (peer.value(k, 0.0) > 0) ratio[k] = kiln.value(k, 0.0) / peer[k].get<double>();
      out["kiln_over_llama_cpp"] = ratio;
    }
  }
  if (!reason.empty()) out["llama_cpp"] = {{"skipped", reason}};
  out["tinygrad"] = {{"skipped", "tinygrad's LLaMA runner is not wired into this bench yet"}};
  if (as_json) std::cout << out.dump() << "\n";
  else std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

KILN_BENCH("llm", "LLM load/TTFT/prefill/decode/RSS vs llama.cpp on the same GGUF (--model PATH)", run_bench_llm);

}  // namespace kiln::cli
