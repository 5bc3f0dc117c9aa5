#include "jobs.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "kiln/error.h"
#include "kiln/ipc/protocol.h"
#include "tool_calls.h"

namespace kiln::runner {

using ipc::ProtocolError;
namespace err = ipc::err;

namespace {

void need(const ModelHost& host, uint32_t cap, const char* what) {
  if (!(host.capabilities() & cap)) {
    throw ProtocolError(err::kUnsupported, "model '" + host.config().name + "' does not support " + what);
  }
}

SamplingParams sampling_from(const json& r) {
  SamplingParams s;
  s.max_tokens = ipc::opt_int(r, "max_tokens").value_or(s.max_tokens);
  if (s.max_tokens < 1) throw ProtocolError(err::kBadRequest, "field 'max_tokens' must be >= 1");
  s.temperature = ipc::opt_number(r, "temperature").value_or(s.temperature);
  s.top_k = ipc::opt_int(r, "top_k").value_or(s.top_k);
  s.top_p = ipc::opt_number(r, "top_p").value_or(s.top_p);
  s.min_p = ipc::opt_number(r, "min_p").value_or(s.min_p);
  s.repeat_penalty = ipc::opt_number(r, "repeat_penalty").value_or(s.repeat_penalty);
  s.presence_penalty = ipc::opt_number(r, "presence_penalty").value_or(s.presence_penalty);
  s.frequency_penalty = ipc::opt_number(r, "frequency_penalty").value_or(s.frequency_penalty);
  if (auto seed = ipc::opt_int(r, "seed")) s.seed = static_cast<uint64_t>(*seed);
  s.ignore_eos = ipc::opt_bool(r, "ignore_eos").value_or(false);
  if (s.temperature < 0 || s.top_p < 0 || s.top_p > 1 || s.min_p < 0 || s.min_p > 1 || s.top_k < 0 ||
      s.repeat_penalty <= 0 || std::abs(s.presence_penalty) > 2 || std::abs(s.frequency_penalty) > 2) {
    throw ProtocolError(err::kBadRequest, "sampling parameters out of range (temperature >= 0, top_k >= 0, "
                                          "0 <= top_p, min_p <= 1, repeat_penalty > 0, "
                                          "-2 <= presence_penalty, frequency_penalty <= 2)");
  }
  if (auto it = r.find("stop"); it != r.end() && !it->is_null()) {
    if (it->is_string()) {
      s.stop.push_back(*it);
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (!v.is_string()) throw ProtocolError(err::kBadRequest, "field 'stop' must hold strings");
        s.stop.push_back(v);
      }
    } else {
      throw ProtocolError(err::kBadRequest, "field 'stop' must be a string or a list of strings");
    }
  }
  return s;
}

std::vector<int32_t> ids_from(const json& r, const char* field) {
  auto it = r.find(field);
  if (it == r.end() || !it->is_array()) {
    throw ProtocolError(err::kBadRequest, std::string("field '") + field + "' must be a list of token ids");
  }
  std::vector<int32_t> ids;
  for (const auto& v : *it) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
      throw ProtocolError(err::kBadRequest, std::string("field '") + field + "' holds a value that is not a token id");
    }
    ids.push_back(v.get<int32_t>());
  }
  return ids;
}

