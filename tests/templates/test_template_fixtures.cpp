// Every real chat template, over every fixture conversation, against what Python jinja2
// rendered (tools/fixtures/templates/make_fixtures.py): the output byte for byte, the
// raise_exception message exactly, or — where jinja2 failed — the same exception class and
// message.
#include <catch2/catch.hpp>

#include <iostream>
#include <map>
#include <set>

#include "fixture_reader.h"
#include "jinja/errors.h"
#include "kiln/chat_template.h"

namespace {

using json = nlohmann::ordered_json;

// The templates the issue requires to match on every conversation.
const std::vector<std::string> kRequired = {
    "meta-llama-Llama-3.1-8B-Instruct",        "Qwen-Qwen2.5-7B-Instruct",
    "Qwen-Qwen3-0.6B",                         "Qwen3-Coder",
    "mistralai-Mistral-Nemo-Instruct-2407",    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use",
    "google-gemma-4-31B-it",                   "HuggingFaceTB-SmolLM3-3B",
};

std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

// Where two texts first differ, with some context.
std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  return "first difference at byte " + std::to_string(i) + "\n      want: ..." + escaped(want.substr(from, 140)) +
         "\n      got:  ..." + escaped(got.substr(from, 140));
}

struct Result {
  bool pass = false;
  std::string detail;
};

Result run_one(const std::string& source, const json& conv, const json& expected, const json& doc) {
  kiln::ChatTemplateOptions options;
  options.add_generation_prompt = conv.at("add_generation_prompt").get<bool>();
  options.bos_token = doc.at("bos_token").get<std::string>();
  options.eos_token = doc.at("eos_token").get<std::string>();
  options.now = doc.at("now").get<std::string>();
  if (conv.contains("extra")) options.extra_context = conv.at("extra");
  json tools = conv.contains("tools") ? conv.at("tools") : json();
  std::string got;
  try {
    got = kiln::render_chat_template(source, conv.at("messages"), tools, options);
  } catch (const kiln::ChatTemplateRaised& e) {
    if (expected.contains("raise") && expected.at("raise").get<std::string>() == e.what()) return {true, ""};
    return {false, "raise_exception(" + std::string(e.what()) + "), jinja2 gave " + expected.dump()};
  } catch (const kiln::jinja::TemplateError& e) {
    // jinja2's exception class and message, e.g. "TypeError: can only concatenate str ...".
    std::string got_error = std::string(kiln::jinja::error_kind_name(e.kind())) + ": " + e.message();
    if (expected.contains("error") && expected.at("error").get<std::string>() == got_error) return {true, ""};
    return {false, "error " + got_error + "\n      jinja2 gave " + expected.dump().substr(0, 300)};
  }
  if (!expected.contains("output")) return {false, "rendered, but jinja2 gave " + expected.dump()};
  const std::string want = expected.at("output").get<std::string>();
  if (got == want) return {true, ""};
  return {false, first_difference(want, got)};
}

}  // namespace

TEST_CASE("real chat templates render byte-identical to Python jinja2", "[templates]") {
  const json& doc = kiln::test::template_fixtures();
  const json& conversations = doc.at("conversations");
  std::map<std::string, bool> passed;
  size_t renders = 0, renders_ok = 0;
  for (const auto& [name, expectations] : doc.at("templates").items()) {
    std::string source = kiln::test::read_file(kiln::test::template_dir() + "/" + name + ".jinja");
    bool all = true;
    for (const auto& [conv_name, expected] : expectations.items()) {
      Result r = run_one(source, conversations.at(conv_name), expected, doc);
      ++renders;
      if (r.pass) {
        ++renders_ok;
      } else {
        if (all) std::cout << "MISMATCH " << name << " / " << conv_name << ": " << r.detail << "\n";
        all = false;
      }
    }
    passed[name] = all;
  }
  size_t n = 0;
  for (const auto& [name, ok] : passed) n += ok;
  std::cout << "templates: " << n << "/" << passed.size() << " byte-identical (" << renders_ok << "/" << renders
            << " template x conversation renders)\n";
  for (const std::string& name : kRequired) {
    INFO("required template " << name);
    REQUIRE(passed.count(name) == 1);
    CHECK(passed[name]);
  }
}
