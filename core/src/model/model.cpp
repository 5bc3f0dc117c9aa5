// Default bodies of kiln::Model: a capability the model does not report is refused with a
// message naming it (the runner checks capabilities first, so clients see a clean error).
#include "kiln/error.h"
#include "kiln/model.h"

namespace kiln {

namespace {
[[noreturn]] void unsupported(const char* what) {
  throw Error(std::string("this model does not support ") + what);
}
}  // namespace

std::string Model::render_chat(const nlohmann::json&, const nlohmann::json&, bool) const {
  unsupported("chat messages (it has no chat template)");
}
GenerateResult Model::generate(const GenerateRequest&, const TokenSink&, const CancelFlag&) {
  unsupported("text generation");
}
std::vector<int32_t> Model::tokenize(const std::string&, bool) const {
  unsupported("tokenization");
}
std::string Model::detokenize(const std::vector<int32_t>&) const {
  unsupported("detokenization");
}
EmbedResult Model::embed(const EmbedRequest&, const CancelFlag&) { unsupported("embeddings"); }
ImageResult Model::generate_image(const ImageRequest&, const StepFn&, const CancelFlag&) {
  unsupported("image generation");
}
TranscriptionResult Model::transcribe(const TranscriptionRequest&, const SegmentSink&,
                                      const CancelFlag&) {
  unsupported("audio transcription");
}

}  // namespace kiln
