// kiln::ChatTemplate's contract: errors name line and column, raise_exception has its own type,
// reserved variables stay reserved, a parsed template renders many times, runaway templates
// stop with an error instead of exhausting the machine.
#include <catch2/catch.hpp>

#include "jinja/interpreter.h"
#include "jinja/parser.h"
#include "kiln/chat_template.h"

namespace {

using json = nlohmann::ordered_json;

std::string render(const std::string& src, const json& extra = json::object()) {
  kiln::ChatTemplateOptions opt;
  opt.extra_context = extra;
  return kiln::render_chat_template(src, json::array(), json(), opt);
}

std::string error_of(const std::string& src) {
  try {
    render(src);
  } catch (const kiln::ChatTemplateRaised& e) {
    return std::string("RAISED ") + e.what();
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("chat template syntax errors name line and column", "[templates][api]") {
  CHECK_THROWS_WITH(kiln::ChatTemplate("ok\n\n  {{ 1 + }}"),
                    Catch::Contains("line 3") && Catch::Contains("column") && Catch::Contains("TemplateSyntaxError"));
  CHECK_THROWS_WITH(kiln::ChatTemplate("{% for x in y %}"), Catch::Contains("endfor"));
  CHECK_THROWS_WITH(kiln::ChatTemplate("{% include 'x' %}"), Catch::Contains("not supported"));
  CHECK_THROWS_WITH(kiln::ChatTemplate("{{ x|wordwrap }}"), Catch::Contains("'wordwrap' filter is not supported"));
  CHECK_THROWS_WITH(kiln::ChatTemplate(std::string("{{ '\xff' }}")), Catch::Contains("not valid UTF-8"));
}

TEST_CASE("runtime errors carry the template line", "[templates][api]") {
  CHECK_THAT(error_of("a\nb\n{{ 'x' + 1 }}"), Catch::StartsWith("chat template line 3") &&
                                                   Catch::Contains("can only concatenate str"));
  CHECK_THAT(error_of("{% for m in none %}{% endfor %}"), Catch::Contains("'NoneType' object is not iterable"));
}

TEST_CASE("raise_exception is ChatTemplateRaised with the template's message verbatim", "[templates][api]") {
  CHECK(error_of("{{ raise_exception('Roles must alternate: ' ~ 3) }}") == "RAISED Roles must alternate: 3");
  CHECK_THROWS_AS(render("{{ raise_exception('x') }}"), kiln::ChatTemplateRaised);
  CHECK_THROWS_AS(render("{{ raise_exception('x') }}"), kiln::Error);
}

TEST_CASE("render context: messages, tools, documents, generation prompt, special tokens", "[templates][api]") {
  kiln::ChatTemplate tpl(
      "{{ messages|length }}|{{ tools is none }}|{{ documents is none }}|{{ add_generation_prompt }}|"
      "{{ bos_token is defined }}{{ eos_token }}|{{ enable_thinking }}");
  kiln::ChatTemplateOptions opt;
  opt.add_generation_prompt = true;
  opt.eos_token = "</s>";
  opt.extra_context["enable_thinking"] = false;
  json messages = json::parse(R"([{"role": "user", "content": "hi"}])");
  CHECK(tpl.render(messages, json(), opt) == "1|True|True|True|False</s>|False");
  // The same parsed template renders again with other inputs.
  CHECK(tpl.render(json::array(), json::array(), {}) == "0|False|True|False|False|");

  kiln::ChatTemplateOptions reserved;
  reserved.extra_context["messages"] = json::array();
  CHECK_THROWS_WITH(tpl.render(messages, json(), reserved), Catch::Contains("may not set 'messages'"));
  CHECK_THROWS_WITH(tpl.render(json::object(), json(), {}), Catch::Contains("messages must be a JSON array"));
  CHECK_THROWS_WITH(tpl.render(messages, json("x"), {}), Catch::Contains("tools must be a JSON array"));
}

TEST_CASE("strftime_now uses the pinned instant", "[templates][api]") {
  kiln::ChatTemplateOptions opt;
  opt.now = "2025-02-03T04:05:06";
  CHECK(kiln::render_chat_template("{{ strftime_now('%d %b %Y %H:%M:%S %a') }}", json::array(), json(), opt) ==
        "03 Feb 2025 04:05:06 Mon");
  opt.now = "yesterday";
  CHECK_THROWS_WITH(kiln::render_chat_template("x", json::array(), json(), opt), Catch::Contains("not a date"));
}

TEST_CASE("runaway templates stop with an error", "[templates][api]") {
  CHECK_THAT(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), Catch::Contains("recursion"));
  CHECK_THAT(error_of("{{ 'x' * 1000000000000 }}"), Catch::Contains("too large"));
  CHECK_THAT(error_of("{% set ns = namespace(v=[]) %}{% for i in range(1000) %}{% set ns.v = [ns.v] %}{% endfor %}"),
             Catch::Contains("nest"));
  std::string deep = std::string(5000, '(') + "1" + std::string(5000, ')');
  CHECK_THROWS_WITH(kiln::ChatTemplate("{{ " + deep + " }}"), Catch::Contains("nests too deeply"));
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if x %}";
  CHECK_THROWS_WITH(kiln::ChatTemplate(blocks), Catch::Contains("nests too deeply"));
  std::string chain = "{{ x";
  for (int i = 0; i < 5000; ++i) chain += "|trim";
  CHECK_THROWS_WITH(kiln::ChatTemplate(chain + " }}"), Catch::Contains("nests too deeply"));
  // A namespace holding itself prints like Python's recursive repr, and is freed afterwards.
  CHECK(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}") == "<Namespace {'me': <Namespace {...}>}>");
}

TEST_CASE("the step limit stops endless work", "[templates][api]") {
  kiln::jinja::StmtList body =
      kiln::jinja::parse_template("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
  kiln::jinja::RenderLimits limits;
  limits.max_steps = 50000;
  kiln::jinja::Interpreter interp(kiln::jinja::DictData{}, std::tm{}, limits);
  CHECK_THROWS_WITH(interp.render(body), Catch::Contains("step limit"));
}
