// Chat templates: renders the Jinja chat templates of Hugging Face models (tokenizer_config.json,
// GGUF tokenizer.chat_template) exactly as transformers' apply_chat_template does with Python
// jinja2 — sandboxed, trim_blocks and lstrip_blocks on, loop controls, `tojson` as
// json.dumps(ensure_ascii=False), `raise_exception` and `strftime_now`. Kiln's own engine;
// docs/chat-templates.md lists what it supports.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kiln/error.h"

namespace kiln {

// The template called raise_exception(message): what() is the template's message, verbatim.
class ChatTemplateRaised : public Error {
 public:
  using Error::Error;
};

struct ChatTemplateOptions {
  bool add_generation_prompt = false;
  // Unset: the variable is undefined in the template (prints as nothing).
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // More template variables (enable_thinking, ...); a JSON object. They may override bos/eos
  // but not messages, tools, documents or add_generation_prompt.
  nlohmann::ordered_json extra_context = nlohmann::ordered_json::object();
  // The instant strftime_now() formats, "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS". Empty: the
  // environment variable KILN_TEMPLATE_NOW if set, else the local clock.
  std::string now;
};

class ChatTemplate {
 public:
  // Parses the template. Throws kiln::Error naming line and column on a syntax error, and on
  // a feature this engine does not support (e.g. {% include %}).
  explicit ChatTemplate(const std::string& source);
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // messages: a JSON array of message objects; tools: a JSON array, or null (bound to None).
  // Throws ChatTemplateRaised for raise_exception(), kiln::Error for other template errors
  // (message like "chat template line 12: TypeError: ...").
  std::string render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                     const ChatTemplateOptions& options = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools,
                                 const ChatTemplateOptions& options = {});

// A chat template read from a file: a .jinja file as is, or a tokenizer_config.json's
// chat_template (a string, or a list of {name, template} from which "tool_use" is taken when
// `want_tool_use` and present, else "default"), with the config's special tokens.
struct ChatTemplateFile {
  std::string source;
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token;
};
ChatTemplateFile load_chat_template_file(const std::string& path, bool want_tool_use = false);

}  // namespace kiln
