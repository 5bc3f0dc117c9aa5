// `kiln bench llm --model PATH`: time to Ready with an empty and with a warm kernel cache,
// TTFT and prefill speed on a 512-token prompt, decode speed (batch 1), peak RSS and kernels
// per decode step — and llama.cpp (llama-cpp-python) and tinygrad (tools/bench/peers/
// tinygrad_peer.py) on the same GGUF, prompt and threads, in the same run, as ratios. Each kiln
// measurement runs in a child process (`--inner`) so cold and warm starts are real process starts;
// with --rounds N kiln's warm run and llama.cpp alternate N times and each keeps its best.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "args.h"
#include "bench.h"
#include "kiln/env.h"
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
  if (const char* p = env::value("KILN_PYTHON")) c.emplace_back(p);
  c.emplace_back("/work/venv/bin/python");
  c.emplace_back("python3");
  for (const auto& py : c) {
    if (std::system((quote(py) + " -c " + quote("import " + module) + " >/dev/null 2>&1").c_str()) == 0) return py;
  }
  return "";
}

// The end of a child's output, for error messages (Python tracebacks end with the cause).
std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// Runs a peer script and returns its JSON, or a {"skipped": why} object when it fails, times
// out or prints no result (an {"error": ...} it reports, a file it cannot load, is kept).
json run_peer(const std::string& cmd, int timeout_s, const std::string& what) {
  int rc = 0;
  std::string res = run_capture(
      "timeout --kill-after=10 " + std::to_string(timeout_s) + " " + cmd + " 2>&1", &rc);
  const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (status == 124 || status == 137)
    return {{"skipped",
             what + " timed out after " + std::to_string(timeout_s) + " s (--peer-timeout)"}};
  if (rc != 0)
    return {{"skipped",
             what + " failed (exit status " + std::to_string(status) + "): " + tail(res, 400)}};
  try {
    return last_json(res, what.c_str());
  } catch (const std::exception& e) {
    return {{"skipped", e.what()}};
  }
}

bool usable(const json& peer) {
  return !peer.contains("skipped") && !peer.contains("error");
}

// Keeps the best of repeated measurements: the highest rates, the shortest times.
void keep_best(json& best, const json& cur) {
  if (best.is_null() || !usable(best)) {
    best = cur;
    return;
  }
  if (!usable(cur)) return;
  for (auto it = cur.begin(); it != cur.end(); ++it) {
    const std::string& k = it.key();
    if (!it->is_number() || !best.contains(k)) continue;
    const bool rate = k.size() > 6 && k.substr(k.size() - 6) == "_tok_s";
    const bool time = k == "ttft_s" || k == "ready_s" || k == "load_s";
    if (rate && it->get<double>() > best[k].get<double>()) best[k] = *it;
    if (time && it->get<double>() < best[k].get<double>()) best[k] = *it;
  }
}

// out[key] = the peer's figures, out["kiln_over_" + key] = kiln's prefill/decode over them.
void record_peer(json& out, const std::string& key, const json& kiln, const json& peer) {
  out[key] = peer;
  if (!usable(peer)) return;
  json ratio = json::object();
  for (const char* k : {"prefill_tok_s", "decode_tok_s"})
    if (peer.value(k, 0.0) > 0) ratio[k] = kiln.value(k, 0.0) / peer[k].get<double>();
  out["kiln_over_" + key] = ratio;
}

// tools/bench/peers in the source tree (or $KILN_BENCH_PEERS): the standalone peer scripts.
fs::path peers_dir() {
  if (const char* p = env::value("KILN_BENCH_PEERS")) return p;
#ifdef KILN_PEERS_DIR
  return KILN_PEERS_DIR;
#else
  return {};
#endif
}

