// The shared helpers in core/toolparse: the incremental JSON scanner against nlohmann's parser,
// marker hold-back, edge trimming, schema-driven conversion, tool validation.
#include <catch2/catch.hpp>

#include <random>

#include "kiln/error.h"
#include "kiln/toolparse_json.h"
#include "kiln/toolparse_text.h"
#include "kiln/toolparse_tools.h"

using namespace kiln::toolparse;

namespace {

// Runs the scanner over the whole text; "done" only if it ended exactly at the last byte.
bool scanner_accepts(const std::string& text) {
  JsonScanner s;
  for (char c : text) {
    if (s.status() == JsonScanner::Status::done) {
      if (!is_space(c)) return false;
      continue;
    }
    if (s.push(c) == JsonScanner::Status::error) return false;
  }
  return s.end_of_input() == JsonScanner::Status::done;
}

}  // namespace

TEST_CASE("JsonScanner agrees with nlohmann::json::accept", "[toolparsers]") {
  const std::vector<std::string> fixed = {
      "{}", "[]", "{\"a\":1}", " {\"a\" : [1, 2.5, -3e-2, true, false, null, \"x\\u00e9\\n\"]} ",
      "{\"a\":{\"b\":{\"c\":[]}}}", "0", "-0.0e+0", "\"s\"", "true", "{\"a\":01}", "{\"a\":1,}",
      "[1,]", "{'a':1}", "{\"a\" 1}", "{\"a\":tru}", "[1 2]", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12G4\"}",
      "{\"a\":.5}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":-}", "[\"tab\there\"]", "{\"a\":1}}", "",
      "{", "[[[[", "nul", "{\"k\":\"v\"} x",
  };
  for (const auto& t : fixed) {
    INFO(t);
    CHECK(scanner_accepts(t) == nlohmann::json::accept(t));
  }
  // Random strings over JSON's alphabet: mostly invalid, enough valid to matter.
  const std::string alphabet = "{}[],:\"\\ 0123456789-+.eEtrufalsn\tabu";
  std::mt19937 rng(42);
  int valid = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string t;
    const size_t len = 1 + rng() % 12;
    for (size_t k = 0; k < len; ++k) t.push_back(alphabet[rng() % alphabet.size()]);
    const bool expected = nlohmann::json::accept(t);
    valid += expected;
    INFO(t);
    REQUIRE(scanner_accepts(t) == expected);
  }
  // Mutations of valid documents reach deeper states.
  const std::string doc =
      "{\"name\": \"f\", \"arguments\": {\"a\": [1, -2.5e3, true, null], \"b\": \"x\\\"y\\u0041\"}}";
  for (int i = 0; i < 20000; ++i) {
    std::string t = doc;
    const int edits = 1 + rng() % 3;
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % t.size();
      switch (rng() % 3) {
        case 0: t.erase(at, 1); break;
        case 1: t.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: t[at] = alphabet[rng() % alphabet.size()];
      }
    }
    const bool expected = nlohmann::json::accept(t);
    valid += expected;
    INFO(t);
    REQUIRE(scanner_accepts(t) == expected);
  }
  CHECK(valid > 100);
}

TEST_CASE("JsonScanner reports the members of a top-level object", "[toolparsers]") {
  const std::string t = R"({"name": "f", "n": 12, "arguments": {"x": [1]}, "t": true})";
  JsonScanner s;
  std::vector<std::string> keys, values;
  for (char c : t) {
    s.push(c);
    if (s.events() & JsonScanner::key_end) {
      keys.push_back(t.substr(s.key_start(), s.key_stop() - s.key_start()));
    }
    if (s.events() & JsonScanner::value_end) {
      values.push_back(t.substr(s.value_start(), s.value_stop() - s.value_start()));
    }
  }
  CHECK(s.status() == JsonScanner::Status::done);
  CHECK(keys == std::vector<std::string>{"\"name\"", "\"n\"", "\"arguments\"", "\"t\""});
  CHECK(values == std::vector<std::string>{"\"f\"", "12", "{\"x\": [1]}", "true"});
}

TEST_CASE("JsonScanner limits nesting", "[toolparsers]") {
  JsonScanner s;
  JsonScanner::Status st = JsonScanner::Status::more;
  for (size_t i = 0; i <= JsonScanner::kMaxDepth && st != JsonScanner::Status::error; ++i) st = s.push('[');
  CHECK(st == JsonScanner::Status::error);
}

TEST_CASE("marker search and hold-back", "[toolparsers]") {
  const std::vector<std::string_view> m = {"<tool_call>", "</tool_call>", "<think>"};
  CHECK(find_marker("ab<think>c<tool_call>", m).pos == 2);
  CHECK(find_marker("ab<think>c<tool_call>", m).which == 2);
  CHECK(find_marker("no markers", m).pos == std::string_view::npos);
  CHECK(partial_marker_tail("text <tool_c", m) == 7);
  CHECK(partial_marker_tail("text </", m) == 2);
  CHECK(partial_marker_tail("text <", m) == 1);
  CHECK(partial_marker_tail("text <x", m) == 0);
  CHECK(partial_marker_tail("<tool_call>", m) == 0);  // complete: found, not held
  CHECK(match_front("</tool", "</tool_call>") == FrontMatch::maybe);
  CHECK(match_front("</tool_call>x", "</tool_call>") == FrontMatch::yes);
  CHECK(match_front("</tx", "</tool_call>") == FrontMatch::no);
}

