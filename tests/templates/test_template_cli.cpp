// `kiln template` end to end: the exact prompt on stdout and nothing else, a tokenizer_config.json
// as template source, raise_exception's message on stderr with exit status 1.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fixture_reader.h"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct Run {
  int status = -1;
  std::string out, err;
};

class CliSandbox {
 public:
  CliSandbox() : dir_(fs::temp_directory_path() / ("kiln-template-cli-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~CliSandbox() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& text) const {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  Run run(const std::string& args, const std::string& env = "") const {
    std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    std::string cmd = env + " '" + std::string(KILN_CLI) + "' template " + args + " > '" + out + "' 2> '" + err + "'";
    int raw = std::system(cmd.c_str());
    Run r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = kiln::test::read_file(out);
    r.err = kiln::test::read_file(err);
    return r;
  }

 private:
  fs::path dir_;
};

const json& conversation(const std::string& name) {
  return kiln::test::template_fixtures().at("conversations").at(name);
}

const json& expected(const std::string& tpl, const std::string& conv) {
  return kiln::test::template_fixtures().at("templates").at(tpl).at(conv);
}

std::string template_path(const std::string& name) { return kiln::test::template_dir() + "/" + name + ".jinja"; }

}  // namespace

TEST_CASE("kiln template prints exactly the rendered prompt", "[templates][cli]") {
  CliSandbox box;
  const json& doc = kiln::test::template_fixtures();
  std::string tokens = " --bos-token '" + doc.at("bos_token").get<std::string>() + "' --eos-token '" +
                       doc.at("eos_token").get<std::string>() + "'";

  SECTION("a .jinja template with tools and tool calls") {
    const json& conv = conversation("tool_call_round_trip");
    std::string messages = box.write("messages.json", conv.at("messages").dump());
    std::string tools = box.write("tools.json", conv.at("tools").dump());
    Run r = box.run("--template '" + template_path("meta-llama-Llama-3.1-8B-Instruct") + "' --messages '" + messages +
                    "' --tools '" + tools + "'" + tokens);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out == expected("meta-llama-Llama-3.1-8B-Instruct", "tool_call_round_trip").at("output").get<std::string>());
  }

  SECTION("without --tools the template sees tools = none; --add-generation-prompt") {
    const json& conv = conversation("system_multi_turn");
    std::string messages = box.write("messages.json", conv.at("messages").dump());
    Run r = box.run("--template '" + template_path("mistralai-Mistral-Nemo-Instruct-2407") + "' --messages '" +
                    messages + "' --add-generation-prompt" + tokens);
    CHECK(r.status == 0);
    CHECK(r.out ==
          expected("mistralai-Mistral-Nemo-Instruct-2407", "system_multi_turn").at("output").get<std::string>());
  }

  SECTION("strftime_now reads KILN_TEMPLATE_NOW") {
    const json& conv = conversation("plain");
    std::string messages = box.write("messages.json", conv.at("messages").dump());
    Run r = box.run("--template '" + template_path("meta-llama-Llama-3.2-3B-Instruct") + "' --messages '" + messages +
                        "' --add-generation-prompt" + tokens,
                    "KILN_TEMPLATE_NOW='" + doc.at("now").get<std::string>() + "'");
    CHECK(r.status == 0);
    std::string want = expected("meta-llama-Llama-3.2-3B-Instruct", "plain").at("output").get<std::string>();
    REQUIRE(want.find("26 Jul 2024") != std::string::npos);
    CHECK(r.out == want);
  }

  SECTION("a tokenizer_config.json supplies the template and its special tokens") {
    std::string messages = box.write("messages.json", conversation("system_multi_turn").at("messages").dump());
    for (const auto& [file, fixture] : doc.at("tokenizer_configs").items()) {
      INFO(file);
      Run r = box.run("--template '" + std::string(KILN_TEST_DATA_DIR) + "/templates/tokenizers/" + file +
                      "' --messages '" + messages + "' --add-generation-prompt");
      CHECK(r.status == 0);
      CHECK(r.out == fixture.at("output").get<std::string>());
    }
  }

  SECTION("a chat_template list: tool_use with --tools, default without; AddedToken specials") {
    json config = {{"chat_template", json::array({{{"name", "default"}, {"template", "D{{ bos_token }}{{ messages|length }}"}},
                                                  {{"name", "tool_use"}, {"template", "T{{ tools|length }}{{ eos_token }}"}}})},
                   {"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                   {"eos_token", "</s>"}};
    std::string file = box.write("tokenizer_config.json", config.dump());
    std::string messages = box.write("messages.json", "[{\"role\": \"user\", \"content\": \"x\"}]");
    std::string tools = box.write("tools.json", "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]");
    Run plain = box.run("--template '" + file + "' --messages '" + messages + "'");
    CHECK(plain.status == 0);
    CHECK(plain.out == "D<s>1");
    Run with_tools = box.run("--template '" + file + "' --messages '" + messages + "' --tools '" + tools + "'");
    CHECK(with_tools.status == 0);
    CHECK(with_tools.out == "T1</s>");
    Run overridden = box.run("--template '" + file + "' --messages '" + messages + "' --bos-token B");
    CHECK(overridden.out == "DB1");
  }

  SECTION("raise_exception: exit status 1, the message on stderr, nothing on stdout") {
    std::string tpl, conv, message;
    for (const auto& [name, results] : doc.at("templates").items()) {
      for (const auto& [c, result] : results.items()) {
        if (result.contains("raise") && tpl.empty()) {
          tpl = name;
          conv = c;
          message = result.at("raise").get<std::string>();
        }
      }
    }
    REQUIRE_FALSE(tpl.empty());
    const json& cv = conversation(conv);
    std::string messages = box.write("messages.json", cv.at("messages").dump());
    std::string args = "--template '" + template_path(tpl) + "' --messages '" + messages + "'" + tokens;
    if (cv.contains("tools")) args += " --tools '" + box.write("tools.json", cv.at("tools").dump()) + "'";
    if (cv.at("add_generation_prompt").get<bool>()) args += " --add-generation-prompt";
    Run r = box.run(args);
    CHECK(r.status == 1);
    CHECK(r.out.empty());
    CHECK(r.err == message + "\n");
  }

  SECTION("bad input is an error that names it") {
    std::string messages = box.write("messages.json", "[{\"role\": \"user\", \"content\": \"x\"}]");
    Run missing = box.run("--template '" + template_path("Qwen-Qwen3-0.6B") + "'");
    CHECK(missing.status == 1);
    CHECK_THAT(missing.err, Catch::Contains("--messages"));

    std::string broken = box.write("broken.jinja", "line one\n{% for x in %}");
    Run syntax = box.run("--template '" + broken + "' --messages '" + messages + "'");
    CHECK(syntax.status == 1);
    CHECK_THAT(syntax.err, Catch::Contains("line 2"));
    CHECK(syntax.out.empty());

    std::string not_array = box.write("object.json", "{\"role\": \"user\"}");
    Run wrong = box.run("--template '" + template_path("Qwen-Qwen3-0.6B") + "' --messages '" + not_array + "'");
    CHECK(wrong.status == 1);
    CHECK_THAT(wrong.err, Catch::Contains("JSON array"));

    std::string include = box.write("include.jinja", "{% include 'other.jinja' %}");
    Run unsupported = box.run("--template '" + include + "' --messages '" + messages + "'");
    CHECK(unsupported.status == 1);
    CHECK_THAT(unsupported.err, Catch::Contains("include"));
    CHECK_THAT(unsupported.err, Catch::Contains("not supported"));
  }
}
