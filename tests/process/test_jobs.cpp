// Every job kind through a real supervisor and runner, with the deterministic test model.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sys/wait.h>

#include "fixture.h"
#include "kiln/plugin_path.h"

using namespace kiln::test;
using Catch::Matchers::Contains;

namespace {

const char* kEchoModel = R"(
models:
  - name: echo
    plugin: testmodel
    slots: 2
)";

std::string error_code(const json& r) { return r.value("type", "") == "error" ? r.value("code", "") : ""; }

}  // namespace

TEST_CASE("Predict, PredictStream, chat messages and stop strings", "[process]") {
  SupervisorProcess sup(kEchoModel);
  auto c = sup.client();

  json r = c.call({{"kind", "Predict"}, {"prompt", "hello"}}, 20s);
  INFO(r.dump());
  REQUIRE(r["type"] == "result");
  CHECK(r["text"] == "echo: hello");
  CHECK(r["finish_reason"] == "stop");
  CHECK(r["usage"]["completion_tokens"] == 12);  // 11 bytes + EOS

  std::string streamed;
  int64_t last_seq = -1;
  json res = c.call({{"id", 7}, {"kind", "PredictStream"}, {"prompt", "stream me"}}, 20s, [&](const json& chunk) {
    CHECK(chunk["id"] == 7);
    CHECK(chunk["type"] == "chunk");
    CHECK(chunk["seq"].get<int64_t>() == last_seq + 1);
    last_seq = chunk["seq"];
    streamed += chunk["text"].get<std::string>();
  });
  REQUIRE(res["type"] == "result");
  CHECK(res["id"] == 7);
  CHECK(streamed == "echo: stream me");
  CHECK(res["text"] == streamed);

  json chat = c.call({{"kind", "Predict"},
                      {"messages", json::array({{{"role", "system"}, {"content", "be brief"}},
                                                {{"role", "user"}, {"content", "what is kiln"}}})}},
                     20s);
  CHECK(chat["text"] == "echo: what is kiln");

  json stopped = c.call({{"kind", "Predict"}, {"prompt", "abcdef"}, {"stop", json::array({"cd"})}}, 20s);
  CHECK(stopped["text"] == "echo: ab");
  CHECK(stopped["finish_reason"] == "stop");

  json longer = c.call({{"kind", "Predict"}, {"prompt", "xy"}, {"ignore_eos", true}, {"max_tokens", 20}}, 20s);
  CHECK(longer["finish_reason"] == "length");
  CHECK(longer["usage"]["completion_tokens"] == 20);
  CHECK(longer["text"] == "echo: xyecho: xyec");  // the EOS tokens carry no text

  json ids = c.call({{"kind", "Predict"}, {"prompt_ids", json::array({104, 105})}}, 20s);
  CHECK(ids["text"] == "echo: hi");

  json penalized = c.call({{"kind", "Predict"}, {"prompt", "hi"}, {"presence_penalty", 0.5},
                           {"frequency_penalty", -0.5}}, 20s);
  CHECK(penalized["text"] == "echo: hi");
  json bad = c.call({{"kind", "Predict"}, {"prompt", "hi"}, {"presence_penalty", 2.5}}, 20s);
  CHECK(bad["code"] == "bad_request");
  CHECK_THAT(bad["message"].get<std::string>(), Catch::Matchers::Contains("presence_penalty"));
}

