// Folding a delta stream into a ParseResult, and the JSON forms of both.
#include <algorithm>

#include "kiln/toolparser.h"

namespace kiln {

void ToolResultBuilder::apply(const ToolDelta& delta) {
  switch (delta.type) {
    case ToolDeltaType::content: acc_.content += delta.text; break;
    case ToolDeltaType::reasoning: acc_.reasoning += delta.text; break;
    case ToolDeltaType::call_start:
      acc_.tool_calls.push_back(ToolCall{delta.index, delta.id, delta.name, {}});
      break;
    case ToolDeltaType::call_arguments:
      // Fragments belong to the latest started call; search backwards for robustness.
      for (auto it = acc_.tool_calls.rbegin(); it != acc_.tool_calls.rend(); ++it) {
        if (it->index == delta.index) {
          it->arguments += delta.text;
          break;
        }
      }
      break;
    case ToolDeltaType::problem:
      acc_.problems.push_back(ToolParseProblem{delta.problem, delta.index, delta.text});
      if (delta.index >= 0) withdrawn_.push_back(delta.index);
      break;
  }
}

ParseResult ToolResultBuilder::result() const {
  ParseResult out = acc_;
  std::erase_if(out.tool_calls, [&](const ToolCall& call) {
    return std::find(withdrawn_.begin(), withdrawn_.end(), call.index) != withdrawn_.end();
  });
  return out;
}

const char* tool_problem_name(ToolProblem problem) {
  switch (problem) {
    case ToolProblem::truncated: return "truncated";
    case ToolProblem::invalid_json: return "invalid_json";
    case ToolProblem::invalid_arguments: return "invalid_arguments";
    case ToolProblem::unknown_function: return "unknown_function";
    case ToolProblem::unbalanced_markup: return "unbalanced_markup";
    case ToolProblem::internal_error: return "internal_error";
  }
  return "unknown";
}

const char* tool_delta_type_name(ToolDeltaType type) {
  switch (type) {
    case ToolDeltaType::content: return "content";
    case ToolDeltaType::reasoning: return "reasoning";
    case ToolDeltaType::call_start: return "call_start";
    case ToolDeltaType::call_arguments: return "call_arguments";
    case ToolDeltaType::problem: return "problem";
  }
  return "unknown";
}

// Model output may be cut inside a UTF-8 sequence; never let dump() throw on it.
static std::string dump_safe(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json to_json(const ParseResult& result) {
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& c : result.tool_calls) {
    calls.push_back({{"id", c.id},
                     {"type", "function"},
                     {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
  }
  nlohmann::json problems = nlohmann::json::array();
  for (const auto& p : result.problems) {
    problems.push_back(
        {{"problem", tool_problem_name(p.kind)}, {"index", p.index}, {"message", p.message}});
  }
  // Round-trip through text with replacement so invalid UTF-8 in model output cannot make a
  // later dump() throw.
  nlohmann::json out = {{"content", result.content},
                        {"reasoning", result.reasoning},
                        {"tool_calls", calls},
                        {"problems", problems}};
  return nlohmann::json::parse(dump_safe(out));
}

nlohmann::json to_json(const ToolDelta& delta) {
  nlohmann::json out = {{"type", tool_delta_type_name(delta.type)}};
  switch (delta.type) {
    case ToolDeltaType::content:
    case ToolDeltaType::reasoning: out["text"] = delta.text; break;
    case ToolDeltaType::call_start:
      out["index"] = delta.index;
      out["id"] = delta.id;
      out["name"] = delta.name;
      break;
    case ToolDeltaType::call_arguments:
      out["index"] = delta.index;
      out["text"] = delta.text;
      break;
    case ToolDeltaType::problem:
      out["problem"] = tool_problem_name(delta.problem);
      out["index"] = delta.index;
      out["message"] = delta.text;
      break;
  }
  return nlohmann::json::parse(dump_safe(out));
}

}  // namespace kiln
