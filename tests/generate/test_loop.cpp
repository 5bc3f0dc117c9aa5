// The generation loop over scripted models: token bookkeeping, EOS, limits, cancellation,
// special tokens, the tool-call hook, logprobs, timings and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <unistd.h>

#include "kiln/error.h"
#include "kiln/generate.h"
#include "kiln/model_source.h"
#include "kiln/toolparser_host.h"
#include "scripted_lm.h"

using namespace kiln;
using kiln::test::ScriptedLM;
using kiln::test::shared_tokenizer;

namespace {

constexpr int32_t kLlama3Eot = 128009;        // <|eot_id|>
constexpr int32_t kLlama3PythonTag = 128010;  // <|python_tag|>

GenerateRequest greedy(std::string prompt, int64_t max_tokens = 64) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.sampling.max_tokens = max_tokens;
  return r;
}

std::vector<int32_t> ids_of(const std::string& text) { return shared_tokenizer("llama3").encode(text, false); }

std::vector<int32_t> with(std::vector<int32_t> ids, std::initializer_list<int32_t> more) {
  ids.insert(ids.end(), more);
  return ids;
}

GenerateOptions llama3_options() {
  GenerateOptions o;
  o.tokenizer = &shared_tokenizer("llama3");
  return o;
}

int64_t vocab() { return static_cast<int64_t>(shared_tokenizer("llama3").vocab_size()); }

}  // namespace

TEST_CASE("greedy follows the model - the prompt is prefilled once, then one token per position",
          "[generate][loop]") {
  const auto script = with(ids_of(" world, this is a test"), {kLlama3Eot});
  ScriptedLM lm(vocab(), 256, script);
  std::vector<TokenEvent> events;
  GenerateResult r = generate(lm, greedy("Hello"), llama3_options(), [&](const TokenEvent& e) { events.push_back(e); });
  CHECK(r.token_ids == script);
  CHECK(r.finish_reason == "stop");
  CHECK(r.text == " world, this is a test");
  CHECK(r.message.content == r.text);
  CHECK(r.prompt_tokens == 1);  // this Llama 3 tokenizer.json adds no BOS (its post-processor is ByteLevel only)
  CHECK(r.completion_tokens == static_cast<int64_t>(script.size()));
  REQUIRE(lm.calls == static_cast<int64_t>(script.size()));
  CHECK(lm.lengths[0] == 1);
  for (size_t i = 0; i < lm.start_positions.size(); ++i) {
    CHECK(lm.start_positions[i] == (i == 0 ? 0 : int64_t(i)));
    CHECK(lm.lengths[i] == 1);
  }
  REQUIRE(events.size() == script.size());
  CHECK(events.back().id == kLlama3Eot);
  CHECK(events.back().text.empty());
  std::string streamed;
  for (const auto& e : events) streamed += e.text;
  CHECK(streamed == r.text);
}

TEST_CASE("plain greedy decode steps let the model pick the token - penalties and logprobs need the logits",
          "[generate][loop]") {
  const auto script = ids_of(" one two three four");
  auto run = [&](GenerateRequest req, ScriptedLM& lm) {
    req.sampling.max_tokens = static_cast<int64_t>(script.size());
    req.sampling.ignore_eos = true;
    return generate(lm, req, llama3_options());
  };
  ScriptedLM plain(vocab(), 256, script);
  CHECK(run(greedy("Hello"), plain).token_ids == script);
  CHECK(plain.greedy_calls == static_cast<int64_t>(script.size()) - 1);  // every step after the prefill
  for (int variant = 0; variant < 2; ++variant) {
    GenerateRequest req = greedy("Hello");
    if (variant == 0) req.sampling.repeat_penalty = 1.1;
    else req.sampling.logprobs = true;
    ScriptedLM lm(vocab(), 256, script);
    CHECK(run(req, lm).token_ids == script);
    CHECK(lm.greedy_calls == 0);
  }
  ScriptedLM broken(vocab(), 256, script);
  broken.bad_pick = true;
  CHECK_THROWS_WITH(run(greedy("Hello"), broken), Catch::Contains("outside the vocabulary"));
}

