// Helpers for the tool-parser tests: loading the plugins built in this tree, reading the case
// files, running a parser over an input with a given chunking, and checking a delta stream.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/toolparser_host.h"

namespace tp_test {

inline const std::vector<std::string> kParsers = {"hermes", "llama3_json", "qwen3_xml", "mistral"};

// The plugin <name>.so from KILN_PLUGIN_DIR, loaded once.
const kiln::ToolParserPlugin& plugin(const std::string& name);

// tests/data/toolparsers/<parser>.json
const nlohmann::json& case_file(const std::string& parser);

struct Options {
  nlohmann::json tools = nlohmann::json::array();
  bool reasoning_open = false;
  uint64_t seed = 1234;
};

struct Run {
  std::vector<kiln::ToolDelta> deltas;  // everything feed() and finish() returned, in order
  std::vector<size_t> feed_ends;        // deltas.size() after each feed() call
  kiln::ParseResult result;             // parser->result() after finish()
};

// Feeds `input` cut at the given offsets (strictly increasing, inside the input).
Run run_with_cuts(const std::string& parser, const std::string& input, const Options& opt,
                  const std::vector<size_t>& cuts);
Run run_whole(const std::string& parser, const std::string& input, const Options& opt);
Run run_bytewise(const std::string& parser, const std::string& input, const Options& opt);

// The stream protocol of toolparser.h; returns "" when the stream is well-formed, else why not.
std::string check_stream_order(const std::vector<kiln::ToolDelta>& deltas);
// True when every byte sequence in `s` is well-formed UTF-8 (no partial characters).
bool valid_utf8(const std::string& s);
// Stable text form of a result for equality checks.
std::string dump(const kiln::ParseResult& r);
// Concatenated content deltas.
std::string content_of(const std::vector<kiln::ToolDelta>& deltas);

}  // namespace tp_test