int run_bench_llm(const std::vector<std::string>& argv, bool as_json) {
  Args a(argv,
         {"--model", "--device", "--context", "--prompt-tokens", "--decode-tokens", "--threads",
          "--peer-timeout", "--rounds"},
         {"--inner", "--measure", "--no-peer", "--no-tinygrad"});
  if (a.has("--inner")) return inner(a);
  const std::string model = a.require("--model");
  const int64_t n_prompt = a.get_int("--prompt-tokens", 512), n_decode = a.get_int("--decode-tokens", 64);
  // every side runs on the same threads: kiln's children get them as KILN_THREADS
  const char* env_threads = env::value("KILN_THREADS");
  const int64_t threads = a.get_int("--threads", env_threads ? std::max(1, std::atoi(env_threads))
                                                             : std::thread::hardware_concurrency());
  if (threads <= 0) throw Error("bench llm: --threads must be positive");
  const int peer_timeout = static_cast<int>(a.get_int("--peer-timeout", 1800));
  if (peer_timeout <= 0) throw Error("bench llm: --peer-timeout must be positive");
  // kiln's warm run and llama.cpp alternate for this many rounds, each keeping its best: load
  // from other processes then hits both sides alike instead of one whole phase
  const int64_t rounds = a.get_int("--rounds", 1);
  if (rounds <= 0 || rounds > 100) throw Error("bench llm: --rounds must be in 1..100");
  const fs::path cache = fs::temp_directory_path() / ("kiln-bench-llm-" + std::to_string(getpid()));
  fs::remove_all(cache);
  fs::create_directories(cache);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string base = quote(self) + " bench llm --inner --model " + quote(model) + " --device " +
                     quote(a.get_or("--device", "cpu")) + " --context " +
                     std::to_string(a.get_int("--context", n_prompt + n_decode + 64)) + " --prompt-tokens " +
                     std::to_string(n_prompt) + " --decode-tokens " + std::to_string(n_decode);
  std::string env =
      "KILN_CACHE_DIR=" + quote(cache.string()) + " KILN_THREADS=" + std::to_string(threads) + " ";
  int rc = 0;
  std::string cold_out = run_capture(env + base + " 2>&1", &rc);
  if (rc != 0) throw Error("bench llm: cold start failed: " + cold_out.substr(0, 600));
  json cold = last_json(cold_out, "cold start");
  auto kiln_warm = [&] {
    std::string warm_out = run_capture(env + base + " --measure 2>&1", &rc);
    if (rc != 0) throw Error("bench llm: warm run failed: " + warm_out.substr(0, 600));
    return last_json(warm_out, "warm run");
  };
  json warm = kiln_warm();

  std::string ids;  // the prompt kiln ran, for the peers
  for (int32_t id : bench_prompt(n_prompt, warm.value("vocab_size", int64_t{32000})))
    ids += (ids.empty() ? "" : ",") + std::to_string(id);
  const bool gguf = model.size() >= 5 && model.substr(model.size() - 5) == ".gguf";

  std::string reason;
  if (a.has("--no-peer")) reason = "--no-peer";
  else if (!gguf)
    reason = "llama.cpp needs a .gguf file";
  std::string py = reason.empty() ? find_python_with("llama_cpp") : "";
  if (reason.empty() && py.empty()) reason = "no Python with llama_cpp (pip install llama-cpp-python)";
  json llama;
  if (reason.empty()) {
    fs::path script = fs::temp_directory_path() / ("kiln-bench-llm-peer-" + std::to_string(getpid()) + ".py");
    std::ofstream(script) << kLlamaCppPeer;
    const std::string cmd = quote(py) + " " + quote(script.string()) + " " + quote(model) + " " +
                            std::to_string(n_prompt) + " " + std::to_string(n_decode) + " " +
                            std::to_string(threads) + " " + quote(ids);
    for (int64_t r = 0; r < rounds; ++r) {
      if (r > 0) keep_best(warm, kiln_warm());
      keep_best(llama, run_peer(cmd, peer_timeout, "llama.cpp peer"));
    }
    fs::remove(script);
  } else {
    for (int64_t r = 1; r < rounds; ++r) keep_best(warm, kiln_warm());
    llama = {{"skipped", reason}};
  }
  fs::remove_all(cache);
  json kiln = warm;
  kiln["cold_ready_s"] = cold["ready_s"];
  kiln["warm_ready_s"] = warm["ready_s"];
  kiln.erase("ready_s");
  json out = {{"model", model}, {"threads", threads}, {"rounds", rounds}, {"kiln", kiln}};
  record_peer(out, "llama_cpp", kiln, llama);

  // tinygrad (PyPI): tools/bench/peers/tinygrad_peer.py on the same file, prompt and threads
  reason.clear();
  const fs::path tiny_script = peers_dir() / "tinygrad_peer.py";
  if (a.has("--no-peer"))
    reason = "--no-peer";
  else if (a.has("--no-tinygrad"))
    reason = "--no-tinygrad";
  else if (!gguf)
    reason = "tinygrad's LLM runner needs a .gguf file";
  else if (peers_dir().empty() || !fs::exists(tiny_script))
    reason = "tinygrad_peer.py not found (" + tiny_script.string() +
             "; set KILN_BENCH_PEERS to tools/bench/peers)";
  py = reason.empty() ? find_python_with("tinygrad") : "";
  if (reason.empty() && py.empty()) reason = "no Python with tinygrad (pip install tinygrad)";
  if (reason.empty()) {
    // once: its warmup alone takes minutes
    record_peer(
        out, "tinygrad", kiln,
        run_peer(quote(py) + " " + quote(tiny_script.string()) + " --model " + quote(model) +
                     " --threads " + std::to_string(threads) + " --new-tokens " +
                     std::to_string(n_decode) + " --prompt-ids " + quote(ids),
                 peer_timeout, "tinygrad peer"));
  } else {
    out["tinygrad"] = {{"skipped", reason}};
  }
  if (as_json) std::cout << out.dump() << "\n";
  else std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

KILN_BENCH(
    "llm",
    "LLM load/TTFT/prefill/decode/RSS vs llama.cpp and tinygrad on the same GGUF (--model PATH)",
    run_bench_llm);

}  // namespace kiln::cli
