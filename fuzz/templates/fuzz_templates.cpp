// libFuzzer target: parse arbitrary text as a chat template; render what parses over a small
// conversation with tight limits. Only kiln::Error may come out.
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>

#include "jinja/interpreter.h"
#include "jinja/json.h"
#include "jinja/parser.h"

namespace {

const kiln::jinja::DictData& context() {
  static const kiln::jinja::DictData ctx = [] {
    auto messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "Hi ✓"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "abc123def", "type": "function",
        "function": {"name": "f", "arguments": {"x": 1, "y": [true, null, 1.5]}}}]},
      {"role": "tool", "content": "{\"ok\": true}", "tool_call_id": "abc123def"}])");
    kiln::jinja::DictData d;
    d.set(kiln::jinja::Value::string("messages"), kiln::jinja::from_json(messages));
    d.set(kiln::jinja::Value::string("tools"), kiln::jinja::Value::none());
    d.set(kiln::jinja::Value::string("add_generation_prompt"), kiln::jinja::Value::boolean(true));
    d.set(kiln::jinja::Value::string("bos_token"), kiln::jinja::Value::string("<s>"));
    d.set(kiln::jinja::Value::string("eos_token"), kiln::jinja::Value::string("</s>"));
    return d;
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string source(reinterpret_cast<const char*>(data), size);
  kiln::jinja::StmtList body;
  try {
    body = kiln::jinja::parse_template(source);
  } catch (const kiln::Error&) {
    return 0;
  }
  std::tm now{};
  now.tm_year = 124;
  now.tm_mon = 6;
  now.tm_mday = 26;
  kiln::jinja::RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  limits.max_steps = 20000;
  limits.max_call_depth = 50;
  limits.max_eval_depth = 300;
  try {
    kiln::jinja::Interpreter interp(context(), now, limits);
    interp.render(body);
  } catch (const kiln::Error&) {
  }
  return 0;
}
