// The model plugin contract (job level). A model plugin's descriptor (plugin.h) has kind
// KILN_PLUGIN_MODEL, contract_version KILN_MODEL_API_VERSION and `api` pointing to a
// kiln::ModelFactory. The factory says which models the plugin claims and creates a
// kiln::Model, the object a runner calls for each job.
//
// This header holds job-level types only: no tensors. (LLM plugins add a lower-level
// forward interface of their own; the generation loop lives in core.) Unlike the device
// contract this is a C++ interface: plugins are built against the Kiln SDK with a compatible
// C++ compiler and standard library; the contract version guards its layout.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/model_source.h"
#include "kiln/plugin_loader.h"
#include "kiln/toolparser.h"

#define KILN_MODEL_API_VERSION 2  // 2: sampling penalties, logprobs, token ids and tool results in GenerateResult

namespace kiln {

// ---------------------------------------------------------------------------------------
// Capabilities: the job kinds a model serves.
enum ModelCapability : uint32_t {
  KILN_CAP_GENERATE = 1u << 0,    // text generation (Predict, PredictStream)
  KILN_CAP_EMBED = 1u << 1,       // embeddings (Embedding)
  KILN_CAP_TOKENIZE = 1u << 2,    // tokenize / detokenize
  KILN_CAP_IMAGE = 1u << 3,       // image generation (GenerateImage)
  KILN_CAP_TRANSCRIBE = 1u << 4,  // speech to text (AudioTranscription[Stream])
  KILN_CAP_CHAT = 1u << 5,        // has a chat template: accepts messages (+ tools)
};

// Cancellation: set by the runner when the client cancels, disconnects or a deadline passes.
// Long-running calls poll it between steps (tokens, denoising steps, audio windows) and
// return early; a cancelled call's result is discarded.
using CancelFlag = std::atomic<bool>;

// ---------------------------------------------------------------------------------------
// Loading.

// Progress a model reports while it loads and warms up.
struct LoadProgress {
  std::string stage;              // "reading", "compiling", "warming" (free text)
  uint64_t bytes_read = 0;        // weight bytes read so far
  uint64_t bytes_total = 0;       // 0 when unknown
  uint64_t kernels_compiled = 0;  // kernels compiled (or fetched from the kernel cache)
  uint64_t kernels_total = 0;     // 0 when unknown
};
using ProgressFn = std::function<void(const LoadProgress&)>;

// What the runner knows about a model before any plugin opens it: used by claims().
struct ModelProbe {
  std::string path;  // file or directory as configured ("" when the plugin needs none)
  // core/io's generic view (config files, GGUF metadata, tensor index) when the path is a
  // model folder, a .gguf, a .safetensors or a *.safetensors.index.json; null otherwise.
  std::shared_ptr<const ModelSource> source;
  // Names to claim, most specific first: source->architectures(), or a .json model file's
  // "architecture"/"architectures".
  std::vector<std::string> architectures;
  // config.json of a folder, or the content of a .json model file; null when there is none.
  nlohmann::json config;
};

struct ModelLoadOptions {
  std::string name;            // the model's name in the supervisor configuration
  std::string path;            // as in ModelProbe
  std::shared_ptr<const ModelSource> source;  // as in ModelProbe (already opened, mmapped)
  nlohmann::json config;       // as in ModelProbe
  // The device plugin chosen in the configuration, already loaded and checked by the runner;
  // an empty handle means device "none" (only for plugins without KILN_MODEL_NEEDS_DEVICE).
  PluginHandle device;
  int device_index = 0;
  int64_t context = 0;         // context length in tokens; 0 = the model's default
  std::string dtype;           // compute/storage dtype request ("" = the model's default)
  int threads = 0;             // host threads; 0 = one per core
  nlohmann::json options;      // the configuration's free-form `options:` map for the plugin
  ProgressFn progress;         // may be empty
};

// ---------------------------------------------------------------------------------------
// Generation.

// Sampling and stopping. core/generate (kiln/generate.h) applies them in transformers' order:
// repetition penalty, presence/frequency penalties, temperature, top-k, top-p, min-p, then a
// draw (or argmax when temperature is 0). validate_sampling() says which values are allowed.
struct SamplingParams {
  int64_t max_tokens = 256;    // tokens to generate at most (EOS included); 0 = none
  double temperature = 0.8;    // 0 = greedy
  int64_t top_k = 40;          // 0 = off
  double top_p = 0.95;         // 1 = off
  double min_p = 0.05;         // 0 = off
  double repeat_penalty = 1.0; // 1 = off; transformers' repetition_penalty (prompt + output)
  double presence_penalty = 0.0;   // 0 = off; OpenAI's, over generated tokens only
  double frequency_penalty = 0.0;  // 0 = off; OpenAI's, over generated tokens only
  std::optional<uint64_t> seed;    // same seed, same tokens; none = a random seed
  std::vector<std::string> stop;  // stop strings: generation ends before the first match and
                                  // the matched text is not returned
  bool ignore_eos = false;
  bool logprobs = false;       // report the chosen token's log-probability
  int64_t top_logprobs = 0;    // ... and this many most likely alternatives (needs logprobs)
  // false keeps special tokens (<|python_tag|>, [TOOL_CALLS], <think>) in the text: what a
  // tool-call parser needs to see.
  bool skip_special_tokens = true;

  // Greedy without penalties: the token is the argmax of the model's raw logits.
  bool plain_greedy() const {
    return temperature <= 0 && repeat_penalty == 1.0 && presence_penalty == 0.0 && frequency_penalty == 0.0;
  }
};

struct GenerateRequest {
  std::string prompt;              // rendered prompt text (the runner renders chat messages)
  std::vector<int32_t> prompt_ids; // alternatively, token ids (used when non-empty)
  SamplingParams sampling;
};

// Log-probabilities of one generated position (natural log, from the model's raw logits).
struct TokenLogprob {
  int32_t id = -1;
  float logprob = 0;
};
struct PositionLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // most likely first; SamplingParams::top_logprobs entries
};