TEST_CASE("edge trimming and UTF-8 boundaries", "[toolparsers]") {
  EdgeTrimmer t;
  std::string out = t.push("\n\n  Hello ");
  out += t.push(" \n");
  out += t.push("world\xE2\x82");
  CHECK(out == "Hello  \nworld");
  out += t.push("\xAC \n");
  CHECK(out == "Hello  \nworld\xE2\x82\xAC");
  out += t.finish();
  CHECK(out == "Hello  \nworld\xE2\x82\xAC");
  CHECK(incomplete_utf8_tail("a\xF0\x9F\x98") == 3);
  CHECK(incomplete_utf8_tail("a\xF0\x9F\x98\x80") == 0);
  CHECK(incomplete_utf8_tail("\xC3") == 1);
  CHECK(incomplete_utf8_tail("abc") == 0);
}

TEST_CASE("json_escape and ids", "[toolparsers]") {
  CHECK(json_escape("a\"b\\c\n\t\x01\xC3\xA9") == "a\\\"b\\\\c\\n\\t\\u0001\xC3\xA9");
  IdGenerator g(5);
  std::string a = g.next(IdStyle::mistral), b = g.next(IdStyle::mistral);
  CHECK(is_mistral_call_id(a));
  CHECK(a != b);
  std::string o = g.next(IdStyle::openai);
  CHECK(o.size() == 29);
  CHECK(o.rfind("call_", 0) == 0);
  CHECK_FALSE(is_mistral_call_id("abc"));
  CHECK_FALSE(is_mistral_call_id("abcd-fghi"));
}

TEST_CASE("tool sets and schema-driven conversion", "[toolparsers]") {
  auto tools = nlohmann::json::parse(R"([
    {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
      "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"},
      "o": {"type": "object"}, "a": {"type": "array"}, "s": {"type": "string"},
      "ns": {"type": ["null", "string"]}, "u": {"oneOf": [{"type": "boolean"}, {"type": "integer"}]},
      "e": {"enum": [1, 2, 3]}}}}},
    {"name": "bare", "parameters": {"type": "object", "properties": {}}},
    {"type": "function", "function": {"description": "no name"}}
  ])");
  ToolSet set = ToolSet::from_json(tools);
  CHECK(set.has("f"));
  CHECK(set.has("bare"));
  CHECK_FALSE(set.has("g"));
  auto conv = [&](const char* param, const char* text) {
    return convert_parameter_value(text, set.parameter_schema("f", param));
  };
  CHECK(conv("i", " 42\n") == 42);
  CHECK(conv("i", "4.5") == "4.5");
  CHECK(conv("n", "4.5") == 4.5);
  CHECK(conv("n", "-1e3") == -1000.0);
  CHECK(conv("n", "1/2") == "1/2");
  CHECK(conv("b", "False") == false);
  CHECK(conv("b", "yes") == "yes");
  CHECK(conv("o", "{\"k\": [1]}") == nlohmann::json{{"k", {1}}});
  CHECK(conv("o", "[1]") == "[1]");
  CHECK(conv("a", "[1, \"x\"]") == nlohmann::json::parse("[1, \"x\"]"));
  CHECK(conv("s", " 42 ") == " 42 ");
  CHECK(conv("ns", "null") == nullptr);
  CHECK(conv("ns", "nothing") == "nothing");
  CHECK(conv("u", "true") == true);
  CHECK(conv("u", "7") == 7);
  CHECK(conv("e", "2") == 2);
  CHECK(conv("unknown", "3") == "3");
  CHECK(schema_wants_string(nullptr));
  CHECK_FALSE(schema_wants_string(set.parameter_schema("f", "i")));
  // Nesting deeper than kMaxJsonNesting stays text.
  std::string deep(300, '[');
  deep += std::string(300, ']');
  CHECK(conv("a", deep.c_str()).is_string());
}

TEST_CASE("ToolSet::validate names the bad entry", "[toolparsers]") {
  using Catch::Contains;
  CHECK_NOTHROW(ToolSet::validate(nlohmann::json::array(), "t.json"));
  CHECK_THROWS_WITH(ToolSet::validate(nlohmann::json::object(), "t.json"), Contains("t.json") && Contains("array"));
  CHECK_THROWS_WITH(ToolSet::validate(nlohmann::json::parse(R"([{"type": "function", "function": {"name": "a"}}, 3])"), "t.json"),
                    Contains("tools[1]"));
  CHECK_THROWS_WITH(ToolSet::validate(nlohmann::json::parse(R"([{"type": "function", "function": {"parameters": {}}}])"), "t.json"),
                    Contains("tools[0].function.name"));
  CHECK_THROWS_WITH(ToolSet::validate(nlohmann::json::parse(R"([{"type": "retrieval"}])"), "t.json"),
                    Contains("tools[0].type"));
  CHECK_THROWS_WITH(ToolSet::validate(nlohmann::json::parse(R"([{"name": "x", "parameters": 3}])"), "t.json"),
                    Contains("tools[0].parameters"));
}
