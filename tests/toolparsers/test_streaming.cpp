// Streaming behaviour at chosen points: what is emitted early, what is held back, and how a
// call that turns out broken is withdrawn.
#include <catch2/catch.hpp>

#include "harness.h"

using namespace tp_test;
using T = kiln::ToolDeltaType;

namespace {

struct Stream {
  explicit Stream(const std::string& parser, nlohmann::json tools = nlohmann::json::array())
      : p(plugin(parser).create()) {
    p->set_tools(tools);
    p->set_id_seed(7);
  }
  std::vector<kiln::ToolDelta> feed(std::string_view s) { return p->feed(s); }
  std::vector<kiln::ToolDelta> finish() { return p->finish(); }
  kiln::ToolParserPtr p;
};

std::string text_of(const std::vector<kiln::ToolDelta>& ds, T type) {
  std::string out;
  for (const auto& d : ds)
    if (d.type == type) out += d.text;
  return out;
}

const kiln::ToolDelta* first_of(const std::vector<kiln::ToolDelta>& ds, T type) {
  for (const auto& d : ds)
    if (d.type == type) return &d;
  return nullptr;
}

}  // namespace

TEST_CASE("content is held back only where markup could start", "[toolparsers]") {
  Stream s("hermes");
  CHECK(text_of(s.feed("Hello <tool"), T::content) == "Hello");  // " <tool" could be <tool_call>
  CHECK(text_of(s.feed("s> are fun <"), T::content) == " <tools> are fun");
  CHECK(text_of(s.feed("b>"), T::content) == " <b>");
  CHECK(s.finish().empty());
  CHECK(s.p->result().content == "Hello <tools> are fun <b>");

  Stream m("mistral");
  CHECK(text_of(m.feed("Sure [TOOL"), T::content) == "Sure");
  CHECK(text_of(m.feed("S] [x]"), T::content) == " [TOOLS] [x]");
}

TEST_CASE("a call starts as soon as its name is known and its arguments stream", "[toolparsers]") {
  Stream s("hermes");
  auto d = s.feed("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Pa");
  const auto* start = first_of(d, T::call_start);
  REQUIRE(start != nullptr);
  CHECK(start->index == 0);
  CHECK(start->name == "get_weather");
  CHECK(start->id.rfind("call_", 0) == 0);
  CHECK(text_of(d, T::call_arguments) == "{\"city\": \"Pa");
  CHECK(text_of(d, T::content).empty());
  d = s.feed("ris\"}}\n</tool_call>");
  CHECK(text_of(d, T::call_arguments) == "ris\"}");
  s.finish();
  REQUIRE(s.p->result().tool_calls.size() == 1);
  CHECK(s.p->result().tool_calls[0].arguments == "{\"city\": \"Paris\"}");
}

TEST_CASE("qwen3_xml streams string values while they arrive", "[toolparsers]") {
  Stream s("qwen3_xml");
  auto d = s.feed("<tool_call>\n<function=write_file>\n<parameter=content>\nline one\nline t");
  REQUIRE(first_of(d, T::call_start) != nullptr);
  // The newline after "one" is not held (more text followed); "line t" may still grow.
  CHECK(text_of(d, T::call_arguments) == "{\"content\": \"line one\\nline t");
  d = s.feed("wo\n");
  CHECK(text_of(d, T::call_arguments) == "wo");  // the newline may be the one before </parameter>
  d = s.feed("</parameter>\n</function>\n</tool_call>");
  CHECK(text_of(d, T::call_arguments) == "\"}");
  s.finish();
  CHECK(s.p->result().tool_calls.at(0).arguments == "{\"content\": \"line one\\nline two\"}");
}

TEST_CASE("llama3_json waits until JSON is known to be a call", "[toolparsers]") {
  Stream s("llama3_json");
  auto d = s.feed("{\"location\": \"Paris\"");
  CHECK(d.empty());  // could still gain a name and parameters
  d = s.feed("}");
  CHECK(text_of(d, T::content) == "{\"location\": \"Paris\"}");

  Stream c("llama3_json");
  d = c.feed("{\"name\": \"search\", \"parameters\": {\"q\": \"ll");
  REQUIRE(first_of(d, T::call_start) != nullptr);
  CHECK(text_of(d, T::call_arguments) == "{\"q\": \"ll");

  Stream code("llama3_json");
  CHECK(text_of(code.feed("if (x) { return"), T::content) == "if (x) { return");
}

TEST_CASE("mistral [ARGS] stream as they arrive", "[toolparsers]") {
  Stream s("mistral");
  auto d = s.feed("[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Li");
  const auto* start = first_of(d, T::call_start);
  REQUIRE(start != nullptr);
  CHECK(start->id.size() == 9);
  CHECK(text_of(d, T::call_arguments) == "{\"city\": \"Li");
}

