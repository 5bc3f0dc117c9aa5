// kiln parse-tools: model output on stdin -> tool calls, content and reasoning as JSON, through
// a tool-parser plugin. With --stream the parser is fed as text arrives and every delta is
// printed as a JSON line, followed by one {"type":"result"} line.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "kiln/toolparse_tools.h"
#include "kiln/toolparser_host.h"

namespace {

nlohmann::json read_tools(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw kiln::Error("--tools " + path + ": cannot open the file");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw kiln::Error("--tools " + path + ": not valid JSON");
  // A whole request body works too.
  if (j.is_object() && j.contains("tools")) j = j["tools"];
  kiln::toolparse::ToolSet::validate(j, "--tools " + path);
  return j;
}

std::string read_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw kiln::Error(flag + " " + path + ": cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void print_deltas(const std::vector<kiln::ToolDelta>& deltas) {
  for (const auto& d : deltas) std::cout << kiln::to_json(d).dump() << "\n";
  std::cout.flush();
}

int run_parse_tools(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--parser", "--tools", "--template", "--chunk", "--id-seed"},
                       {"--stream", "--reasoning-open"});
  if (!args.positional().empty()) {
    throw kiln::Error("unexpected argument '" + args.positional()[0] + "'");
  }
  std::string name = args.get_or("--parser", "");
  if (name.empty() || name == "auto") {
    auto tmpl = args.get("--template");
    if (!tmpl) throw kiln::Error("give --parser NAME, or --template FILE to choose one");
    auto detected = kiln::detect_tool_parser(read_file("--template", *tmpl));
    if (!detected) {
      throw kiln::Error("--template " + *tmpl + ": no tool-call markup this Kiln parses");
    }
    name = *detected;
  }
  const int64_t chunk = args.get_int("--chunk", 0);
  if (chunk < 0) throw kiln::Error("--chunk must be >= 0");

  auto plugin = kiln::ToolParserPlugin::load(name);
  auto parser = plugin.create();
  if (auto tools = args.get("--tools")) parser->set_tools(read_tools(*tools));
  parser->set_reasoning_open(args.has("--reasoning-open"));
  if (args.get("--id-seed")) parser->set_id_seed(static_cast<uint64_t>(args.get_int("--id-seed", 0)));

  const bool stream = args.has("--stream");
  // Read stdin as it arrives (a pipe from a running model delivers text in pieces).
  std::vector<char> buf(4096);
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
    if (n < 0) throw kiln::Error("reading stdin failed");
    if (n == 0) break;
    std::string_view got(buf.data(), static_cast<size_t>(n));
    const size_t step = chunk > 0 ? static_cast<size_t>(chunk) : got.size();
    for (size_t i = 0; i < got.size(); i += step) {
      auto deltas = parser->feed(got.substr(i, step));
      if (stream) print_deltas(deltas);
    }
  }
  auto deltas = parser->finish();
  if (stream) {
    print_deltas(deltas);
    std::cout << nlohmann::json{{"type", "result"}, {"result", kiln::to_json(parser->result())}}
                     .dump()
              << "\n";
  } else {
    std::cout << kiln::to_json(parser->result()).dump(2) << "\n";
  }
  return 0;
}

}  // namespace

KILN_COMMAND("parse-tools",
             "--parser NAME|--template FILE [--tools FILE] [--stream] [--chunk N] "
             "[--reasoning-open] [--id-seed S]",
             "model output on stdin -> tool calls as JSON (--stream: deltas as JSON lines)",
             run_parse_tools);