TEST_CASE("Tokenize, Detokenize, Embedding, ModelMetadata, Health, Status", "[process]") {
  SupervisorProcess sup(kEchoModel);
  auto c = sup.client();

  json tok = c.call({{"kind", "Tokenize"}, {"text", "Hi"}}, 20s);
  CHECK(tok["tokens"] == json::array({257, 72, 105}));
  json detok = c.call({{"kind", "Detokenize"}, {"tokens", json::array({257, 72, 105})}}, 20s);
  CHECK(detok["text"] == "Hi");
  json bad = c.call({{"kind", "Detokenize"}, {"tokens", json::array({999})}}, 20s);
  CHECK(error_code(bad) == "model_error");
  CHECK_THAT(bad["message"].get<std::string>(), Contains("999"));

  json emb = c.call({{"kind", "Embedding"}, {"input", json::array({"a", "b", "a"})}}, 20s);
  REQUIRE(emb["type"] == "result");
  CHECK(emb["dim"] == 64);
  CHECK(emb["count"] == 3);
  const auto& bytes = emb["embeddings"].get_binary();
  REQUIRE(bytes.size() == 3 * 64 * sizeof(float));
  std::vector<float> v(3 * 64);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  double norm = 0, diff_ab = 0, diff_aa = 0;
  for (int j = 0; j < 64; ++j) {
    norm += v[j] * v[j];
    diff_ab += std::fabs(v[j] - v[64 + j]);
    diff_aa += std::fabs(v[j] - v[128 + j]);
  }
  CHECK(norm == Approx(1.0).epsilon(1e-4));
  CHECK(diff_ab > 0.01);
  CHECK(diff_aa == 0.0);

  json md = c.call({{"kind", "ModelMetadata"}}, 20s);
  CHECK(md["metadata"]["architecture"] == "kiln_test_bytes");
  CHECK(md["metadata"]["plugin"] == "testmodel");
  CHECK(md["metadata"]["device"] == "none");
  CHECK(md["capabilities"].size() == 6);

  json health = c.call({{"kind", "Health"}}, 5s);
  CHECK(health["ok"] == true);
  json st = c.call({{"kind", "Status"}}, 5s);
  REQUIRE(st["models"].size() == 1);
  CHECK(st["models"][0]["name"] == "echo");
  CHECK(st["models"][0]["state"] == "ready");
  CHECK(st["instance"] == sup.instance());
}

TEST_CASE("GenerateImage and AudioTranscription(Stream)", "[process]") {
  SupervisorProcess sup(kEchoModel);
  auto c = sup.client();
  int steps_seen = 0;
  json img = c.call({{"kind", "GenerateImage"}, {"prompt", "a kiln"}, {"width", 16}, {"height", 8}, {"steps", 3}}, 20s,
                    [&](const json& p) {
                      CHECK(p["type"] == "progress");
                      ++steps_seen;
                    });
  REQUIRE(img["type"] == "result");
  CHECK(steps_seen == 3);
  CHECK(img["format"] == "rgb8");
  CHECK(img["image"].get_binary().size() == 16 * 8 * 3);

  // Two and a half seconds of a 16 kHz tone.
  std::vector<float> samples(40000);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = 0.5f * std::sin(i * 0.05f);
  std::vector<uint8_t> audio(samples.size() * 4);
  std::memcpy(audio.data(), samples.data(), audio.size());
  json tr = c.call({{"kind", "AudioTranscription"}, {"audio", json::binary_t(audio)}, {"sample_rate", 16000}}, 20s);
  REQUIRE(tr["type"] == "result");
  CHECK(tr["segments"].size() == 3);
  CHECK_THAT(tr["text"].get<std::string>(), Contains("segment 2: 8000 samples, rms 0.35"));

  int chunks = 0;
  json trs = c.call({{"kind", "AudioTranscriptionStream"}, {"audio", json::binary_t(audio)}}, 20s,
                    [&](const json& ch) {
                      CHECK(ch["segment"]["text"].get<std::string>().rfind("segment", 0) == 0);
                      ++chunks;
                    });
  CHECK(chunks == 3);
  CHECK(trs["text"] == tr["text"]);
}

