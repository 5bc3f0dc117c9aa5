// `kiln bench tokenize`: encode throughput on 1 MB of mixed text (prose, code, many scripts,
// emoji, numbers, whitespace runs), Kiln against Hugging Face tokenizers (or the sentencepiece
// library for a tokenizer.model) measured in the same run through the venv's Python.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "args.h"
#include "bench.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "kiln/tokenizer.h"

namespace kiln::cli {

namespace {

namespace fs = std::filesystem;

const char* const kParagraphs[] = {
    "The quick brown fox jumps over the lazy dog. It's a sentence that uses every letter, and we'll use it again.\n",
    "In 2024, revenue grew 12.5% to $3,141,592 while costs fell by 2.7 percent; see table 4 (p. 13).\n",
    "def tokenize(text: str) -> list[int]:\n    ids = []\n    for word in text.split():\n        ids.append(vocab.get(word, 0))\n    return ids\n\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}\nreturn sum;\n",
    "{\"name\": \"kiln\", \"version\": \"0.1.0\", \"tags\": [\"compiler\", \"inference\"], \"ok\": true}\n",
    "Привет, мир! Это пример текста на русском языке с разными словами.\n",
    "我想在苹果公司工作，每天学习新的东西。今天天气很好。\n",
    "日本語のテキストです。カタカナとひらがなと漢字が混ざっています。\n",
    "한국어 문장입니다. 토크나이저는 빠르고 정확해야 합니다.\n",
    "مرحبا بالعالم، هذا نص عربي قصير للاختبار.\n",
    "हिन्दी में एक छोटा वाक्य। ภาษาไทยไม่มีช่องว่างระหว่างคำ\n",
    "Emoji time 🚀🦙✅ 😶‍🌫️ 👨‍👩‍👧‍👦 and flags 🇺🇸🇯🇵 — done! 🎉\n",
    "    indented line with    irregular   spacing\t\ttabs and trailing spaces   \n\n\n",
    "Ελληνικά, Türkçe İstanbul, straße, café crème, naïve façade, Ñandú.\n",
};

const char* const kSyllables[] = {"ka", "lo", "mi", "tra", "ne", "st", "or", "qu", "ix", "ber", "zon", "pha",
                                  "el", "un", "ti", "gra", "po", "sh", "ae", "ly"};

// Deterministic mixed text of exactly `bytes` bytes (cut at a character boundary).
std::string mixed_text(size_t bytes) {
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::string out;
  out.reserve(bytes + 256);
  const size_t n_para = sizeof(kParagraphs) / sizeof(kParagraphs[0]);
  const size_t n_syl = sizeof(kSyllables) / sizeof(kSyllables[0]);
  while (out.size() < bytes) {
    if (next() % 3 == 0) {
      out += kParagraphs[next() % n_para];
      continue;
    }
    // A sentence of made-up words and numbers, so not every word is a cache hit.
    const size_t words = 5 + next() % 12;
    for (size_t w = 0; w < words; ++w) {
      if (w) out += ' ';
      if (next() % 9 == 0) {
        out += std::to_string(next() % 100000);
        continue;
      }
      const size_t syl = 1 + next() % 4;
      for (size_t s = 0; s < syl; ++s) out += kSyllables[next() % n_syl];
      if (next() % 7 == 0) out[out.size() - 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(out.back())));
    }
    out += next() % 4 == 0 ? ".\n" : ". ";
  }
  size_t cut = bytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out;
}

uint64_t ids_checksum(const std::vector<TokenId>& ids) {
  uint64_t h = 1469598103934665603ULL;
  for (TokenId id : ids) h = (h ^ static_cast<uint64_t>(static_cast<uint32_t>(id))) * 1099511628211ULL;
  return h;
}

std::string hex(uint64_t v) {
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

// The test suite's unpacked Llama 3 tokenizer.json in the build tree, when no file is given.
fs::path default_tokenizer() {
  const fs::path p = executable_dir().parent_path() / "tests" / "tokenizers" / "data" / "llama3" / "tokenizer.json";
  if (!fs::exists(p)) {
    throw Error("no --tokenizer FILE given and the default " + p.string() +
                " is missing (build the test_tokenizers target to unpack it)");
  }
  return p;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A Python that can import `module`: $KILN_PYTHON, the active venv, ./.venv, /work/venv, python3.
std::string find_python(const std::string& module) {
  std::vector<std::string> candidates;
  if (const char* p = env::value("KILN_PYTHON")) candidates.emplace_back(p);
  if (const char* v = std::getenv("VIRTUAL_ENV")) candidates.push_back(std::string(v) + "/bin/python");
  candidates.push_back((fs::current_path() / ".venv" / "bin" / "python").string());
  candidates.emplace_back("/work/venv/bin/python");
  candidates.emplace_back("python3");
  for (const std::string& py : candidates) {
    if (py.find('/') != std::string::npos && !fs::exists(py)) continue;
    const std::string cmd = shell_quote(py) + " -c " + shell_quote("import " + module) + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return py;
  }
  return "";
}

const char* kPeerScript = R"PY(
import json, sys, time
kind, tok_path, text_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
add_special, add_bos, add_eos = sys.argv[5] == "1", sys.argv[6] == "1", sys.argv[7] == "1"
with open(text_path, encoding="utf-8", newline="") as f:
    text = f.read()
pieces = text.split("\n")
lines = [p + "\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
if kind == "json":
    import tokenizers
    tok = tokenizers.Tokenizer.from_file(tok_path)
    encode = lambda: tok.encode(text, add_special_tokens=add_special).ids
    # Every line as its own text: encode_batch, on the library's thread pool (its best case).
    encode_lines = lambda: [i for e in tok.encode_batch(lines, add_special_tokens=add_special) for i in e.ids]
    name = "huggingface tokenizers " + tokenizers.__version__
else:
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=tok_path)
    encode = lambda: sp.encode(text, add_bos=add_bos, add_eos=add_eos)
    encode_lines = lambda: [i for e in sp.encode(lines, add_bos=add_bos, add_eos=add_eos) for i in e]
    name = "sentencepiece " + spm.__version__

def measure(fn):
    ids = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        ids = fn()
        times.append(time.perf_counter() - t)
    h = 1469598103934665603
    for i in ids:
        h = ((h ^ i) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    times.sort()
    return {"seconds": times[len(times) // 2], "best_seconds": times[0], "tokens": len(ids), "checksum": "%016x" % h}

out = measure(encode)
out["name"] = name
out["lines"] = measure(encode_lines)
print(json.dumps(out))
)PY";

// The text cut after every '\n' (each line keeps its newline), as the peer cuts it.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    const size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

struct Timing {
  double median = 0, best = 0;
};

Timing time_runs(const std::function<void()>& fn, int runs) {
  fn();  // warm-up (fills caches, as the peer's warm-up does)
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front()};
}

int run_bench_tokenize(const std::vector<std::string>& argv) {
  Args args(argv, {"--tokenizer", "--model", "--bytes", "--runs", "--save-text"}, {"--json", "--no-special", "--no-peer"});
  const auto model = args.get("--model");
  const fs::path path = args.get("--tokenizer") ? fs::path(*args.get("--tokenizer")) : model ? fs::path(*model) : default_tokenizer();
  const auto bytes = static_cast<size_t>(args.get_int("--bytes", 1 << 20));
  const int runs = static_cast<int>(args.get_int("--runs", 5));
  if (bytes == 0 || runs <= 0) throw Error("--bytes and --runs must be positive");
  const bool add_special = !args.has("--no-special");

  const auto load_start = std::chrono::steady_clock::now();
  const auto tok = load_tokenizer(path);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const std::string text = mixed_text(bytes);
  if (auto save = args.get("--save-text")) std::ofstream(*save, std::ios::binary) << text;

  std::vector<TokenId> ids;
  const Timing kiln_t = time_runs([&] { ids = tok->encode(text, add_special); }, runs);
  const std::string checksum = hex(ids_checksum(ids));
  // The same text as separate lines (a chat server's many short texts), one after another.
  const auto lines = split_lines(text);
  std::vector<TokenId> line_ids;
  const Timing lines_t = time_runs([&] {
    line_ids.clear();
    for (std::string_view line : lines) {
      const auto v = tok->encode(line, add_special);
      line_ids.insert(line_ids.end(), v.begin(), v.end());
    }
  }, runs);
  const std::string lines_checksum = hex(ids_checksum(line_ids));

  nlohmann::json out;
  out["benchmark"] = "tokenize";
  out["tokenizer"] = path.string();
  out["description"] = tok->description();
  out["input_bytes"] = text.size();
  out["runs"] = runs;
  out["kiln"] = {{"seconds", kiln_t.median}, {"best_seconds", kiln_t.best}, {"load_seconds", load_s},
                 {"tokens", ids.size()}, {"mb_per_s", text.size() / kiln_t.median / 1e6},
                 {"tokens_per_s", ids.size() / kiln_t.median}, {"checksum", checksum}};
  out["lines"] = {{"count", lines.size()},
                  {"kiln", {{"seconds", lines_t.median}, {"best_seconds", lines_t.best}, {"tokens", line_ids.size()},
                            {"mb_per_s", text.size() / lines_t.median / 1e6}, {"checksum", lines_checksum}}}};

  // The peer: Hugging Face tokenizers for tokenizer.json, sentencepiece for tokenizer.model.
  std::string peer_kind, module, reason;
  const std::string desc = tok->description();
  if (desc.rfind("tokenizer.json", 0) == 0) {
    peer_kind = "json", module = "tokenizers";
  } else if (desc.rfind("SentencePiece", 0) == 0) {
    peer_kind = "model", module = "sentencepiece";
  } else {
    reason = "no Python peer reads this file kind";
  }
  fs::path tok_file = path;
  if (fs::is_directory(path)) tok_file = fs::exists(path / "tokenizer.json") ? path / "tokenizer.json" : path / "tokenizer.model";
  std::string python;
  if (reason.empty() && args.has("--no-peer")) reason = "--no-peer";
  if (reason.empty()) {
    python = find_python(module);
    if (python.empty()) reason = "no Python with the '" + module + "' package";
  }
  if (reason.empty()) {
    const fs::path dir = fs::temp_directory_path() / ("kiln-bench-tokenize-" + std::to_string(getpid()));
    fs::create_directories(dir);
    {
      std::ofstream(dir / "text.txt", std::ios::binary) << text;
      std::ofstream(dir / "peer.py", std::ios::binary) << kPeerScript;
    }
    const std::string cmd = shell_quote(python) + " " + shell_quote((dir / "peer.py").string()) + " " + peer_kind + " " +
                            shell_quote(fs::absolute(tok_file).string()) + " " + shell_quote((dir / "text.txt").string()) +
                            " " + std::to_string(runs) + " " + (add_special ? "1" : "0") + " " +
                            (add_special && tok->config().add_bos_token.value_or(true) && tok->bos_id() ? "1" : "0") + " " +
                            (add_special && tok->config().add_eos_token.value_or(false) && tok->eos_id() ? "1" : "0") + " 2>&1";
    std::string result;
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = fread(buf, 1, sizeof(buf), p)) > 0) result.append(buf, n);
      const int rc = pclose(p);
      if (rc != 0) reason = "peer failed: " + result.substr(0, 400);
    } else {
      reason = "cannot run " + python;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (reason.empty()) {
      try {
        const auto peer = nlohmann::json::parse(result.substr(result.find('{')));
        const double peer_s = peer.at("seconds").get<double>();
        out["peer"] = {{"name", peer.at("name")}, {"seconds", peer_s}, {"best_seconds", peer.at("best_seconds")},
                       {"tokens", peer.at("tokens")}, {"mb_per_s", text.size() / peer_s / 1e6},
                       {"checksum", peer.at("checksum")}};
        out["speedup"] = peer_s / kiln_t.median;
        out["ids_match"] = peer.at("checksum").get<std::string>() == checksum && peer.at("tokens").get<size_t>() == ids.size();
        const auto& pl = peer.at("lines");
        const double peer_lines_s = pl.at("seconds").get<double>();
        out["lines"]["peer"] = {{"name", peer.at("name").get<std::string>() + (peer_kind == "json" ? " encode_batch (thread pool)" : " (list)")},
                                {"seconds", peer_lines_s}, {"best_seconds", pl.at("best_seconds")}, {"tokens", pl.at("tokens")},
                                {"mb_per_s", text.size() / peer_lines_s / 1e6}, {"checksum", pl.at("checksum")}};
        out["lines"]["speedup"] = peer_lines_s / lines_t.median;
        out["lines"]["ids_match"] = pl.at("checksum").get<std::string>() == lines_checksum;
      } catch (const std::exception& e) {
        reason = std::string("unreadable peer output: ") + e.what();
      }
    }
  }
  if (!reason.empty()) {
    out["peer"] = "peer unavailable";
    out["peer_reason"] = reason;
  }

  if (args.has("--json")) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("tokenize %s (%s): %zu bytes\n", path.string().c_str(), desc.c_str(), text.size());
  std::printf("  kiln: %.2f MB/s, %zu tokens in %.4f s (median of %d)\n", out["kiln"]["mb_per_s"].get<double>(),
              ids.size(), kiln_t.median, runs);
  if (out["peer"].is_object()) {
    std::printf("  %s: %.2f MB/s in %.4f s\n  speedup: %.2fx, ids %s\n", out["peer"]["name"].get<std::string>().c_str(),
                out["peer"]["mb_per_s"].get<double>(), out["peer"]["seconds"].get<double>(), out["speedup"].get<double>(),
                out["ids_match"].get<bool>() ? "identical" : "DIFFER");
    const auto& l = out["lines"];
    std::printf("  as %zu separate lines: kiln %.2f MB/s, %s %.2f MB/s, speedup %.2fx, ids %s\n", lines.size(),
                l["kiln"]["mb_per_s"].get<double>(), l["peer"]["name"].get<std::string>().c_str(),
                l["peer"]["mb_per_s"].get<double>(), l["speedup"].get<double>(),
                l["ids_match"].get<bool>() ? "identical" : "DIFFER");
  } else {
    std::printf("  peer unavailable (%s)\n", reason.c_str());
  }
  return 0;
}

}  // namespace

// flags: [--tokenizer FILE | --model PATH] [--bytes N] [--runs N] [--no-special] [--no-peer]
// [--save-text FILE] [--json]
KILN_BENCH("tokenize", "encode throughput on 1 MB of mixed text vs Hugging Face tokenizers (same run)",
           [](const std::vector<std::string>& args, bool json) {
             std::vector<std::string> all = args;
             if (json) all.push_back("--json");
             return run_bench_tokenize(all);
           });

}  // namespace kiln::cli
