// kiln::ChatTemplate: the render context transformers builds, over the Jinja engine in
// core/src/jinja.
#include "kiln/chat_template.h"
#include "kiln/env.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "jinja/interpreter.h"
#include "jinja/json.h"
#include "jinja/parser.h"

namespace kiln {

struct ChatTemplate::Impl {
  jinja::StmtList body;
};

namespace {

bool parse_fixed(const std::string& text, const char* pattern, std::tm& tm) {
  int consumed = 0;
  tm = std::tm{};
  int n = std::sscanf(text.c_str(), pattern, &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                      &tm.tm_sec, &consumed);
  (void)n;
  return consumed > 0 && static_cast<size_t>(consumed) == text.size();
}

// "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS" or with a space instead of T.
std::tm parse_now(const std::string& text, const char* origin) {
  std::tm tm{};
  bool ok = parse_fixed(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", tm) || parse_fixed(text, "%4d-%2d-%2d %2d:%2d:%2d%n", tm);
  if (!ok) {
    int consumed = 0;
    tm = std::tm{};
    std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed);
    ok = consumed > 0 && static_cast<size_t>(consumed) == text.size();
  }
  if (!ok || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    throw Error(std::string(origin) + ": '" + text + "' is not a date like 2024-07-26 or 2024-07-26T12:34:56");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  // Fill in the weekday and day of the year.
  std::tm copy = tm;
  time_t t = timegm(&copy);
  std::tm normalized{};
  gmtime_r(&t, &normalized);
  return normalized;
}

std::tm render_time(const std::string& option) {
  if (!option.empty()) return parse_now(option, "ChatTemplateOptions::now");
  if (const char* now = env::value("KILN_TEMPLATE_NOW")) return parse_now(now, "KILN_TEMPLATE_NOW");
  time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  return local;
}

std::optional<std::string> token_text(const nlohmann::ordered_json& config, const char* key,
                                      const std::string& path) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  throw Error(path + ": '" + key + "' is neither a string nor an object with a string 'content'");
}

}  // namespace

ChatTemplate::ChatTemplate(const std::string& source) : impl_(std::make_unique<Impl>()) {
  impl_->body = jinja::parse_template(source);
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                                 const ChatTemplateOptions& options) const {
  if (!messages.is_array()) throw Error("chat template: messages must be a JSON array");
  if (!tools.is_null() && !tools.is_array()) throw Error("chat template: tools must be a JSON array or null");
  if (!options.extra_context.is_object()) throw Error("chat template: extra_context must be a JSON object");
  using jinja::Value;
  jinja::DictData context;
  auto set = [&](const std::string& key, Value v) { context.set(Value::string(key), std::move(v)); };
  if (options.bos_token) set("bos_token", Value::string(*options.bos_token));
  if (options.eos_token) set("eos_token", Value::string(*options.eos_token));
  for (const auto& [key, value] : options.extra_context.items()) {
    if (key == "messages" || key == "tools" || key == "documents" || key == "add_generation_prompt")
      throw Error("chat template: extra_context may not set '" + key + "'");
    set(key, jinja::from_json(value));
  }
  set("messages", jinja::from_json(messages));
  set("tools", jinja::from_json(tools));
  set("documents", Value::none());
  set("add_generation_prompt", Value::boolean(options.add_generation_prompt));
  jinja::Interpreter interpreter(context, render_time(options.now));
  try {
    return interpreter.render(impl_->body);
  } catch (const jinja::TemplateError& e) {
    if (e.kind() == jinja::ErrorKind::Raised) throw ChatTemplateRaised(e.message());
    throw;
  }
}

std::string render_chat_template(const std::string& source, const nlohmann::ordered_json& messages,
                                 const nlohmann::ordered_json& tools, const ChatTemplateOptions& options) {
  return ChatTemplate(source).render(messages, tools, options);
}

ChatTemplateFile load_chat_template_file(const std::string& path, bool want_tool_use) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open chat template file");
  std::stringstream ss;
  ss << in.rdbuf();
  ChatTemplateFile file;
  bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!is_json) {
    file.source = ss.str();
    return file;
  }
  nlohmann::ordered_json config;
  try {
    config = nlohmann::ordered_json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  if (!config.is_object()) throw Error(path + ": expected a JSON object (a tokenizer_config.json)");
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) throw Error(path + ": has no 'chat_template'");
  if (it->is_string()) {
    file.source = it->get<std::string>();
  } else if (it->is_array()) {
    std::optional<std::string> fallback, tool_use;
    for (const auto& entry : *it) {
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
          !entry["template"].is_string())
        throw Error(path + ": 'chat_template' list entries must be {\"name\": ..., \"template\": ...}");
      if (entry["name"] == "default") fallback = entry["template"].get<std::string>();
      if (entry["name"] == "tool_use") tool_use = entry["template"].get<std::string>();
    }
    if (want_tool_use && tool_use) file.source = *tool_use;
    else if (fallback) file.source = *fallback;
    else throw Error(path + ": 'chat_template' has no template named 'default'");
  } else {
    throw Error(path + ": 'chat_template' must be a string or a list of named templates");
  }
  file.bos_token = token_text(config, "bos_token", path);
  file.eos_token = token_text(config, "eos_token", path);
  file.unk_token = token_text(config, "unk_token", path);
  file.pad_token = token_text(config, "pad_token", path);
  return file;
}

}  // namespace kiln