void generate(ModelHost& host, JobContext& ctx, bool stream) {
  need(host, KILN_CAP_GENERATE, "text generation");
  const json& r = ctx.request;
  GenerateRequest req;
  req.sampling = sampling_from(r);
  json tools = json::array();
  if (auto t = r.find("tools"); t != r.end() && !t->is_null()) {
    if (!t->is_array()) throw ProtocolError(err::kBadRequest, "field 'tools' must be a list");
    tools = *t;
  }
  if (auto m = r.find("messages"); m != r.end() && !m->is_null()) {
    if (!m->is_array() || m->empty()) throw ProtocolError(err::kBadRequest, "field 'messages' must be a non-empty list");
    for (const auto& msg : *m) {
      if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string()) {
        throw ProtocolError(err::kBadRequest, "each message needs a string 'role'");
      }
    }
    need(host, KILN_CAP_CHAT, "chat messages");
    req.prompt = host.model().render_chat(*m, tools, true);
  } else if (r.contains("prompt_ids")) {
    req.prompt_ids = ids_from(r, "prompt_ids");
    if (req.prompt_ids.empty()) throw ProtocolError(err::kBadRequest, "field 'prompt_ids' is empty");
  } else if (auto p = ipc::opt_string(r, "prompt")) {
    req.prompt = *p;
  } else {
    throw ProtocolError(err::kBadRequest, "Predict needs 'messages', 'prompt' or 'prompt_ids'");
  }
  // Tool calls are parsed only when the request offers tools (as in OpenAI's API).
  ToolStreamOptions topt;
  topt.parser = tools.empty() ? "none" : host.tool_parser();
  topt.tools = tools;
  topt.prompt = req.prompt;
  topt.id_seed = req.sampling.seed.value_or(ctx.uid);
  topt.plugin_paths = host.plugin_paths();
  auto parser = make_tool_call_stream(topt);
  // A tool-call parser reads markup made of special tokens (<|python_tag|>, [TOOL_CALLS]).
  req.sampling.skip_special_tokens = topt.parser == "none";

  int64_t seq = 0;
  auto emit_delta = [&](const StreamDelta& d, const std::vector<int32_t>& ids) {
    if (!stream || (d.empty() && ids.empty())) return;
    json chunk = {{"type", "chunk"}, {"seq", seq++}, {"text", d.content}};
    if (!ids.empty()) chunk["token_ids"] = ids;
    if (!d.reasoning.empty()) chunk["reasoning"] = d.reasoning;
    if (!d.tool_calls.empty()) chunk["tool_calls"] = d.tool_calls;
    if (!d.problems.empty()) chunk["problems"] = d.problems;
    ctx.emit(chunk);
  };
  std::vector<int32_t> token_ids;
  auto on_token = [&](const TokenEvent& ev) {
    if (ev.id >= 0) token_ids.push_back(ev.id);
    emit_delta(parser->feed(ev.text), ev.id >= 0 ? std::vector<int32_t>{ev.id} : std::vector<int32_t>{});
  };
  GenerateResult res = host.model().generate(req, on_token, *ctx.cancel);
  if (ctx.cancel->load()) throw ProtocolError(err::kCancelled, "cancelled");
  emit_delta(parser->finish(), {});

  json result = parser->result();
  result["type"] = "result";
  result["token_ids"] = token_ids;
  result["finish_reason"] = result["tool_calls"].empty() ? res.finish_reason : "tool_calls";
  result["usage"] = {{"prompt_tokens", res.prompt_tokens}, {"completion_tokens", res.completion_tokens}};
  result["timings"] = res.timings;
  ctx.emit(result);
}

void embed(ModelHost& host, JobContext& ctx) {
  need(host, KILN_CAP_EMBED, "embeddings");
  EmbedRequest req;
  const json& in = ctx.request.contains("input") ? ctx.request["input"] : json();
  if (in.is_string()) {
    req.inputs.push_back(in);
  } else if (in.is_array() && !in.empty()) {
    for (const auto& v : in) {
      if (!v.is_string()) throw ProtocolError(err::kBadRequest, "field 'input' must hold strings");
      req.inputs.push_back(v);
    }
  } else {
    throw ProtocolError(err::kBadRequest, "Embedding needs 'input': a string or a non-empty list of strings");
  }
  req.normalize = ipc::opt_bool(ctx.request, "normalize").value_or(true);
  EmbedResult res = host.model().embed(req, *ctx.cancel);
  if (ctx.cancel->load()) throw ProtocolError(err::kCancelled, "cancelled");
  if (res.dim <= 0 || res.values.size() != static_cast<size_t>(res.dim) * req.inputs.size()) {
    throw Error("the model returned " + std::to_string(res.values.size()) + " values for " +
                std::to_string(req.inputs.size()) + " inputs of dimension " + std::to_string(res.dim));
  }
  std::vector<uint8_t> bytes(res.values.size() * sizeof(float));
  std::memcpy(bytes.data(), res.values.data(), bytes.size());  // little-endian hosts only
  ctx.emit({{"type", "result"}, {"dim", res.dim}, {"count", req.inputs.size()}, {"dtype", "f32"},
            {"embeddings", ctx.make_blob(std::move(bytes))},
            {"usage", {{"prompt_tokens", res.prompt_tokens}}}});
}

std::vector<float> samples_from(JobContext& ctx) {
  if (!ctx.request.contains("audio")) throw ProtocolError(err::kBadRequest, "missing field 'audio'");
  std::vector<uint8_t> bytes = ctx.read_blob(ctx.request["audio"]);
  std::string format = ipc::opt_string(ctx.request, "format").value_or("f32le");
  std::vector<float> samples;
  if (format == "f32le") {
    if (bytes.size() % 4) throw ProtocolError(err::kBadRequest, "f32le audio must be a multiple of 4 bytes");
    samples.resize(bytes.size() / 4);
    std::memcpy(samples.data(), bytes.data(), bytes.size());
  } else if (format == "s16le") {
    if (bytes.size() % 2) throw ProtocolError(err::kBadRequest, "s16le audio must be a multiple of 2 bytes");
    samples.resize(bytes.size() / 2);
    for (size_t i = 0; i < samples.size(); ++i) {
      int16_t v = static_cast<int16_t>(bytes[2 * i] | (bytes[2 * i + 1] << 8));
      samples[i] = v / 32768.0f;
    }
  } else {
    throw ProtocolError(err::kBadRequest, "field 'format' must be f32le or s16le, got '" + format + "'");
  }
  return samples;
}