TEST_CASE("pipelined greedy decoding gives the same tokens - one step queued ahead, dropped at the end",
          "[generate][loop]") {
  const auto script = with(ids_of(" one two three four five"), {kLlama3Eot});
  for (int64_t max_tokens : {1, 2, 3, 100}) {
    INFO("max_tokens " << max_tokens);
    GenerateRequest req = greedy("Hello");
    req.sampling.max_tokens = max_tokens;
    ScriptedLM plain(vocab(), 256, script), piped(vocab(), 256, script);
    piped.pipeline = true;
    GenerateResult a = generate(plain, req, llama3_options()), b = generate(piped, req, llama3_options());
    CHECK(b.token_ids == a.token_ids);
    CHECK(b.text == a.text);
    CHECK(b.finish_reason == a.finish_reason);
    CHECK(piped.resets == 1);
    CHECK(piped.queued.empty());
    const int64_t n = static_cast<int64_t>(b.token_ids.size());
    // steps at positions 1, 2, ... (the prompt is one token), each queued once, in order; the
    // last one ahead of the EOS is wasted work, never one past max_tokens
    for (size_t i = 0; i < piped.enqueued.size(); ++i) CHECK(piped.enqueued[i] == int64_t(i) + 1);
    CHECK(static_cast<int64_t>(piped.enqueued.size()) <= std::max<int64_t>(0, std::min(n, max_tokens - 1)) + 1);
    CHECK(static_cast<int64_t>(piped.enqueued.size()) <= max_tokens - 1);
  }
  // the end of the context: never a step past it
  ScriptedLM edge(vocab(), 4, script);
  edge.pipeline = true;
  GenerateRequest req = greedy("Hello");
  req.sampling.ignore_eos = true;
  GenerateResult r = generate(edge, req, llama3_options());
  CHECK(r.finish_reason == "length");
  CHECK(r.token_ids.size() == 4);
  for (int64_t p : edge.enqueued) CHECK(p < 4);
  // penalties: the loop samples from logits, the model never pipelines
  ScriptedLM pen(vocab(), 256, script);
  pen.pipeline = true;
  req = greedy("Hello");
  req.sampling.repeat_penalty = 1.2;
  generate(pen, req, llama3_options());
  CHECK(pen.enqueued.empty());
}

TEST_CASE("BOS is added to prompt text once: not again when the text starts with it", "[generate][loop]") {
  // Llama 2's tokenizer.json adds <s> (TemplateProcessing); a rendered chat prompt starts with it.
  const Tokenizer& tok = shared_tokenizer("llama2");
  GenerateOptions o;
  o.tokenizer = &tok;
  const int64_t v = static_cast<int64_t>(tok.vocab_size());
  ScriptedLM a(v, 64, {2}), b(v, 64, {2}), c(v, 64, {2});
  CHECK(generate(a, greedy("Hello"), o).prompt_tokens == 2);
  CHECK(generate(b, greedy("<s>Hello"), o).prompt_tokens == 2);
  CHECK(b.lengths[0] == 2);
  o.add_special = false;
  CHECK(generate(c, greedy("Hello"), o).prompt_tokens == 1);
}