TEST_CASE("a truncated call is withdrawn and its text becomes content", "[toolparsers]") {
  Stream s("hermes");
  auto d = s.feed("Checking.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1");
  REQUIRE(first_of(d, T::call_start) != nullptr);
  d = s.finish();
  REQUIRE(d.size() >= 2);
  CHECK(d[0].type == T::problem);
  CHECK(d[0].problem == kiln::ToolProblem::truncated);
  CHECK(d[0].index == 0);
  CHECK(text_of(d, T::content) == "\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1");
  auto r = s.p->result();
  CHECK(r.tool_calls.empty());
  CHECK(r.content == "Checking.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].index == 0);
}

TEST_CASE("a call after a withdrawn one gets the next index", "[toolparsers]") {
  Stream s("hermes");
  s.feed("<tool_call>{\"name\": \"a\", \"arguments\": {\"x\": }}</tool_call>");
  auto d = s.feed("<tool_call>{\"name\": \"b\", \"arguments\": {}}</tool_call>");
  const auto* start = first_of(d, T::call_start);
  REQUIRE(start != nullptr);
  CHECK(start->index == 1);
  s.finish();
  auto r = s.p->result();
  REQUIRE(r.tool_calls.size() == 1);
  CHECK(r.tool_calls[0].index == 1);
  CHECK(r.tool_calls[0].name == "b");
}

TEST_CASE("a UTF-8 character is never split across deltas", "[toolparsers]") {
  Stream s("hermes");
  auto d = s.feed("caf\xC3");
  CHECK(text_of(d, T::content) == "caf");
  d = s.feed("\xA9 ok");
  CHECK(text_of(d, T::content) == "\xC3\xA9 ok");
  Stream a("mistral");
  d = a.feed("[TOOL_CALLS]f[ARGS]{\"s\": \"\xE2\x82");
  CHECK(text_of(d, T::call_arguments) == "{\"s\": \"");
  d = a.feed("\xAC\"}");
  CHECK(text_of(d, T::call_arguments) == "\xE2\x82\xAC\"}");
}

TEST_CASE("reasoning streams before its block closes", "[toolparsers]") {
  Stream s("hermes");
  auto d = s.feed("<think>\nFirst, the user");
  CHECK(text_of(d, T::reasoning) == "First, the user");
  d = s.feed(" wants X.</th");
  CHECK(text_of(d, T::reasoning) == " wants X.");
  d = s.feed("ink>\n\nAnswer.");
  CHECK(text_of(d, T::content) == "Answer.");
}

TEST_CASE("deltas of one feed are merged", "[toolparsers]") {
  Stream s("qwen3_xml");
  auto d = s.feed("Hello there, general Kenobi.");
  REQUIRE(d.size() == 1);
  CHECK(d[0].text == "Hello there, general Kenobi.");
}

TEST_CASE("misuse and odd settings never throw", "[toolparsers]") {
  for (const auto& parser : kParsers) {
    INFO(parser);
    Stream s(parser, nlohmann::json{{"not", "an array"}});  // ignored: any name is accepted
    s.feed("text");
    s.finish();
    auto d = s.feed(" more");  // after finish: kept as content, flagged
    REQUIRE(first_of(d, T::problem) != nullptr);
    CHECK(first_of(d, T::problem)->problem == kiln::ToolProblem::internal_error);
    CHECK(s.p->result().content == "text more");
    CHECK(s.finish().empty());
  }
}

TEST_CASE("ids are reproducible with a seed and differ between calls", "[toolparsers]") {
  const std::string out = "[TOOL_CALLS]a[ARGS]{}[TOOL_CALLS]b[ARGS]{}";
  Options opt;
  opt.seed = 99;
  auto r1 = run_whole("mistral", out, opt).result;
  auto r2 = run_whole("mistral", out, opt).result;
  opt.seed = 100;
  auto r3 = run_whole("mistral", out, opt).result;
  REQUIRE(r1.tool_calls.size() == 2);
  CHECK(r1.tool_calls[0].id == r2.tool_calls[0].id);
  CHECK(r1.tool_calls[0].id != r1.tool_calls[1].id);
  CHECK(r1.tool_calls[0].id != r3.tool_calls[0].id);
}

TEST_CASE("plugins describe themselves", "[toolparsers]") {
  for (const auto& parser : kParsers) {
    const auto& p = plugin(parser);
    CHECK(p.name() == parser);
    CHECK(p.api().struct_size == sizeof(kiln_toolparser_api));
    CHECK(std::string(p.api().description).size() > 10);
    CHECK_FALSE(p.markers().empty());
  }
  CHECK_THROWS_WITH(kiln::ToolParserPlugin::load("no_such_parser"),
                    Catch::Contains("no_such_parser"));
  // A tool-parser plugin is refused where another kind is expected, naming the file.
  CHECK_THROWS_WITH(kiln::load_plugin(std::string(KILN_PLUGIN_DIR) + "/hermes.so",
                                      KILN_PLUGIN_DEVICE),
                    Catch::Contains("hermes.so") && Catch::Contains("toolparser"));
}
