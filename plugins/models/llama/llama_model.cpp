#include "llama_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "kiln/chat_template.h"
#include "kiln/device_runtime.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "kiln/generate.h"
#include "kiln/llm_config.h"

namespace kiln::llama {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

Device* open_device(const ModelLoadOptions& o) {
  if (!o.device) return Device::default_device();
  return Device::get(o.device.path() + ":" + std::to_string(o.device_index));
}

std::unique_ptr<Tokenizer> open_tokenizer(const ModelSource& s) {
  namespace fs = std::filesystem;
  if (!s.folder().empty() && (fs::exists(s.folder() / "tokenizer.json") || fs::exists(s.folder() / "tokenizer.model")))
    return load_tokenizer(s.folder());
  if (const gguf::File* g = s.gguf(); g && g->has("tokenizer.ggml.model")) return load_tokenizer(g->path());
  return nullptr;  // a model without a tokenizer still runs on token ids
}

}  // namespace

LlamaModel::LlamaModel(const ModelLoadOptions& o) {
  auto t0 = Clock::now();
  source_ = o.source ? o.source : std::make_shared<const ModelSource>(ModelSource::open(o.path));
  LMOptions lo;
  lo.device = open_device(o);
  lo.context = o.context;
  auto has = [&](const char* key) { return o.options.is_object() && o.options.contains(key); };
  if (has("prefill_chunk")) {
    if (!o.options["prefill_chunk"].is_number_integer() || o.options["prefill_chunk"].get<int64_t>() < 2)
      throw Error("llama: option prefill_chunk = " + o.options["prefill_chunk"].dump() + " must be an integer >= 2");
    lo.prefill_chunk = o.options["prefill_chunk"];
  } else if (const char* e = env::value("KILN_LLAMA_PREFILL_CHUNK")) {
    // a tuning knob for benchmarks (configurations use options.prefill_chunk)
    const int64_t n = std::atoll(e);
    if (n < 2) throw Error(std::string("llama: KILN_LLAMA_PREFILL_CHUNK = '") + e + "' must be an integer >= 2");
    lo.prefill_chunk = n;
  }
  if (has("half_activations")) {
    if (!o.options["half_activations"].is_boolean())
      throw Error("llama: option half_activations = " + o.options["half_activations"].dump() +
                  " must be true or false");
    lo.half_activations = o.options["half_activations"];
  }
  if (o.progress) o.progress(LoadProgress{"reading", 0, source_->tensors().total_bytes(), 0, 0});
  lm_ = std::make_unique<LlamaLM>(*source_, lo);
  try {
    tokenizer_ = open_tokenizer(*source_);
  } catch (const Error& e) {
    // the weights still serve token ids; metadata says why there is no text interface
    tokenizer_error_ = e.what();
  }
  eos_ids_ = generation_stop_ids(*source_, tokenizer_.get());
  load_s_ = seconds_since(t0);
  if (o.progress) o.progress(LoadProgress{"reading", source_->tensors().total_bytes(), source_->tensors().total_bytes(), 0, 0});
}

uint32_t LlamaModel::capabilities() const {
  uint32_t caps = KILN_CAP_GENERATE | KILN_CAP_EMBED;
  if (tokenizer_) caps |= KILN_CAP_TOKENIZE;
  if (tokenizer_ && !tokenizer_->config().chat_template.empty()) caps |= KILN_CAP_CHAT;
  return caps;
}

json LlamaModel::metadata() const {
  const Hparams& h = lm_->hparams();
  json md = {{"architecture", h.architecture},
             {"context_length", lm_->context_length()},
             {"vocab_size", h.vocab},
             {"hidden_size", h.hidden},
             {"layers", h.layers},
             {"heads", h.heads},
             {"kv_heads", h.kv_heads},
             {"head_dim", h.head_dim},
             {"embedding_dim", h.hidden},
             {"eos_token_ids", eos_ids_},
             {"memory_bytes", lm_->weight_bytes() + lm_->cache_bytes()},
             {"decode_kernels", lm_->decode_kernels()},
             {"prefill_chunk", lm_->prefill_chunk()},
             {"load_s", load_s_}};
  if (tokenizer_ && !tokenizer_->config().chat_template.empty()) md["chat_template"] = tokenizer_->config().chat_template;
  if (!tokenizer_error_.empty()) md["tokenizer_error"] = tokenizer_error_;
  return md;
}

void LlamaModel::warmup(const ProgressFn& progress) {
  std::lock_guard lock(mutex_);
  auto before = runtime_stats();
  lm_->warmup();
  auto after = runtime_stats();
  if (progress) progress(LoadProgress{"warming", 0, 0, after.kernels_compiled - before.kernels_compiled, 0});
}

std::string LlamaModel::render_chat(const json& messages, const json& tools, bool add_generation_prompt) const {
  if (!tokenizer_ || tokenizer_->config().chat_template.empty())
    throw Error("llama: model " + source_->path().string() + " has no chat template");
  ChatTemplateOptions opt;
  opt.add_generation_prompt = add_generation_prompt;
  opt.bos_token = tokenizer_->config().bos_token;
  opt.eos_token = tokenizer_->config().eos_token;
  ChatTemplate t(tokenizer_->config().chat_template);
  return t.render(nlohmann::ordered_json::parse(messages.dump()),
                  tools.is_null() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(tools.dump()), opt);
}

std::vector<int32_t> LlamaModel::tokenize(const std::string& text, bool add_special) const {
  if (!tokenizer_)
    throw Error("llama: model " + source_->path().string() + " has no tokenizer" +
                (tokenizer_error_.empty() ? "" : " (" + tokenizer_error_ + ")"));
  return tokenizer_->encode(text, add_special);
}

std::string LlamaModel::detokenize(const std::vector<int32_t>& ids) const {
  if (!tokenizer_) throw Error("llama: model " + source_->path().string() + " has no tokenizer");
  return tokenizer_->decode(ids);
}

GenerateResult LlamaModel::generate(const GenerateRequest& req, const TokenSink& on_token, const CancelFlag& cancel) {
  std::lock_guard lock(mutex_);
  GenerateOptions opt;
  opt.tokenizer = tokenizer_.get();
  opt.eos_ids = eos_ids_;
  return kiln::generate(*lm_, req, opt, on_token, &cancel);
}

EmbedResult LlamaModel::embed(const EmbedRequest& req, const CancelFlag& cancel) {
  std::lock_guard lock(mutex_);
  EmbedResult res;
  res.dim = lm_->hparams().hidden;
  for (const std::string& text : req.inputs) {
    if (cancel) break;
    std::vector<int32_t> ids = tokenize(text, true);
    res.prompt_tokens += static_cast<int64_t>(ids.size());
    Tensor mean = Tensor::from_vector(lm_->mean_hidden(ids), {res.dim});
    if (req.normalize) mean = mean / (mean * mean).sum().sqrt().maximum(mean.scalar_like(1e-12));
    std::vector<float> v = mean.to_vector<float>();
    res.values.insert(res.values.end(), v.begin(), v.end());
  }
  return res;
}

}  // namespace kiln::llama
