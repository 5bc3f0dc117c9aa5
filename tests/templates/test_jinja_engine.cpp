// The Jinja engine against Python jinja2 on small templates that pin down one semantic each
// (tests/data/templates/engine_cases.json, made by tools/fixtures/templates/make_fixtures.py):
// the output byte for byte, or the same exception class with the same message.
#include <catch2/catch.hpp>

#include <iostream>
#include <set>

#include "fixture_reader.h"
#include "jinja/errors.h"
#include "kiln/chat_template.h"

namespace {

using json = nlohmann::ordered_json;

struct Outcome {
  std::string output;
  std::string raised;      // raise_exception message
  std::string error_type;  // jinja2 exception class name
  std::string message;
  bool failed = false;
};

Outcome render_case(const std::string& source, const json& context, const std::string& now) {
  kiln::ChatTemplateOptions options;
  options.now = now;
  json messages = json::array();
  json tools;
  for (const auto& [key, value] : context.items()) {
    if (key == "messages") messages = value;
    else if (key == "tools") tools = value;
    else options.extra_context[key] = value;
  }
  Outcome out;
  try {
    out.output = kiln::render_chat_template(source, messages, tools, options);
  } catch (const kiln::ChatTemplateRaised& e) {
    out.failed = true;
    out.raised = e.what();
  } catch (const kiln::jinja::TemplateError& e) {
    out.failed = true;
    out.error_type = kiln::jinja::error_kind_name(e.kind());
    out.message = e.message();
  }
  return out;
}

// jinja2 raises TemplateAssertionError (a TemplateSyntaxError) for unknown filters at compile
// time; this engine reports both as TemplateSyntaxError.
std::string normalized_type(const std::string& t) {
  return t == "TemplateAssertionError" ? "TemplateSyntaxError" : t;
}

// Syntax errors whose wording differs from jinja2's (the class and position still match).
const std::set<std::string> kSyntaxWordingDiffers = {"syntax_bad_expr", "syntax_unclosed_var"};

}  // namespace

TEST_CASE("Jinja engine matches Python jinja2 on semantic probes", "[templates][jinja]") {
  const json cases = json::parse(kiln::test::read_file(std::string(KILN_TEST_DATA_DIR) + "/templates/engine_cases.json"));
  const std::string now = kiln::test::template_fixtures().at("now").get<std::string>();
  REQUIRE(cases.size() > 100);
  for (const auto& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    const json& expect = c.at("expect");
    Outcome got = render_case(c.at("template").get<std::string>(), c.at("context"), now);
    INFO("case " << name << ": " << c.at("template").get<std::string>());
    INFO("got output [" << got.output << "] raised [" << got.raised << "] error [" << got.error_type << ": "
                        << got.message << "]");
    if (expect.contains("output")) {
      CHECK_FALSE(got.failed);
      CHECK(got.output == expect.at("output").get<std::string>());
    } else if (expect.contains("raise")) {
      CHECK(got.raised == expect.at("raise").get<std::string>());
    } else {
      CHECK(got.error_type == normalized_type(expect.at("error").get<std::string>()));
      if (!kSyntaxWordingDiffers.count(name)) CHECK(got.message == expect.at("message").get<std::string>());
    }
  }
}
