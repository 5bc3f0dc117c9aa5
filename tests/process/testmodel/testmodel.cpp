// testmodel.so — Kiln's deterministic test model plugin. A real model plugin (model.h,
// loaded by kiln-runner through the plugin loader like any other) whose outputs are fixed
// functions of its inputs, so the process architecture can be tested end to end without
// weights:
//   * tokens are bytes (0-255), EOS = 256, BOS = 257;
//   * generation answers "echo: <last user text>", byte by byte, then EOS (ignore_eos keeps
//     cycling the answer until max_tokens); a user message "call NAME rest" with a tool NAME
//     offered answers with a Hermes-style <tool_call> block instead;
//   * embeddings are unit vectors derived from an FNV-1a hash of the text;
//   * images are RGB gradients derived from the prompt; transcription describes the audio.
// Options (model file JSON or the config's `options:`): token_delay_ms, embedding_dim,
// load_delay_ms, load_lock (a file: loads hold an exclusive lock on it, so the replicas of a
// model load one after another), memory_bytes, context_length, tool_parser ("" = name none),
// chat_template (reported in the metadata only, for tool-parser detection).
// Built twice: testmodel.so, and testmodel_device.so (KILN_TESTMODEL_NEEDS_DEVICE), whose
// factory sets KILN_MODEL_NEEDS_DEVICE and so refuses device "none".
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/plugin.h"

namespace {

using kiln::Error;
using json = nlohmann::json;

constexpr int32_t kEos = 256;
constexpr int32_t kBos = 257;
constexpr const char* kArchitecture = "kiln_test_bytes";

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary.
size_t complete_utf8(const std::string& s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    return back >= len ? n : n - back;
  }
  return n;
}

