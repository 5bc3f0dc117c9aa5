// Choosing a tool-call parser from a chat template's markup.
#include <string_view>

#include "kiln/toolparser_host.h"
#include "kiln/toolparse_text.h"

namespace kiln {

namespace {
bool has(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}
}  // namespace

std::optional<std::string> detect_tool_parser(std::string_view t) {
  // Qwen3-Coder's XML. <function=NAME>{json}</function> without <parameter= is Functionary's
  // format, which none of our parsers reads.
  if (has(t, "<function=")) {
    if (has(t, "<parameter=")) return "qwen3_xml";
    return std::nullopt;
  }
  // Hermes JSON inside <tool_call>; GLM-style <arg_key> markup and Apriel's <tool_calls> list
  // share the tag but not the format.
  if (has(t, "<tool_call>") && !has(t, "<arg_key>") && !has(t, "<tool_calls>") &&
      (has(t, "\"name\"") || has(t, "\\\"name\\\"") || has(t, "\"arguments\""))) {
    return "hermes";
  }
  if (has(t, "<|python_tag|>") || has(t, "respond with a JSON for a function call") ||
      has(t, "\"parameters\": dictionary of argument name")) {
    return "llama3_json";
  }
  if (has(t, "[TOOL_CALLS]")) return "mistral";
  return std::nullopt;
}

bool prompt_opens_reasoning(std::string_view prompt) {
  while (!prompt.empty() && toolparse::is_space(prompt.back())) prompt.remove_suffix(1);
  return prompt.ends_with("<think>") || prompt.ends_with("[THINK]");
}

}  // namespace kiln
