#include "tool_calls.h"

#include <map>
#include <mutex>

#include "kiln/error.h"
#include "kiln/plugin_path.h"

#include "kiln/toolparser_host.h"

namespace kiln::runner {

namespace {

class Passthrough final : public ToolCallStream {
 public:
  StreamDelta feed(std::string_view text) override {
    text_ += text;
    StreamDelta d;
    d.content = std::string(text);
    return d;
  }
  StreamDelta finish() override { return {}; }
  nlohmann::json result() const override {
    return {{"text", text_}, {"reasoning", ""}, {"tool_calls", nlohmann::json::array()},
            {"problems", nlohmann::json::array()}};
  }

 private:
  std::string text_;
};

// Plugins stay loaded for the runner's life: one load per parser name.
const ToolParserPlugin& parser_plugin(const std::string& name, const std::vector<std::string>& paths) {
  static std::mutex mu;
  static std::map<std::string, ToolParserPlugin> loaded;
  std::lock_guard<std::mutex> lock(mu);
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, ToolParserPlugin::load(name, paths)).first;
  return it->second;
}

class PluginStream final : public ToolCallStream {
 public:
  explicit PluginStream(const ToolStreamOptions& o) : parser_(parser_plugin(o.parser, o.plugin_paths).create()) {
    parser_->set_tools(o.tools);
    parser_->set_reasoning_open(prompt_opens_reasoning(o.prompt));
    parser_->set_id_seed(o.id_seed);
  }
  StreamDelta feed(std::string_view text) override { return convert(parser_->feed(text)); }
  StreamDelta finish() override { return convert(parser_->finish()); }
  nlohmann::json result() const override {
    nlohmann::json r = to_json(parser_->result());
    nlohmann::json out = {{"text", r.value("content", "")}, {"reasoning", r.value("reasoning", "")},
                          {"tool_calls", r.value("tool_calls", nlohmann::json::array())},
                          {"problems", r.value("problems", nlohmann::json::array())}};
    return out;
  }

 private:
  static StreamDelta convert(const std::vector<ToolDelta>& deltas) {
    StreamDelta d;
    for (const auto& t : deltas) {
      switch (t.type) {
        case ToolDeltaType::content: d.content += t.text; break;
        case ToolDeltaType::reasoning: d.reasoning += t.text; break;
        case ToolDeltaType::call_start:
          d.tool_calls.push_back({{"index", t.index}, {"id", t.id}, {"name", t.name}, {"arguments", ""}});
          break;
        case ToolDeltaType::call_arguments:
          if (!d.tool_calls.empty() && d.tool_calls.back()["index"] == t.index) {
            d.tool_calls.back()["arguments"] = d.tool_calls.back()["arguments"].get<std::string>() + t.text;
          } else {
            d.tool_calls.push_back({{"index", t.index}, {"arguments", t.text}});
          }
          break;
        case ToolDeltaType::problem:
          // index >= 0 withdraws that call: its text follows as content.
          d.problems.push_back({{"problem", tool_problem_name(t.problem)}, {"index", t.index}, {"message", t.text}});
          break;
      }
    }
    return d;
  }

  ToolParserPtr parser_;
};

}  // namespace

std::unique_ptr<ToolCallStream> make_tool_call_stream(const ToolStreamOptions& options) {
  if (options.parser == "none") return std::make_unique<Passthrough>();
  return std::make_unique<PluginStream>(options);
}

std::string auto_tool_parser(const nlohmann::json& metadata) {
  if (!metadata.is_object()) return "none";
  if (auto it = metadata.find("tool_parser"); it != metadata.end() && it->is_string() && !it->get<std::string>().empty()) {
    return *it;
  }
  if (auto it = metadata.find("chat_template"); it != metadata.end() && it->is_string()) {
    if (auto name = detect_tool_parser(it->get<std::string>())) return *name;
  }
  return "none";
}

}  // namespace kiln::runner
