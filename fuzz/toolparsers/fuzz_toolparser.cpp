// Fuzzes one tool-call parser (its source is linked in; see CMakeLists.txt). Beyond "no crash,
// no sanitizer report", every input must give the same result whole and in chunks chosen by
// the input, with a well-formed delta stream whose fold is the result.
//   byte 0: bit 0 tools given, bit 1 reasoning open; byte 1: chunking seed; rest: model output
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "kiln/toolparser.h"

extern "C" const void* kiln_plugin_entry;

namespace {

const kiln_toolparser_api& api() {
  auto entry = reinterpret_cast<kiln_plugin_entry_fn>(const_cast<void*>(kiln_plugin_entry));
  return *static_cast<const kiln_toolparser_api*>(entry()->api);
}

// A small tool set with every schema type, shared by all four formats' names.
const nlohmann::json& tools() {
  static const nlohmann::json t = nlohmann::json::parse(R"([
    {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {
      "s": {"type": "string"}, "i": {"type": "integer"}, "n": {"type": "number"},
      "b": {"type": "boolean"}, "o": {"type": "object"}, "a": {"type": "array"},
      "u": {"type": ["null", "integer"]}}}}},
    {"type": "function", "function": {"name": "get_weather", "parameters": {}}}])");
  return t;
}

struct Outcome {
  std::vector<kiln::ToolDelta> deltas;
  kiln::ParseResult result;
};

Outcome run(const std::string& text, uint8_t flags, uint32_t seed, bool chunked) {
  kiln::ToolCallParser* p = api().create();
  if (!p) abort();
  p->set_tools(flags & 1 ? tools() : nlohmann::json::array());
  p->set_reasoning_open(flags & 2);
  p->set_id_seed(17);
  Outcome o;
  size_t at = 0;
  while (at < text.size()) {
    size_t n = text.size() - at;
    if (chunked) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<size_t>(n, 1 + (seed >> 16) % 9);
    }
    auto d = p->feed(std::string_view(text).substr(at, n));
    o.deltas.insert(o.deltas.end(), d.begin(), d.end());
    at += n;
  }
  auto d = p->finish();
  o.deltas.insert(o.deltas.end(), d.begin(), d.end());
  o.result = p->result();
  api().destroy(p);
  return o;
}

void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s %s\n", what, detail.c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const uint32_t seed = data[1];
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);

  Outcome whole = run(text, flags, seed, false);
  Outcome parts = run(text, flags, seed, true);
  const std::string a = kiln::to_json(whole.result).dump(), b = kiln::to_json(parts.result).dump();
  require(a == b, "whole and chunked results differ", "\n" + a + "\n" + b);
  for (const Outcome* o : {&whole, &parts}) {
    std::string why = kiln::check_tool_delta_stream(o->deltas);
    require(why.empty(), "delta stream", why);
    kiln::ToolResultBuilder fold;
    fold.apply(o->deltas);
    require(kiln::to_json(fold.result()).dump() == kiln::to_json(o->result).dump(),
            "fold of deltas differs from result()");
    for (const auto& call : o->result.tool_calls) {
      auto args = nlohmann::json::parse(call.arguments, nullptr, false);
      require(!args.is_discarded() && args.is_object(), "arguments not a JSON object",
              call.arguments);
    }
  }
  return 0;
}