TEST_CASE("max_tokens, ignore_eos and the end of the context end generation with 'length'", "[generate][loop]") {
  const auto script = with(ids_of(" one two"), {kLlama3Eot, 1, 2, 3, 4, 5, 6, 7, 8});
  SECTION("max_tokens") {
    ScriptedLM lm(vocab(), 256, script);
    GenerateResult r = generate(lm, greedy("x", 2), llama3_options());
    CHECK(r.finish_reason == "length");
    CHECK(r.token_ids.size() == 2);
    CHECK(lm.calls == 2);
  }
  SECTION("max_tokens 0 runs nothing") {
    ScriptedLM lm(vocab(), 256, script);
    GenerateResult r = generate(lm, greedy("x", 0), llama3_options());
    CHECK(r.finish_reason == "length");
    CHECK(r.token_ids.empty());
    CHECK(lm.calls == 0);
  }
  SECTION("ignore_eos goes past EOS, whose text appears only with special tokens kept") {
    ScriptedLM lm(vocab(), 256, script);
    GenerateRequest req = greedy("x", 6);
    req.sampling.ignore_eos = true;
    req.sampling.skip_special_tokens = false;
    GenerateResult r = generate(lm, req, llama3_options());
    CHECK(r.finish_reason == "length");
    CHECK(r.token_ids.size() == 6);
    CHECK(r.text.starts_with(" one two<|eot_id|>"));
  }
  SECTION("the context") {
    ScriptedLM lm(vocab(), 5, script);  // prompt "x" at position 0; positions 1-4 take 4 more
    GenerateRequest req = greedy("x", 100);
    req.sampling.ignore_eos = true;
    GenerateResult r = generate(lm, req, llama3_options());
    CHECK(r.finish_reason == "length");
    CHECK(r.prompt_tokens == 1);
    CHECK(r.token_ids.size() == 5);  // the last one is sampled from position 4's logits
    CHECK(lm.start_positions.back() == 4);
  }
}

