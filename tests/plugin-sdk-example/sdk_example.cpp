// sdk_example.so — a model plugin written against the installed Kiln SDK only (kiln/model.h,
// kiln/plugin.h, kiln/error.h). Its "model" answers every prompt with the prompt reversed;
// tokens are bytes. It exists to prove the third-party workflow end to end.
#include <algorithm>

#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/plugin.h"

namespace {

class ReverseModel final : public kiln::Model {
 public:
  uint32_t capabilities() const override { return kiln::KILN_CAP_GENERATE | kiln::KILN_CAP_TOKENIZE; }
  nlohmann::json metadata() const override { return {{"architecture", "reverse"}, {"vocab_size", 256}}; }

  kiln::GenerateResult generate(const kiln::GenerateRequest& request, const kiln::TokenSink& on_token,
                                const kiln::CancelFlag& cancel) override {
    std::string text = request.prompt;
    std::reverse(text.begin(), text.end());
    kiln::GenerateResult res;
    res.finish_reason = "stop";
    res.prompt_tokens = static_cast<int64_t>(request.prompt.size());
    for (char c : text) {
      if (cancel.load() || res.completion_tokens >= request.sampling.max_tokens) {
        res.finish_reason = cancel.load() ? "cancelled" : "length";
        break;
      }
      on_token({static_cast<unsigned char>(c), std::string(1, c)});
      ++res.completion_tokens;
    }
    return res;
  }

  std::vector<int32_t> tokenize(const std::string& text, bool) const override {
    return std::vector<int32_t>(text.begin(), text.end());
  }
  std::string detokenize(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || id > 255) throw kiln::Error("sdk_example: token " + std::to_string(id) + " is not a byte");
      out += static_cast<char>(id);
    }
    return out;
  }
};

int claims(const kiln::ModelProbe& probe) {
  for (const auto& a : probe.architectures)
    if (a == "reverse") return 50;
  return 0;
}
kiln::Model* create(const kiln::ModelLoadOptions&) { return new ReverseModel(); }
void destroy(kiln::Model* m) { delete m; }

const kiln::ModelFactory kFactory = {sizeof(kiln::ModelFactory), 0, &claims, &create, &destroy};
const kiln_plugin_descriptor kDescriptor = {KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_MODEL, "sdk_example",
                                            "0.1.0", KILN_MODEL_API_VERSION, 0, &kFactory};
const kiln_plugin_descriptor* entry() { return &kDescriptor; }

}  // namespace

KILN_DECLARE_PLUGIN(entry);
