// Choosing a parser from real chat templates.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "kiln/toolparser_host.h"

TEST_CASE("detect_tool_parser on real chat templates", "[toolparsers]") {
  const std::map<std::string, std::string> expected = {
      {"Qwen3-Coder", "qwen3_xml"},
      {"Qwen3.5-4B", "qwen3_xml"},
      {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "qwen3_xml"},
      {"StepFun3.5-Flash", "qwen3_xml"},
      {"ByteDance-Seed-OSS", "qwen3_xml"},
      {"Qwen-Qwen2.5-7B-Instruct", "hermes"},
      {"Qwen-Qwen3-0.6B", "hermes"},
      {"Qwen-QwQ-32B", "hermes"},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "hermes"},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", "hermes"},
      {"ibm-granite-granite-4.0", "hermes"},
      {"meta-llama-Llama-3.1-8B-Instruct", "llama3_json"},
      {"meta-llama-Llama-3.2-3B-Instruct", "llama3_json"},
      {"meta-llama-Llama-3.3-70B-Instruct", "llama3_json"},
      {"Mistral-Small-3.2-24B-Instruct-2506", "mistral"},
      {"mistralai-Ministral-3-14B-Reasoning-2512", "mistral"},
      {"mistralai-Mistral-Nemo-Instruct-2407", "mistral"},
      {"unsloth-mistral-Devstral-Small-2507", "mistral"},
      // Formats none of the four parsers reads.
      {"meetkai-functionary-medium-v3.1", ""},  // <function=NAME>{json}</function>
      {"GLM-4.6", ""},                          // <tool_call>NAME<arg_key>..
      {"unsloth-Apriel-1.5", ""},               // <tool_calls>[..]
      {"MiniMax-M3", ""},                       // namespaced <..:tool_call>
      {"google-gemma-2-2b-it", ""},
      {"microsoft-Phi-3.5-mini-instruct", ""},
  };
  const std::string dir = std::string(KILN_TEST_DATA_DIR) + "/toolparsers/templates/";
  size_t seen = 0;
  for (const auto& [name, parser] : expected) {
    std::ifstream in(dir + name + ".jinja");
    REQUIRE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    INFO(name);
    CHECK(kiln::detect_tool_parser(ss.str()).value_or("") == parser);
    ++seen;
  }
  CHECK(seen == 24);
}

TEST_CASE("detect_tool_parser on markup alone", "[toolparsers]") {
  CHECK(kiln::detect_tool_parser("x <|python_tag|> y") == "llama3_json");
  CHECK(kiln::detect_tool_parser("[TOOL_CALLS]") == "mistral");
  CHECK(kiln::detect_tool_parser("<tool_call>{\"name\": ..}</tool_call>") == "hermes");
  CHECK(kiln::detect_tool_parser("<function=f><parameter=p>") == "qwen3_xml");
  CHECK_FALSE(kiln::detect_tool_parser("{{ messages }}").has_value());
}

TEST_CASE("prompt_opens_reasoning", "[toolparsers]") {
  CHECK(kiln::prompt_opens_reasoning("<|im_start|>assistant\n<think>\n"));
  CHECK(kiln::prompt_opens_reasoning("[INST]hi[/INST][THINK]"));
  CHECK_FALSE(kiln::prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  CHECK_FALSE(kiln::prompt_opens_reasoning("<|im_start|>assistant\n"));
}
