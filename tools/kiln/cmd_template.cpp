// `kiln template`: renders a chat template over a conversation and prints the prompt exactly,
// nothing else — what transformers' apply_chat_template(..., tokenize=False) returns.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/chat_template.h"
#include "kiln/error.h"

namespace {

nlohmann::ordered_json read_json_file(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw kiln::Error(std::string(flag) + " " + path + ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::ordered_json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw kiln::Error(std::string(flag) + " " + path + ": not valid JSON: " + e.what());
  }
}

int run_template(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--template", "--messages", "--tools", "--bos-token", "--eos-token"},
                       {"--add-generation-prompt"});
  if (!args.positional().empty()) throw kiln::Error("unexpected argument '" + args.positional()[0] + "'");
  nlohmann::ordered_json messages = read_json_file(args.require("--messages"), "--messages");
  if (!messages.is_array()) throw kiln::Error("--messages: expected a JSON array of messages");
  nlohmann::ordered_json tools;  // null: `tools` is None in the template
  if (auto path = args.get("--tools")) {
    tools = read_json_file(*path, "--tools");
    if (!tools.is_array() && !tools.is_null()) throw kiln::Error("--tools: expected a JSON array of tools");
  }
  kiln::ChatTemplateFile file = kiln::load_chat_template_file(args.require("--template"), !tools.is_null());

  kiln::ChatTemplateOptions options;
  options.add_generation_prompt = args.has("--add-generation-prompt");
  options.bos_token = args.get("--bos-token") ? args.get("--bos-token") : file.bos_token;
  options.eos_token = args.get("--eos-token") ? args.get("--eos-token") : file.eos_token;
  if (file.unk_token) options.extra_context["unk_token"] = *file.unk_token;
  if (file.pad_token) options.extra_context["pad_token"] = *file.pad_token;

  std::string prompt;
  try {
    prompt = kiln::ChatTemplate(file.source).render(messages, tools, options);
  } catch (const kiln::ChatTemplateRaised& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

KILN_COMMAND("template",
             "--template FILE --messages FILE.json [--tools FILE.json] [--add-generation-prompt] "
             "[--bos-token T] [--eos-token T]",
             "render a chat template (.jinja or tokenizer_config.json) over messages; prints the prompt",
             run_template);
