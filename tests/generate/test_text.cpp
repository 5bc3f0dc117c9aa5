// Text out of the loop: stop strings (also across token boundaries, never emitted) and
// UTF-8 that is never handed out half.
#include <catch2/catch.hpp>

#include "kiln/generate.h"
#include "scripted_lm.h"

using namespace kiln;
using kiln::test::ScriptedLM;
using kiln::test::shared_tokenizer;

namespace {

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

struct Run {
  GenerateResult result;
  std::vector<TokenEvent> events;
  std::string streamed;
  std::string full;  // the tokenizer's decode of the whole completion (what the text is cut from)
  std::string until(const std::string& stop) const { return full.substr(0, full.find(stop)); }
};

Run run(const std::string& tokenizer, const std::string& completion, std::vector<std::string> stops) {
  const Tokenizer& tok = shared_tokenizer(tokenizer);
  std::vector<int32_t> script = tok.encode(completion, false);
  script.push_back(tok.end_of_generation_ids().front());
  ScriptedLM lm(static_cast<int64_t>(tok.vocab_size()), 512, script, tok.end_of_generation_ids().front());
  GenerateRequest req;
  req.prompt = "Q:";
  req.sampling.temperature = 0;
  req.sampling.max_tokens = 200;
  req.sampling.stop = std::move(stops);
  GenerateOptions o;
  o.tokenizer = &tok;
  Run r;
  r.full = tok.decode(tok.encode(completion, false), true);
  r.result = generate(lm, req, o, [&](const TokenEvent& e) {
    r.events.push_back(e);
    r.streamed += e.text;
  });
  return r;
}

}  // namespace

TEST_CASE("StopStringFilter holds back possible starts and cuts at the earliest match", "[generate][text]") {
  StopStringFilter f({"</end>", "STOP"});
  CHECK(f.push("hello <") == "hello ");
  CHECK(f.push("/e") == "");
  CHECK(f.push("xtra") == "</extra");
  CHECK(f.push(" S") == " ");
  CHECK(f.push("TO") == "");
  CHECK(f.push("P and more") == "");
  CHECK(f.matched());
  CHECK(f.push("later") == "");

  StopStringFilter g({"abc", "b"});
  CHECK(g.push("xab") == "xa");  // "b" matches first
  CHECK(g.matched());

  StopStringFilter h({"DONE"});
  CHECK(h.push("almost DON") == "almost ");
  CHECK(h.flush() == "DON");
  CHECK(!h.matched());
}

TEST_CASE("a stop string spanning tokens ends generation before it and is never emitted", "[generate][text]") {
  for (const char* tok : {"llama3", "llama2", "qwen3"}) {
    INFO(tok);
    const std::string completion = " The answer is 42. END of the answer, more text";
    Run r = run(tok, completion, {"2. EN"});
    CHECK(r.result.finish_reason == "stop");
    CHECK(r.result.text == r.until("2. EN"));
    CHECK(r.result.text.ends_with("answer is 4"));
    CHECK(r.streamed == r.result.text);
    for (const auto& e : r.events) CHECK(e.text.find('2') == std::string::npos);
    // the model was not run past the token that completed the match
    CHECK(r.result.token_ids.size() < shared_tokenizer(tok).encode(completion, false).size());
  }
}

TEST_CASE("text held back for a stop string that never comes is emitted at the end", "[generate][text]") {
  Run r = run("llama3", " almost END", {"ENDX"});
  CHECK(r.result.finish_reason == "stop");  // EOS
  CHECK(r.result.text == r.full);
  CHECK(r.streamed == r.result.text);
  CHECK(r.events.back().id == -1);  // the flush arrives as a last event without a token
  CHECK(r.events.back().text == "END");
}

TEST_CASE("the earliest of several stop strings wins - a stop string inside one token works too",
          "[generate][text]") {
  Run r = run("llama3", " alpha beta gamma", {"gamma", "beta"});
  CHECK(r.result.text == r.until("beta"));
  Run inside = run("llama3", " hello world", {"ell"});
  CHECK(inside.result.text == inside.until("ell"));
  CHECK(inside.result.text.ends_with("h"));
}

TEST_CASE("UTF-8 characters split across tokens are never emitted half", "[generate][text]") {
  // 𝄞 and 🦙 are byte-fallback tokens in Llama 2 and several byte-level tokens in Llama 3 / Qwen3.
  const std::string completion = " café 𝄞 日本語 🦙 naïve";
  for (const char* tok : {"llama2", "llama3", "qwen3"}) {
    INFO(tok);
    Run r = run(tok, completion, {});
    int empty_events = 0;
    for (const auto& e : r.events) {
      CHECK(valid_utf8(e.text));
      if (e.text.empty()) ++empty_events;
    }
    CHECK(empty_events >= 2);  // some tokens completed no character (and the EOS)
    CHECK(r.streamed == r.result.text);
    CHECK(r.result.text == r.full);
  }
}

TEST_CASE("a stop string made of multi-byte characters", "[generate][text]") {
  Run r = run("llama2", " one 日本語 two", {"本語"});
  CHECK(r.result.text == r.until("本語"));
  CHECK(r.result.text.ends_with("日"));
  for (const auto& e : r.events) CHECK(valid_utf8(e.text));
}
