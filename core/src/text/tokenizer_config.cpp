// tokenizer_config.json: chat templates and special-token names for chat templating.
#include <fstream>
#include <sstream>

#include "text/json_fields.h"
#include "text/loaders.h"

namespace kiln::text {

std::string read_file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": read error");
  return ss.str();
}

namespace {

// "bos_token": "<s>" or {"content": "<s>", ...} (an AddedToken) or null.
std::optional<std::string> token_name(const Json& root, const char* key, const JsonPath& at) {
  const Json* v = field(root, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_object()) return get_string(*v, "content", at / key);
  (at / key).fail("expected a string or an object with \"content\"");
}

}  // namespace

TokenizerConfig parse_tokenizer_config(std::string_view json_text, const std::string& name) {
  Json root;
  try {
    root = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {
    throw Error(name + ": not valid JSON (" + e.what() + ")");
  }
  const JsonPath at(name, "");
  if (!root.is_object()) at.fail("expected a JSON object at the top level");
  TokenizerConfig cfg;
  if (const Json* t = field(root, "chat_template")) {
    if (t->is_string()) {
      cfg.chat_template = t->get<std::string>();
      cfg.chat_templates["default"] = cfg.chat_template;
    } else if (t->is_array()) {
      for (size_t i = 0; i < t->size(); ++i) {
        const JsonPath e_at = (at / "chat_template")[i];
        const Json& e = require_object((*t)[i], e_at);
        cfg.chat_templates[get_string(e, "name", e_at)] = get_string(e, "template", e_at);
      }
      if (auto it = cfg.chat_templates.find("default"); it != cfg.chat_templates.end()) cfg.chat_template = it->second;
    } else {
      (at / "chat_template").fail("expected a string or a list of {name, template}");
    }
  }
  cfg.bos_token = token_name(root, "bos_token", at);
  cfg.eos_token = token_name(root, "eos_token", at);
  cfg.pad_token = token_name(root, "pad_token", at);
  cfg.unk_token = token_name(root, "unk_token", at);
  if (const Json* v = field(root, "add_bos_token"); v && v->is_boolean()) cfg.add_bos_token = v->get<bool>();
  if (const Json* v = field(root, "add_eos_token"); v && v->is_boolean()) cfg.add_eos_token = v->get<bool>();
  return cfg;
}

TokenizerConfig load_tokenizer_config(const std::filesystem::path& folder) {
  TokenizerConfig cfg;
  const auto file = folder / "tokenizer_config.json";
  std::error_code ec;
  if (std::filesystem::is_regular_file(file, ec)) cfg = parse_tokenizer_config(read_file_bytes(file), file.string());
  // Newer Hugging Face repositories keep the template in its own file.
  const auto jinja = folder / "chat_template.jinja";
  if (cfg.chat_template.empty() && std::filesystem::is_regular_file(jinja, ec)) {
    cfg.chat_template = read_file_bytes(jinja);
    cfg.chat_templates["default"] = cfg.chat_template;
  }
  return cfg;
}

}  // namespace kiln::text