TEST_CASE("EOS ids: config.json, generation_config.json, GGUF and the tokenizer's end-of-generation ids",
          "[generate][loop]") {
  const auto dir = std::filesystem::temp_directory_path() / ("kiln_generate_eos_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({"architectures":["LlamaForCausalLM"],"eos_token_id":17})";
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id":[23, 128001]})";
  const ModelSource src = ModelSource::open(dir);
  const auto ids = generation_stop_ids(src, &shared_tokenizer("llama3"));
  std::filesystem::remove_all(dir);
  for (int32_t id : {17, 23, 128001, kLlama3Eot}) CHECK(std::count(ids.begin(), ids.end(), id) == 1);
  CHECK(std::is_sorted(ids.begin(), ids.end()));

  const ModelSource gguf = ModelSource::open(std::filesystem::path(TOKENIZER_DATA_DIR) / "vocab/ggml-vocab-llama-bpe.gguf");
  const auto gguf_ids = generation_stop_ids(gguf, nullptr);
  CHECK(std::count(gguf_ids.begin(), gguf_ids.end(), 128001) == 1);  // tokenizer.ggml.eos_token_id

  for (int32_t stop_id : {17, 23, 128001, kLlama3Eot}) {
    INFO("eos " << stop_id);
    ScriptedLM lm(vocab(), 64, {100, 200, stop_id, 300});
    GenerateOptions o = llama3_options();
    o.eos_ids = ids;
    GenerateResult r = generate(lm, greedy("x"), o);
    CHECK(r.finish_reason == "stop");
    CHECK(r.token_ids == std::vector<int32_t>{100, 200, stop_id});
  }
  SECTION("without a tokenizer, the given ids alone; no text") {
    ScriptedLM lm(vocab(), 64, {100, 17, 300});
    GenerateOptions o;
    o.eos_ids = ids;
    GenerateRequest req = greedy("");
    req.prompt_ids = {1, 2, 3};
    GenerateResult r = generate(lm, req, o);
    CHECK(r.token_ids == std::vector<int32_t>{100, 17});
    CHECK(r.text.empty());
  }
}

TEST_CASE("cancellation is honoured between tokens", "[generate][loop]") {
  ScriptedLM lm(vocab(), 256, ids_of(" a b c d e f g h i j"));
  CancelFlag cancel{false};
  int seen = 0;
  GenerateResult r = generate(lm, greedy("x"), llama3_options(), [&](const TokenEvent&) {
    if (++seen == 3) cancel = true;
  }, &cancel);
  CHECK(r.finish_reason == "cancelled");
  CHECK(r.token_ids.size() == 3);
  CHECK(lm.calls == 3);

  ScriptedLM idle(vocab(), 256, ids_of(" a"));
  CancelFlag already{true};
  CHECK(generate(idle, greedy("x"), llama3_options(), {}, &already).finish_reason == "cancelled");
  CHECK(idle.calls == 0);
}

TEST_CASE("special tokens stay in the text when asked: what tool-call parsers need", "[generate][loop]") {
  // <|start_header_id|> assistant <|end_header_id|> \n\n Hi <|eot_id|>
  std::vector<int32_t> script = {128006};
  for (int32_t id : ids_of("assistant")) script.push_back(id);
  script.push_back(128007);
  for (int32_t id : ids_of("\n\nHi")) script.push_back(id);
  script.push_back(kLlama3Eot);
  SECTION("skipped by default") {
    ScriptedLM lm(vocab(), 256, script);
    CHECK(generate(lm, greedy("x"), llama3_options()).text == "assistant\n\nHi");
  }
  SECTION("kept") {
    ScriptedLM lm(vocab(), 256, script);
    GenerateRequest req = greedy("x");
    req.sampling.skip_special_tokens = false;
    CHECK(generate(lm, req, llama3_options()).text == "<|start_header_id|>assistant<|end_header_id|>\n\nHi");
  }
}

TEST_CASE("a tool-call parser plugin gets the text - its deltas ride on the events", "[generate][loop]") {
  // Qwen3 output in Hermes markup, ended by <|im_end|>; parsed by the hermes plugin.
  const Tokenizer& tok = shared_tokenizer("qwen3");
  std::vector<int32_t> script =
      tok.encode("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", false);
  script.push_back(*tok.token_to_id("<|im_end|>"));
  ToolParserPlugin plugin = ToolParserPlugin::load("hermes", {KILN_PLUGIN_DIR});
  ToolParserPtr parser = plugin.create();
  parser->set_tools(nlohmann::json::array());
  parser->set_reasoning_open(false);
  parser->set_id_seed(1);
  ScriptedLM lm(static_cast<int64_t>(tok.vocab_size()), 256, script);
  GenerateRequest req = greedy("x");
  req.sampling.skip_special_tokens = false;
  GenerateOptions o;
  o.tokenizer = &tok;
  o.tool_parser = parser.get();
  ToolResultBuilder folded;
  std::vector<ToolDelta> all;
  GenerateResult r = generate(lm, req, o, [&](const TokenEvent& e) {
    folded.apply(e.tool_deltas);
    all.insert(all.end(), e.tool_deltas.begin(), e.tool_deltas.end());
  });
  CHECK(r.finish_reason == "stop");
  CHECK(check_tool_delta_stream(all).empty());
  REQUIRE(r.message.tool_calls.size() == 1);
  CHECK(r.message.tool_calls[0].name == "get_weather");
  CHECK(nlohmann::json::parse(r.message.tool_calls[0].arguments) == nlohmann::json{{"city", "Paris"}});
  CHECK(r.message.content.starts_with("Let me check."));
  CHECK(r.text.find("<tool_call>") != std::string::npos);  // the raw text keeps the markup
  CHECK(to_json(folded.result()) == to_json(r.message));
}

TEST_CASE("logprobs: the chosen token and the top alternatives from the raw logits", "[generate][loop]") {
  const int64_t v = 1000;
  ScriptedLM lm(v, 64, {5, 6, 7}, 0, 10.0f);
  GenerateRequest req;
  req.prompt_ids = {1, 2};
  req.sampling.temperature = 0;
  req.sampling.max_tokens = 3;
  req.sampling.logprobs = true;
  req.sampling.top_logprobs = 2;
  std::vector<TokenEvent> events;
  GenerateResult r = generate(lm, req, {}, [&](const TokenEvent& e) { events.push_back(e); });
  REQUIRE(r.logprobs.size() == 3);
  const double lse = std::log(std::exp(10.0) + double(v - 1));
  for (size_t i = 0; i < 3; ++i) {
    CHECK(r.logprobs[i].chosen.id == 5 + int32_t(i));
    CHECK(r.logprobs[i].chosen.logprob == Approx(10.0 - lse).margin(1e-5));
    REQUIRE(r.logprobs[i].top.size() == 2);
    CHECK(r.logprobs[i].top[0].id == 5 + int32_t(i));
    CHECK(r.logprobs[i].top[1].id == 0);  // ties at logit 0: the lowest id
    CHECK(r.logprobs[i].top[1].logprob == Approx(-lse).margin(1e-5));
    REQUIRE(events[i].logprobs);
    CHECK(events[i].logprobs->chosen.id == r.logprobs[i].chosen.id);
  }
}

TEST_CASE("a seed reproduces sampled tokens - another seed differs", "[generate][loop]") {
  const int64_t v = 64;
  std::vector<float> row(v);
  for (int64_t i = 0; i < v; ++i) row[i] = float(std::sin(double(i)) * 2.0);
  kiln::test::TableLM lm(v, row);
  auto run = [&](uint64_t seed) {
    GenerateRequest req;
    req.prompt_ids = {1};
    req.sampling.temperature = 1.0;
    req.sampling.top_k = 0;
    req.sampling.top_p = 1.0;
    req.sampling.min_p = 0;
    req.sampling.max_tokens = 40;
    req.sampling.seed = seed;
    return generate(lm, req, {}).token_ids;
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
  CHECK(run(11).size() == 40);
}

TEST_CASE("timings: ttft, prefill and decode rates, token counts", "[generate][loop]") {
  ScriptedLM lm(vocab(), 256, with(ids_of(" a b c d"), {kLlama3Eot}));
  GenerateResult r = generate(lm, greedy("Hello there"), llama3_options());
  for (const char* key : {"ttft_s", "prefill_s", "prefill_tok_s", "decode_s", "decode_tok_s", "total_s"}) {
    INFO(key);
    REQUIRE(r.timings.contains(key));
    CHECK(r.timings[key].get<double>() >= 0);
  }
  CHECK(r.timings["prompt_tokens"] == r.prompt_tokens);
  CHECK(r.timings["completion_tokens"] == r.completion_tokens);
  CHECK(r.timings["ttft_s"].get<double>() <= r.timings["total_s"].get<double>());
}

TEST_CASE("bad input: sampling values, prompts too long, ids outside the vocabulary", "[generate][loop]") {
  auto error_of = [](const GenerateRequest& req, int64_t context = 64) -> std::string {
    ScriptedLM lm(vocab(), context, {1});
    try {
      generate(lm, req, llama3_options());
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  struct Bad {
    const char* field;
    const char* value;
    std::function<void(SamplingParams&)> set;
  };
  const std::vector<Bad> cases = {
      {"temperature", "-0.5", [](SamplingParams& p) { p.temperature = -0.5; }},
      {"temperature", "nan", [](SamplingParams& p) { p.temperature = std::nan(""); }},
      {"top_p", "0", [](SamplingParams& p) { p.top_p = 0; }},
      {"top_p", "1.5", [](SamplingParams& p) { p.top_p = 1.5; }},
      {"top_k", "-1", [](SamplingParams& p) { p.top_k = -1; }},
      {"min_p", "-0.1", [](SamplingParams& p) { p.min_p = -0.1; }},
      {"min_p", "2", [](SamplingParams& p) { p.min_p = 2; }},
      {"max_tokens", "-3", [](SamplingParams& p) { p.max_tokens = -3; }},
      {"repeat_penalty", "0", [](SamplingParams& p) { p.repeat_penalty = 0; }},
      {"presence_penalty", "2.5", [](SamplingParams& p) { p.presence_penalty = 2.5; }},
      {"frequency_penalty", "-3", [](SamplingParams& p) { p.frequency_penalty = -3; }},
      {"top_logprobs", "-1", [](SamplingParams& p) { p.logprobs = true; p.top_logprobs = -1; }},
      {"top_logprobs", "3", [](SamplingParams& p) { p.top_logprobs = 3; }},
      {"stop[1]", "\"\"", [](SamplingParams& p) { p.stop = {"x", ""}; }},
  };
  for (const auto& c : cases) {
    GenerateRequest req = greedy("Hello");
    c.set(req.sampling);
    const std::string msg = error_of(req);
    INFO(msg);
    CHECK(msg.find(c.field) != std::string::npos);
    CHECK(msg.find(c.value) != std::string::npos);
  }
  SECTION("a prompt longer than the context names both numbers") {
    GenerateRequest req = greedy("");
    req.prompt_ids = std::vector<int32_t>(9, 5);
    const std::string msg = error_of(req, 8);
    CHECK(msg.find("9 tokens") != std::string::npos);
    CHECK(msg.find("context of 8") != std::string::npos);
  }
  SECTION("a prompt id outside the vocabulary") {
    GenerateRequest req = greedy("");
    req.prompt_ids = {1, int32_t(vocab())};
    CHECK(error_of(req).find(std::to_string(vocab())) != std::string::npos);
  }
  SECTION("prompt text without a tokenizer, stop strings without a tokenizer") {
    ScriptedLM lm(vocab(), 64, {1});
    CHECK_THROWS_AS(generate(lm, greedy("Hello"), {}), Error);
    GenerateRequest req = greedy("");
    req.prompt_ids = {1};
    req.sampling.stop = {"x"};
    CHECK_THROWS_AS(generate(lm, req, {}), Error);
  }
}

TEST_CASE("in the loop, repetition counts prompt and output, presence/frequency only the output",
          "[generate][loop]") {
  // Every step: logits 3.0 for id 1, 2.9 for id 2, 2.8 for id 3, 0 elsewhere.
  const int64_t v = 16;
  std::vector<float> row(v, 0.0f);
  row[1] = 3.0f, row[2] = 2.9f, row[3] = 2.8f;
  kiln::test::TableLM lm(v, row);
  auto run = [&](std::function<void(SamplingParams&)> set) {
    GenerateRequest req;
    req.prompt_ids = {1, 5};
    req.sampling.temperature = 0;
    req.sampling.max_tokens = 3;
    set(req.sampling);
    return generate(lm, req, {}).token_ids;
  };
  CHECK(run([](SamplingParams&) {}) == std::vector<int32_t>{1, 1, 1});
  // 3.0 / 1.1 < 2.9: the prompt's id 1 is penalized from the first step; then 2 is, then 3.
  CHECK(run([](SamplingParams& p) { p.repeat_penalty = 1.1; }) == std::vector<int32_t>{2, 3, 1});
  // presence 0.5: id 1 is not penalized for being in the prompt, only once generated.
  CHECK(run([](SamplingParams& p) { p.presence_penalty = 0.5; }) == std::vector<int32_t>{1, 2, 3});
  // frequency 0.06: 3.0 - 0.06 = 2.94 still wins, 3.0 - 0.12 = 2.88 loses to 2.9.
  CHECK(run([](SamplingParams& p) { p.frequency_penalty = 0.06; }) == std::vector<int32_t>{1, 1, 2});
}

TEST_CASE("a result as JSON", "[generate][loop]") {
  ScriptedLM lm(vocab(), 64, with(ids_of(" hi"), {kLlama3Eot}));
  GenerateRequest req = greedy("x");
  req.sampling.logprobs = true;
  req.sampling.top_logprobs = 1;
  const nlohmann::json j = to_json(generate(lm, req, llama3_options()));
  CHECK(j["text"] == " hi");
  CHECK(j["content"] == " hi");
  CHECK(j["finish_reason"] == "stop");
  CHECK(j["token_ids"].size() == j["usage"]["completion_tokens"].get<size_t>());
  CHECK(j["tool_calls"].empty());
  REQUIRE(j["logprobs"].size() == j["token_ids"].size());
  CHECK(j["logprobs"][0]["id"] == j["token_ids"][0]);
  CHECK(j["logprobs"][0]["top_logprobs"][0]["id"] == j["token_ids"][0]);
  CHECK(j["timings"].contains("decode_tok_s"));
}