std::string content_text(const json& content) {
  if (content.is_string()) return content;
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

class TestModel final : public kiln::Model {
 public:
  explicit TestModel(const kiln::ModelLoadOptions& o) : name_(o.name) {
    json cfg = o.config.is_object() ? o.config : json::object();
    if (o.options.is_object()) cfg.update(o.options);
    auto get_int = [&](const char* key, int64_t fallback, int64_t lo, int64_t hi) {
      if (!cfg.contains(key)) return fallback;
      if (!cfg[key].is_number_integer()) throw Error("testmodel '" + name_ + "': option " + key + " must be an integer");
      int64_t v = cfg[key];
      if (v < lo || v > hi) {
        throw Error("testmodel '" + name_ + "': option " + std::string(key) + " = " + std::to_string(v) +
                    " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
      }
      return v;
    };
    token_delay_ms_ = get_int("token_delay_ms", 0, 0, 60000);
    embedding_dim_ = get_int("embedding_dim", 64, 1, 1 << 22);
    memory_bytes_ = get_int("memory_bytes", 1 << 20, 0, int64_t{1} << 50);
    context_length_ = o.context > 0 ? o.context : get_int("context_length", 4096, 16, 1 << 24);
    tool_parser_ = cfg.contains("tool_parser") && cfg["tool_parser"].is_string() ? cfg["tool_parser"].get<std::string>() : "hermes";
    if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) chat_template_ = cfg["chat_template"];
    const int64_t load_delay_ms = get_int("load_delay_ms", 0, 0, 600000);

    // "Loading": read the model file (if any) and report bytes as they come.
    kiln::LoadProgress p;
    p.stage = "reading";
    if (!o.path.empty()) {
      std::ifstream in(o.path, std::ios::binary | std::ios::ate);
      if (!in) throw Error("testmodel '" + name_ + "': cannot read " + o.path);
      p.bytes_total = static_cast<uint64_t>(in.tellg());
      in.seekg(0);
      char buf[4096];
      while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        p.bytes_read += static_cast<uint64_t>(in.gcount());
        if (o.progress) o.progress(p);
      }
    }
    // A configurable pause stands in for slow weight reading so tests can observe Loading.
    int lock_fd = -1;
    if (cfg.contains("load_lock")) {
      if (!cfg["load_lock"].is_string()) throw Error("testmodel '" + name_ + "': option load_lock must be a path");
      const std::string lock = cfg["load_lock"];
      lock_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) throw Error("testmodel '" + name_ + "': cannot lock " + lock);
    }
    const int steps = load_delay_ms > 0 ? 10 : 0;
    for (int i = 0; i < steps; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(load_delay_ms / steps));
      if (o.progress) o.progress(p);
    }
    if (lock_fd >= 0) ::close(lock_fd);  // releases the lock
  }

  uint32_t capabilities() const override {
    return kiln::KILN_CAP_GENERATE | kiln::KILN_CAP_CHAT | kiln::KILN_CAP_EMBED | kiln::KILN_CAP_TOKENIZE |
           kiln::KILN_CAP_IMAGE | kiln::KILN_CAP_TRANSCRIBE;
  }

  json metadata() const override {
    json md = {{"architecture", kArchitecture}, {"vocab_size", 258},          {"bos_token_id", kBos},
               {"eos_token_id", kEos},          {"context_length", context_length_},
               {"embedding_dim", embedding_dim_}, {"memory_bytes", memory_bytes_},
               {"token_delay_ms", token_delay_ms_}};
    if (!tool_parser_.empty()) md["tool_parser"] = tool_parser_;
    if (!chat_template_.empty()) md["chat_template"] = chat_template_;
    return md;
  }

  void warmup(const kiln::ProgressFn& progress) override {
    kiln::CancelFlag never{false};
    kiln::GenerateRequest req;
    req.prompt = "warmup";
    req.sampling.max_tokens = 1;
    generate_bytes(req, [](const kiln::TokenEvent&) {}, never, 0);
    if (progress) progress(kiln::LoadProgress{"warming", 0, 0, 0, 0});
  }

  std::string render_chat(const json& messages, const json& tools, bool add_generation_prompt) const override {
    std::string out;
    if (tools.is_array() && !tools.empty()) {
      out += "<|tools|>\n";
      for (const auto& t : tools) {
        const json& fn = t.contains("function") ? t["function"] : t;
        if (!fn.is_object() || !fn.contains("name") || !fn["name"].is_string()) {
          throw Error("testmodel: each tool needs a function name");
        }
        out += fn["name"].get<std::string>() + "\n";
      }
    }
    for (const auto& m : messages) {
      out += "<|" + m["role"].get<std::string>() + "|>\n";
      if (m.contains("content")) out += content_text(m["content"]);
      out += "\n";
    }
    if (add_generation_prompt) out += "<|assistant|>\n";
    return out;
  }

  kiln::GenerateResult generate(const kiln::GenerateRequest& request, const kiln::TokenSink& on_token,
                                const kiln::CancelFlag& cancel) override {
    return generate_bytes(request, on_token, cancel, token_delay_ms_);
  }

  std::vector<int32_t> tokenize(const std::string& text, bool add_special) const override {
    std::vector<int32_t> ids;
    if (add_special) ids.push_back(kBos);
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }

  std::string detokenize(const std::vector<int32_t>& ids) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 0 || id > kBos) throw Error("testmodel: token id " + std::to_string(id) + " is outside 0..257");
      if (id < 256) out += static_cast<char>(id);
    }
    return out;
  }

  kiln::EmbedResult embed(const kiln::EmbedRequest& request, const kiln::CancelFlag& cancel) override {
    kiln::EmbedResult res;
    res.dim = embedding_dim_;
    res.values.reserve(request.inputs.size() * embedding_dim_);
    for (const auto& text : request.inputs) {
      if (cancel.load()) break;
      const uint64_t h = fnv1a(text);
      std::vector<float> v(embedding_dim_);
      double norm = 0;
      for (int64_t j = 0; j < embedding_dim_; ++j) {
        v[j] = static_cast<float>(std::sin(static_cast<double>((h >> (j % 48)) & 0xFFFF) * 0.001 + j * 0.37));
        norm += double(v[j]) * v[j];
      }
      norm = std::sqrt(norm);
      for (auto& x : v) {
        if (request.normalize && norm > 0) x = static_cast<float>(x / norm);
        res.values.push_back(x);
      }
      res.prompt_tokens += static_cast<int64_t>(text.size());
    }
    return res;
  }

  kiln::ImageResult generate_image(const kiln::ImageRequest& request, const kiln::StepFn& on_step,
                                   const kiln::CancelFlag& cancel) override {
    const uint64_t h = fnv1a(request.prompt, request.seed.value_or(0) + 1469598103934665603ull);
    for (int64_t s = 1; s <= request.steps && !cancel.load(); ++s) {
      if (token_delay_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(token_delay_ms_));
      if (on_step) on_step(s, request.steps);
    }
    kiln::ImageResult img;
    img.format = "rgb8";
    img.width = request.width;
    img.height = request.height;
    img.data.resize(static_cast<size_t>(request.width * request.height * 3));
    for (int64_t y = 0; y < request.height; ++y) {
      for (int64_t x = 0; x < request.width; ++x) {
        uint8_t* px = &img.data[static_cast<size_t>((y * request.width + x) * 3)];
        px[0] = static_cast<uint8_t>(x + h);
        px[1] = static_cast<uint8_t>(y + (h >> 8));
        px[2] = static_cast<uint8_t>(x ^ y ^ (h >> 16));
      }
    }
    return img;
  }

  kiln::TranscriptionResult transcribe(const kiln::TranscriptionRequest& request, const kiln::SegmentSink& on_segment,
                                       const kiln::CancelFlag& cancel) override {
    kiln::TranscriptionResult res;
    res.language = request.language.empty() ? "und" : request.language;
    const size_t per = static_cast<size_t>(request.sample_rate);
    for (size_t start = 0, k = 0; start < request.samples.size() && !cancel.load(); start += per, ++k) {
      size_t end = std::min(request.samples.size(), start + per);
      double energy = 0;
      for (size_t i = start; i < end; ++i) energy += double(request.samples[i]) * request.samples[i];
      char text[96];
      std::snprintf(text, sizeof text, "segment %zu: %zu samples, rms %.3f", k, end - start,
                    std::sqrt(energy / double(end - start)));
      kiln::TranscriptionSegment seg{double(start) / per, double(end) / per, text};
      if (token_delay_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(token_delay_ms_));
      if (on_segment) on_segment(seg);
      res.text += (res.text.empty() ? "" : " ") + seg.text;
      res.segments.push_back(std::move(seg));
    }
    return res;
  }

 private:
  // The answer to a prompt: "echo: <user text>" or a tool call.
  static std::string answer_for(const std::string& prompt) {
    std::string user = prompt;
    auto u = prompt.rfind("<|user|>\n");
    if (u != std::string::npos) {
      user = prompt.substr(u + 9);
      user = user.substr(0, user.find('\n'));
    }
    std::vector<std::string> tools;
    if (prompt.rfind("<|tools|>\n", 0) == 0) {
      size_t pos = 10;
      while (pos < prompt.size() && prompt.compare(pos, 2, "<|") != 0) {
        size_t nl = prompt.find('\n', pos);
        if (nl == std::string::npos) break;
        tools.push_back(prompt.substr(pos, nl - pos));
        pos = nl + 1;
      }
    }
    if (user.rfind("call ", 0) == 0) {
      std::string rest = user.substr(5);
      std::string name = rest.substr(0, rest.find(' '));
      std::string arg = rest.size() > name.size() ? rest.substr(name.size() + 1) : "";
      for (const auto& t : tools) {
        if (t == name) {
          return "<tool_call>\n" + json{{"name", name}, {"arguments", {{"text", arg}}}}.dump() + "\n</tool_call>";
        }
      }
    }
    return "echo: " + user;
  }

  kiln::GenerateResult generate_bytes(const kiln::GenerateRequest& request, const kiln::TokenSink& on_token,
                                      const kiln::CancelFlag& cancel, int64_t delay_ms) const {
    const auto t0 = std::chrono::steady_clock::now();
    std::string prompt = request.prompt;
    if (!request.prompt_ids.empty()) prompt = detokenize(request.prompt_ids);
    kiln::GenerateResult res;
    res.prompt_tokens = request.prompt_ids.empty() ? static_cast<int64_t>(prompt.size()) + 1
                                                   : static_cast<int64_t>(request.prompt_ids.size());
    if (res.prompt_tokens > context_length_) {
      throw Error("testmodel '" + name_ + "': prompt of " + std::to_string(res.prompt_tokens) +
                  " tokens exceeds the context of " + std::to_string(context_length_));
    }
    const std::string answer = answer_for(prompt);
    const auto& stops = request.sampling.stop;
    std::string text;     // everything generated so far
    size_t emitted = 0;   // bytes of `text` already handed out
    res.finish_reason = "length";
    bool stopped = false;
    auto emit_upto = [&](size_t end, int32_t id) {
      std::string piece = text.substr(emitted, end - emitted);
      emitted = end;
      on_token(kiln::TokenEvent{id, piece});
    };
    for (int64_t i = 0; i < request.sampling.max_tokens; ++i) {
      if (cancel.load()) {
        res.finish_reason = "cancelled";
        break;
      }
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      const size_t pos = static_cast<size_t>(i) % (answer.size() + 1);
      ++res.completion_tokens;
      if (pos == answer.size()) {
        if (!request.sampling.ignore_eos) {
          res.finish_reason = "stop";
          break;
        }
        on_token(kiln::TokenEvent{kEos, ""});
        continue;
      }
      const unsigned char byte = static_cast<unsigned char>(answer[pos]);
      text += static_cast<char>(byte);
      // A stop string ends generation before it; text that might begin one is held back.
      size_t hit = std::string::npos;
      for (const auto& s : stops) {
        if (s.empty()) continue;
        size_t f = text.find(s, emitted > s.size() ? emitted - s.size() : 0);
        if (f != std::string::npos) hit = std::min(hit, f);
      }
      if (hit != std::string::npos) {
        if (hit > emitted) emit_upto(hit, byte);
        res.finish_reason = "stop";
        stopped = true;
        break;
      }
      size_t safe = complete_utf8(text);
      for (const auto& s : stops) {
        for (size_t k = std::min(s.size() - 1, text.size()); k > 0; --k) {
          if (text.compare(text.size() - k, k, s, 0, k) == 0) {
            safe = std::min(safe, text.size() - k);
            break;
          }
        }
      }
      if (safe > emitted) {
        emit_upto(safe, byte);
      } else {
        on_token(kiln::TokenEvent{byte, ""});
      }
    }
    // Text held back for a stop string that never came is still part of the answer.
    if (!stopped && res.finish_reason != "cancelled" && emitted < text.size()) emit_upto(text.size(), -1);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    res.timings = {{"total_ms", ms}, {"tokens_per_s", ms > 0 ? res.completion_tokens * 1000.0 / ms : 0.0}};
    return res;
  }

  std::string name_;
  int64_t token_delay_ms_ = 0;
  int64_t embedding_dim_ = 64;
  int64_t memory_bytes_ = 0;
  int64_t context_length_ = 4096;
  std::string tool_parser_;
  std::string chat_template_;  // only reported (tool-parser detection); rendering is fixed
};

int claims(const kiln::ModelProbe& probe) {
  for (const auto& a : probe.architectures)
    if (a == kArchitecture) return 100;
  return 0;
}

kiln::Model* create(const kiln::ModelLoadOptions& options) { return new TestModel(options); }
void destroy(kiln::Model* model) { delete model; }

#ifdef KILN_TESTMODEL_NEEDS_DEVICE
constexpr uint32_t kFlags = kiln::KILN_MODEL_NEEDS_DEVICE;
constexpr const char* kName = "testmodel_device";
#else
constexpr uint32_t kFlags = 0;
constexpr const char* kName = "testmodel";
#endif

const kiln::ModelFactory kFactory = {sizeof(kiln::ModelFactory), kFlags, &claims, &create, &destroy};

const kiln_plugin_descriptor kDescriptor = {
    KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_MODEL, kName, "1.0 (deterministic test model)",
    KILN_MODEL_API_VERSION,         0,                 &kFactory,
};

const kiln_plugin_descriptor* entry() { return &kDescriptor; }

}  // namespace

KILN_DECLARE_PLUGIN(entry);