// One generated token. `text` is the decoded text this token completes; it may be empty
// while a multi-byte character is incomplete or while text that could begin a stop string is
// held back. Text never includes matched stop strings. A last event with id -1 may carry
// text that was held back until the end.
struct TokenEvent {
  TokenEvent() = default;
  TokenEvent(int32_t token_id, std::string token_text) : id(token_id), text(std::move(token_text)) {}
  int32_t id = -1;
  std::string text;
  std::optional<PositionLogprobs> logprobs;  // when SamplingParams::logprobs
  std::vector<ToolDelta> tool_deltas;         // when a tool-call parser is attached
};
using TokenSink = std::function<void(const TokenEvent&)>;

struct GenerateResult {
  std::string finish_reason;   // "stop" (EOS or stop string), "length", "cancelled"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  std::vector<int32_t> token_ids;  // every generated id (a final EOS included)
  std::string text;                // the generated text (stop string cut off)
  std::vector<PositionLogprobs> logprobs;  // one per token_ids entry, when requested
  // content / reasoning / tool_calls from the tool-call parser; without one, content = text.
  ParseResult message;
  nlohmann::json timings = nlohmann::json::object();  // ttft_s, prefill_tok_s, decode_tok_s, ...
};

// ---------------------------------------------------------------------------------------
// Embeddings, images, transcription.

struct EmbedRequest {
  std::vector<std::string> inputs;
  bool normalize = true;
};
struct EmbedResult {
  int64_t dim = 0;
  std::vector<float> values;  // inputs.size() rows of dim floats, row-major
  int64_t prompt_tokens = 0;
};

struct ImageRequest {
  std::string prompt;
  std::string negative_prompt;
  int64_t width = 512, height = 512;
  int64_t steps = 20;
  double guidance = 7.5;
  std::optional<uint64_t> seed;
};
struct ImageResult {
  std::string format;  // "png" or "rgb8" (raw rows of RGB bytes)
  int64_t width = 0, height = 0;
  std::vector<uint8_t> data;
};
// Image progress: step i of n (streamed to clients as progress chunks).
using StepFn = std::function<void(int64_t step, int64_t steps)>;

struct TranscriptionRequest {
  std::vector<float> samples;  // mono PCM in [-1, 1]
  int64_t sample_rate = 16000;
  std::string language;        // "" = detect
  std::string prompt;          // optional initial prompt
};
struct TranscriptionSegment {
  double start_s = 0, end_s = 0;
  std::string text;
};
using SegmentSink = std::function<void(const TranscriptionSegment&)>;
struct TranscriptionResult {
  std::string text;
  std::string language;
  std::vector<TranscriptionSegment> segments;
};

// ---------------------------------------------------------------------------------------
// The model object. A runner may call it from several threads at once (one job per thread)
// when its configuration asks for more than one slot; a plugin that cannot serve concurrent
// jobs serializes internally. Errors are thrown as kiln::Error. Methods for capabilities the
// model does not report throw.
class Model {
 public:
  virtual ~Model() = default;

  virtual uint32_t capabilities() const = 0;  // ModelCapability bits
  // Architecture, context length, vocabulary size, dims, default tool parser
  // ("tool_parser": "hermes" ...), bytes resident ("memory_bytes") and anything useful.
  virtual nlohmann::json metadata() const = 0;

  // Compile every kernel shape later jobs will need; reports kernels_compiled.
  virtual void warmup(const ProgressFn& progress) { (void)progress; }

  // Chat: renders OpenAI-style messages (and tools, a JSON array of {"type":"function",...})
  // with the model's chat template into a prompt for generate().
  virtual std::string render_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                                  bool add_generation_prompt) const;

  virtual GenerateResult generate(const GenerateRequest& request, const TokenSink& on_token,
                                  const CancelFlag& cancel);
  virtual std::vector<int32_t> tokenize(const std::string& text, bool add_special) const;
  virtual std::string detokenize(const std::vector<int32_t>& ids) const;
  virtual EmbedResult embed(const EmbedRequest& request, const CancelFlag& cancel);
  virtual ImageResult generate_image(const ImageRequest& request, const StepFn& on_step,
                                     const CancelFlag& cancel);
  virtual TranscriptionResult transcribe(const TranscriptionRequest& request,
                                         const SegmentSink& on_segment,
                                         const CancelFlag& cancel);
};

// ---------------------------------------------------------------------------------------
// The factory a model plugin's descriptor points to.

enum ModelFactoryFlags : uint32_t {
  KILN_MODEL_NEEDS_DEVICE = 1u << 0,  // refuses device "none"
};

struct ModelFactory {
  uint32_t struct_size;  // sizeof(ModelFactory) as the plugin knows it
  uint32_t flags;        // ModelFactoryFlags
  // How well this plugin handles the probed model: 0 = not at all, higher = better (a plugin
  // written for exactly this architecture returns more than a generic one). Never throws.
  int (*claims)(const ModelProbe& probe);
  // Loads the model; throws kiln::Error naming the file/field on bad input.
  Model* (*create)(const ModelLoadOptions& options);
  void (*destroy)(Model* model);
};

// Builds a ModelProbe for `path`: ModelSource::open for model folders and weight files, the
// parsed content of other .json files (small model descriptions such as the test model's).
// Throws kiln::Error naming the file when the path does not exist or cannot be read.
ModelProbe probe_model(const std::string& path);

}  // namespace kiln
