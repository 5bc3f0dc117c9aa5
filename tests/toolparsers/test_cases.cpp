// The case files: every case parsed whole must give the expected result, and every chunking of
// its input (each byte alone, every split into two, random chunkings) must give the same result
// with a well-formed delta stream.
#include <catch2/catch.hpp>

#include <random>

#include "harness.h"
#include "kiln/toolparse_text.h"

using namespace tp_test;

namespace {

Options options_for(const nlohmann::json& file, const nlohmann::json& c) {
  Options opt;
  opt.tools = file["tool_sets"][c["tools"].get<std::string>()];
  opt.reasoning_open = c.value("reasoning_open", false);
  return opt;
}

bool id_well_formed(const std::string& parser, const std::string& id) {
  if (parser == "mistral") return kiln::toolparse::is_mistral_call_id(id);
  if (id.size() != 29 || id.rfind("call_", 0) != 0) return false;
  for (char ch : id.substr(5))
    if (!std::isalnum(static_cast<unsigned char>(ch))) return false;
  return true;
}

void check_expected(const std::string& parser, const nlohmann::json& expect,
                    const kiln::ParseResult& r) {
  CHECK(r.content == expect["content"].get<std::string>());
  CHECK(r.reasoning == expect["reasoning"].get<std::string>());
  const auto& calls = expect["tool_calls"];
  REQUIRE(r.tool_calls.size() == calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& got = r.tool_calls[i];
    INFO("tool call " << i << ": " << got.name << " " << got.arguments);
    CHECK(got.name == calls[i]["name"].get<std::string>());
    nlohmann::json args = nlohmann::json::parse(got.arguments, nullptr, false);
    REQUIRE_FALSE(args.is_discarded());
    CHECK(args.is_object());
    CHECK(args == calls[i]["arguments"]);
    if (calls[i].contains("id")) CHECK(got.id == calls[i]["id"].get<std::string>());
    else CHECK(id_well_formed(parser, got.id));
  }
  std::vector<std::string> kinds;
  for (const auto& p : r.problems) kinds.push_back(kiln::tool_problem_name(p.kind));
  CHECK(kinds == expect["problems"].get<std::vector<std::string>>());
}

// What holds for any one run of a case, whatever the chunking.
void check_run(const std::string& parser, const Run& run, bool expect_clean) {
  CHECK(check_stream_order(run.deltas) == "");
  kiln::ToolResultBuilder fold;
  fold.apply(run.deltas);
  CHECK(dump(fold.result()) == dump(run.result));
  for (const auto& d : run.deltas) {
    if (d.type == kiln::ToolDeltaType::content || d.type == kiln::ToolDeltaType::reasoning ||
        d.type == kiln::ToolDeltaType::call_arguments) {
      CHECK(valid_utf8(d.text));
    }
  }
  if (expect_clean) {
    const std::string content = content_of(run.deltas);
    for (const auto& m : plugin(parser).markers()) {
      INFO("markup " << m);
      CHECK(content.find(m) == std::string::npos);
    }
  }
}

}  // namespace

TEST_CASE("tool-parser case files: whole parse gives the expected result", "[toolparsers]") {
  for (const auto& parser : kParsers) {
    const auto& file = case_file(parser);
    REQUIRE(file["cases"].size() >= 40);
    for (const auto& c : file["cases"]) {
      INFO(parser << ": " << c["name"].get<std::string>());
      Run run = run_whole(parser, c["input"], options_for(file, c));
      check_expected(parser, c["expect"], run.result);
      check_run(parser, run, c["expect"]["problems"].empty());
    }
  }
}

TEST_CASE("tool-parser case files: every chunking gives the whole result", "[toolparsers]") {
  for (const auto& parser : kParsers) {
    const auto& file = case_file(parser);
    size_t runs = 0;
    for (const auto& c : file["cases"]) {
      const std::string name = c["name"];
      const std::string input = c["input"];
      const bool clean = c["expect"]["problems"].empty();
      const Options opt = options_for(file, c);
      INFO(parser << ": " << name);
      const std::string whole = dump(run_whole(parser, input, opt).result);

      Run bytes = run_bytewise(parser, input, opt);
      CHECK(dump(bytes.result) == whole);
      check_run(parser, bytes, clean);

      for (size_t k = 1; k < input.size(); ++k) {
        Run two = run_with_cuts(parser, input, opt, {k});
        if (dump(two.result) != whole) {
          FAIL_CHECK("split at byte " << k << " differs:\n" << dump(two.result) << "\nvs\n" << whole);
          break;
        }
        ++runs;
      }

      std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string>{}(name)));
      for (int trial = 0; trial < 24; ++trial) {
        std::vector<size_t> cuts;
        const size_t max_chunk = trial < 12 ? 4 : 40;
        for (size_t at = 1 + rng() % max_chunk; at < input.size(); at += 1 + rng() % max_chunk) {
          cuts.push_back(at);
        }
        Run r = run_with_cuts(parser, input, opt, cuts);
        INFO("random chunking " << trial);
        CHECK(dump(r.result) == whole);
        check_run(parser, r, clean);
        ++runs;
      }
    }
    CHECK(runs > 1000);
  }
}