TEST_CASE("Cancel and deadlines end a running stream with a terminal error", "[process]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options: {token_delay_ms: 10}
)");
  auto c = sup.client();
  c.send({{"id", "long"}, {"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000}});
  // Wait for the stream to start, then cancel it.
  for (int i = 0; i < 500; ++i) {
    auto r = c.receive(100ms);
    if (r && (*r)["type"] == "chunk") break;
  }
  json cancel = c.call({{"kind", "Cancel"}, {"target", "long"}}, 5s);
  CHECK(cancel["cancelled"] == true);
  bool terminal = false;
  for (int i = 0; i < 100 && !terminal; ++i) {
    auto r = c.receive(100ms);
    if (!r || (*r)["id"] != "long") continue;
    if ((*r)["type"] == "error") {
      CHECK((*r)["code"] == "cancelled");
      terminal = true;
    }
  }
  CHECK(terminal);

  auto t0 = std::chrono::steady_clock::now();
  json late = c.call({{"kind", "PredictStream"}, {"prompt", "x"}, {"ignore_eos", true}, {"max_tokens", 100000},
                      {"deadline_ms", 300}},
                     10s);
  CHECK(error_code(late) == "deadline_exceeded");
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  // The runner is free again afterwards.
  CHECK(c.call({{"kind", "Predict"}, {"prompt", "ok"}}, 20s)["text"] == "echo: ok");
  json unknown = c.call({{"kind", "Cancel"}, {"target", "nope"}}, 5s);
  CHECK(unknown["cancelled"] == false);
}

TEST_CASE("kiln client talks to a running supervisor", "[process]") {
  SupervisorProcess sup(kEchoModel);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {bin("kiln"), "client"});
    args.insert(args.end(), {"--endpoint", sup.endpoint()});
    const std::string out = sup.dir() + "/client.out";
    std::remove(out.c_str());
    pid_t pid = spawn(args, out);
    int status = wait_exit(pid, 30s);
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(status == -1 ? -1 : WEXITSTATUS(status), text);
  };
  CHECK(run({"generate", "--prompt", "cli"}) == std::make_pair(0, std::string("echo: cli\n")));
  CHECK(run({"stream", "--prompt", "cli", "--max-tokens", "4"}) == std::make_pair(0, std::string("echo\n")));
  CHECK(run({"tokenize", "--text", "A"}) == std::make_pair(0, std::string("[257,65]\n")));
  auto [code, text] = run({"generate", "--model", "missing", "--prompt", "x"});
  CHECK(code == 1);
  CHECK_THAT(text, Contains("kiln client: unknown_model: no model named 'missing'"));
  auto [scode, status] = run({"status"});
  CHECK(scode == 0);
  CHECK_THAT(status, Contains("\"instance\": \"" + sup.instance() + "\""));
}

TEST_CASE("tool calls: messages + tools through the chat template and the tool-call parser", "[process][tools]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    tool_parser: auto        # the test model's metadata names hermes
)");
  auto c = sup.client();
  const json tools = json::array({{{"type", "function"},
                                   {"function", {{"name", "get_weather"},
                                                 {"parameters", {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}}}}}});
  const json messages = json::array({{{"role", "user"}, {"content", "call get_weather Paris"}}});

  // Without tools the text is plain content.
  json plain = c.call({{"kind", "Predict"}, {"messages", messages}}, 20s);
  CHECK(plain["text"] == "echo: call get_weather Paris");
  CHECK(plain["tool_calls"].empty());

  json md = c.call({{"kind", "ModelMetadata"}}, 20s);
  CHECK(md["metadata"]["tool_parser"] == "hermes");
  REQUIRE(kiln::find_plugin_file("hermes"));  // plugins/toolparsers/hermes, part of every build
  json r = c.call({{"kind", "Predict"}, {"messages", messages}, {"tools", tools}}, 20s);
  INFO(r.dump());
  REQUIRE(r["type"] == "result");
  CHECK(r["finish_reason"] == "tool_calls");
  REQUIRE(r["tool_calls"].size() == 1);
  CHECK(r["tool_calls"][0]["type"] == "function");
  CHECK(r["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(json::parse(r["tool_calls"][0]["function"]["arguments"].get<std::string>()) == json{{"text", "Paris"}});

  // Streamed: the deltas fold into the same call.
  std::string name, args, content;
  c.call({{"kind", "PredictStream"}, {"messages", messages}, {"tools", tools}}, 20s, [&](const json& ch) {
    content += ch.value("text", "");
    for (const auto& d : ch.value("tool_calls", json::array())) {
      if (d.contains("name")) name = d["name"];
      args += d.value("arguments", "");
    }
  });
  CHECK(name == "get_weather");
  CHECK(json::parse(args) == json{{"text", "Paris"}});
  CHECK(content.find("<tool_call>") == std::string::npos);
}

TEST_CASE("tool_parser auto falls back to the parser the chat template's markup calls for", "[process][tools]") {
  SupervisorProcess sup(R"(
models:
  - name: echo
    plugin: testmodel
    options:
      tool_parser: ""
      chat_template: "{% for t in tools %}<tool_call>{\"name\": ...}</tool_call>{% endfor %}"
  - name: plain
    plugin: testmodel
    options: {tool_parser: ""}
)");
  auto c = sup.client();
  CHECK(c.call({{"kind", "ModelMetadata"}, {"model", "echo"}}, 20s)["metadata"]["tool_parser"] == "hermes");
  CHECK(c.call({{"kind", "ModelMetadata"}, {"model", "plain"}}, 20s)["metadata"]["tool_parser"] == "none");
}
