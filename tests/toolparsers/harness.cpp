#include "harness.h"

#include <fstream>
#include <map>
#include <stdexcept>

namespace tp_test {

const kiln::ToolParserPlugin& plugin(const std::string& name) {
  static std::map<std::string, kiln::ToolParserPlugin> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end()) {
    it = loaded.emplace(name, kiln::ToolParserPlugin::load_file(std::string(KILN_PLUGIN_DIR) + "/" +
                                                                name + ".so"))
             .first;
  }
  return it->second;
}

const nlohmann::json& case_file(const std::string& parser) {
  static std::map<std::string, nlohmann::json> files;
  auto it = files.find(parser);
  if (it == files.end()) {
    const std::string path = std::string(KILN_TEST_DATA_DIR) + "/toolparsers/" + parser + ".json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    it = files.emplace(parser, nlohmann::json::parse(in)).first;
  }
  return it->second;
}

Run run_with_cuts(const std::string& parser, const std::string& input, const Options& opt,
                  const std::vector<size_t>& cuts) {
  auto p = plugin(parser).create();
  p->set_tools(opt.tools);
  p->set_reasoning_open(opt.reasoning_open);
  p->set_id_seed(opt.seed);
  Run run;
  size_t start = 0;
  auto feed = [&](size_t end) {
    auto d = p->feed(std::string_view(input).substr(start, end - start));
    run.deltas.insert(run.deltas.end(), d.begin(), d.end());
    run.feed_ends.push_back(run.deltas.size());
    start = end;
  };
  for (size_t c : cuts) feed(c);
  feed(input.size());
  auto d = p->finish();
  run.deltas.insert(run.deltas.end(), d.begin(), d.end());
  run.result = p->result();
  return run;
}

Run run_whole(const std::string& parser, const std::string& input, const Options& opt) {
  return run_with_cuts(parser, input, opt, {});
}

Run run_bytewise(const std::string& parser, const std::string& input, const Options& opt) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return run_with_cuts(parser, input, opt, cuts);
}

std::string check_stream_order(const std::vector<kiln::ToolDelta>& deltas) {
  return kiln::check_tool_delta_stream(deltas);
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

std::string dump(const kiln::ParseResult& r) { return kiln::to_json(r).dump(1); }

std::string content_of(const std::vector<kiln::ToolDelta>& deltas) {
  std::string out;
  for (const auto& d : deltas)
    if (d.type == kiln::ToolDeltaType::content) out += d.text;
  return out;
}

}  // namespace tp_test