void transcribe(ModelHost& host, JobContext& ctx, bool stream) {
  need(host, KILN_CAP_TRANSCRIBE, "audio transcription");
  TranscriptionRequest req;
  req.samples = samples_from(ctx);
  req.sample_rate = ipc::opt_int(ctx.request, "sample_rate").value_or(16000);
  if (req.sample_rate < 1000 || req.sample_rate > 384000) throw ProtocolError(err::kBadRequest, "field 'sample_rate' out of range");
  req.language = ipc::opt_string(ctx.request, "language").value_or("");
  req.prompt = ipc::opt_string(ctx.request, "prompt").value_or("");
  int64_t seq = 0;
  auto on_segment = [&](const TranscriptionSegment& s) {
    if (stream) ctx.emit({{"type", "chunk"}, {"seq", seq++}, {"segment", {{"start", s.start_s}, {"end", s.end_s}, {"text", s.text}}}});
  };
  TranscriptionResult res = host.model().transcribe(req, on_segment, *ctx.cancel);
  if (ctx.cancel->load()) throw ProtocolError(err::kCancelled, "cancelled");
  json segs = json::array();
  for (const auto& s : res.segments) segs.push_back({{"start", s.start_s}, {"end", s.end_s}, {"text", s.text}});
  ctx.emit({{"type", "result"}, {"text", res.text}, {"language", res.language}, {"segments", segs}});
}

void image(ModelHost& host, JobContext& ctx) {
  need(host, KILN_CAP_IMAGE, "image generation");
  const json& r = ctx.request;
  ImageRequest req;
  req.prompt = ipc::req_string(r, "prompt");
  req.negative_prompt = ipc::opt_string(r, "negative_prompt").value_or("");
  req.width = ipc::opt_int(r, "width").value_or(req.width);
  req.height = ipc::opt_int(r, "height").value_or(req.height);
  req.steps = ipc::opt_int(r, "steps").value_or(req.steps);
  req.guidance = ipc::opt_number(r, "guidance").value_or(req.guidance);
  if (auto seed = ipc::opt_int(r, "seed")) req.seed = static_cast<uint64_t>(*seed);
  if (req.width < 8 || req.width > 8192 || req.height < 8 || req.height > 8192 || req.steps < 1 || req.steps > 1000) {
    throw ProtocolError(err::kBadRequest, "width/height must be 8..8192 and steps 1..1000");
  }
  auto on_step = [&](int64_t step, int64_t steps) { ctx.emit({{"type", "progress"}, {"step", step}, {"steps", steps}}); };
  ImageResult res = host.model().generate_image(req, on_step, *ctx.cancel);
  if (ctx.cancel->load()) throw ProtocolError(err::kCancelled, "cancelled");
  ctx.emit({{"type", "result"}, {"format", res.format}, {"width", res.width}, {"height", res.height},
            {"image", ctx.make_blob(std::move(res.data))}});
}

void dispatch(ModelHost& host, JobContext& ctx) {
  auto kind = ipc::parse_job_kind(ctx.kind);
  if (!kind) throw ProtocolError(err::kUnknownKind, "unknown job kind '" + ctx.kind + "'");
  switch (*kind) {
    case ipc::JobKind::Predict: return generate(host, ctx, false);
    case ipc::JobKind::PredictStream: return generate(host, ctx, true);
    case ipc::JobKind::Embedding: return embed(host, ctx);
    case ipc::JobKind::Tokenize: {
      need(host, KILN_CAP_TOKENIZE, "tokenization");
      auto ids = host.model().tokenize(ipc::req_string(ctx.request, "text"),
                                       ipc::opt_bool(ctx.request, "add_special").value_or(true));
      return ctx.emit({{"type", "result"}, {"tokens", ids}});
    }
    case ipc::JobKind::Detokenize: {
      need(host, KILN_CAP_TOKENIZE, "detokenization");
      return ctx.emit({{"type", "result"}, {"text", host.model().detokenize(ids_from(ctx.request, "tokens"))}});
    }
    case ipc::JobKind::GenerateImage: return image(host, ctx);
    case ipc::JobKind::AudioTranscription: return transcribe(host, ctx, false);
    case ipc::JobKind::AudioTranscriptionStream: return transcribe(host, ctx, true);
    case ipc::JobKind::ModelMetadata:
      return ctx.emit({{"type", "result"}, {"metadata", host.metadata()},
                       {"capabilities", capability_names(host.capabilities())}});
    default:
      throw ProtocolError(err::kUnknownKind, "job kind '" + ctx.kind + "' does not run on a model");
  }
}

}  // namespace

void run_job(ModelHost& host, JobContext& ctx) {
  json terminal;
  try {
    dispatch(host, ctx);
    return;
  } catch (const ProtocolError& e) {
    terminal = ipc::make_error(nullptr, e.code(), e.what());
  } catch (const Error& e) {
    terminal = ipc::make_error(nullptr, ctx.cancel->load() ? err::kCancelled : err::kModelError, e.what());
  } catch (const std::exception& e) {
    terminal = ipc::make_error(nullptr, err::kInternal, std::string("runner: ") + e.what());
  }
  terminal.erase("id");
  ctx.emit(terminal);
}

}  // namespace kiln::runner
