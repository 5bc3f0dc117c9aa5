// The delta stream protocol of toolparser.h, as a checker for tests, fuzzers and consumers.
#include "kiln/toolparser.h"

namespace kiln {

std::string check_tool_delta_stream(const std::vector<ToolDelta>& deltas) {
  using T = ToolDeltaType;
  int started = 0;             // calls started so far; indices must be 0,1,2,...
  int current = -1;            // the call arguments may belong to
  std::vector<bool> withdrawn;
  for (size_t i = 0; i < deltas.size(); ++i) {
    const auto& d = deltas[i];
    const std::string at = "delta " + std::to_string(i) + ": ";
    switch (d.type) {
      case T::content:
      case T::reasoning:
        if (d.text.empty()) return at + "empty text delta";
        break;
      case T::call_start:
        if (d.index != started) return at + "call_start index " + std::to_string(d.index) +
                                       ", expected " + std::to_string(started);
        if (d.id.empty() || d.name.empty()) return at + "call_start without id or name";
        ++started;
        withdrawn.push_back(false);
        current = d.index;
        break;
      case T::call_arguments:
        if (d.text.empty()) return at + "empty arguments delta";
        if (d.index != current || current < 0) {
          return at + "arguments for call " + std::to_string(d.index) +
                 " which is not the latest started call";
        }
        if (withdrawn[d.index]) return at + "arguments after the call was withdrawn";
        break;
      case T::problem:
        if (d.index >= 0) {
          if (d.index >= started) return at + "withdraws a call that never started";
          if (withdrawn[d.index]) return at + "withdraws a call twice";
          withdrawn[d.index] = true;
        }
        break;
    }
  }
  return {};
}

}  // namespace kiln
