#include "model_host.h"

#include <spdlog/spdlog.h>

#include "kiln/device.h"
#include "kiln/error.h"
#include "kiln/plugin_path.h"
#include "tool_calls.h"

namespace kiln::runner {

namespace {

const ModelFactory* factory_of(const PluginHandle& h) {
  auto* f = static_cast<const ModelFactory*>(h.api());
  if (f->struct_size < sizeof(ModelFactory) || !f->claims || !f->create || !f->destroy) {
    throw Error("plugin " + h.path() + ": model factory table is incomplete (struct_size " +
                std::to_string(f->struct_size) + ", this Kiln needs " + std::to_string(sizeof(ModelFactory)) + ")");
  }
  return f;
}

// Auto-detection: every accepted model plugin's claims(); the highest score wins, a tie is
// an error (the configuration must then name the plugin).
PluginHandle pick_model_plugin(const ModelProbe& probe, const std::vector<std::string>& paths) {
  PluginScan scan = scan_plugins(paths);
  PluginHandle best;
  int best_score = 0;
  std::string tied, tried;
  for (const auto& rec : scan.accepted) {
    if (rec.kind != "model") continue;
    PluginHandle h = load_plugin(rec.path, KILN_PLUGIN_MODEL);
    int score = factory_of(h)->claims(probe);
    tried += (tried.empty() ? "" : ", ") + rec.name + "=" + std::to_string(score);
    if (score > best_score) {
      best = h;
      best_score = score;
      tied.clear();
    } else if (score > 0 && score == best_score) {
      tied = rec.name;
    }
  }
  if (!best) {
    std::string rejected;
    for (const auto& rec : scan.rejected) rejected += "\n  refused: " + rec.error;
    throw Error("no model plugin claims " + probe.path + " (claims: " + (tried.empty() ? "no model plugins found" : tried) +
                ")" + rejected);
  }
  if (!tied.empty()) {
    throw Error("model plugins '" + best.name() + "' and '" + tied + "' both claim " + probe.path +
                " equally; name one with `plugin:`");
  }
  return best;
}

PluginHandle open_device(const std::string& device, int index, const std::vector<std::string>& paths) {
  std::vector<std::string> names;
  if (device == "auto") names = {"cuda_ptx", "hip", "cpu_llvm"};
  else if (device == "cpu") names = {"cpu_llvm"};
  else if (device == "cuda") names = {"cuda_ptx"};
  else names = {device};
  std::string why;
  for (const auto& name : names) {
    try {
      PluginHandle h = load_plugin_by_name(name, KILN_PLUGIN_DEVICE, paths);
      auto* api = static_cast<const kiln_device_api*>(h.api());
      char text[512] = {0};
      int count = api->device_count ? api->device_count(kiln_error_buf{text, sizeof text}) : 0;
      if (count > index) return h;
      why += "\n  " + name + ": sees " + std::to_string(count) + " device(s)" + (text[0] ? std::string(": ") + text : "");
    } catch (const Error& e) {
      why += "\n  " + std::string(e.what());
    }
  }
  throw Error("device '" + device + "' index " + std::to_string(index) + " is not available:" + why);
}

}  // namespace

nlohmann::json capability_names(uint32_t caps) {
  nlohmann::json out = nlohmann::json::array();
  if (caps & KILN_CAP_GENERATE) out.push_back("generate");
  if (caps & KILN_CAP_CHAT) out.push_back("chat");
  if (caps & KILN_CAP_EMBED) out.push_back("embed");
  if (caps & KILN_CAP_TOKENIZE) out.push_back("tokenize");
  if (caps & KILN_CAP_IMAGE) out.push_back("image");
  if (caps & KILN_CAP_TRANSCRIBE) out.push_back("transcribe");
  return out;
}

ModelHost::ModelHost(const supervisor::ModelConfig& cfg, const std::vector<std::string>& plugin_paths,
                     const ProgressFn& progress)
    : cfg_(cfg), plugin_paths_(plugin_paths) {
  ModelProbe probe = probe_model(cfg.path);
  plugin_ = cfg.plugin == "auto" ? pick_model_plugin(probe, plugin_paths)
                                 : load_plugin_by_name(cfg.plugin, KILN_PLUGIN_MODEL, plugin_paths);
  factory_ = factory_of(plugin_);
  if (cfg.device == "none") {
    if (factory_->flags & KILN_MODEL_NEEDS_DEVICE) {
      throw Error("model plugin '" + plugin_.name() + "' needs a device; set device: auto, cpu, cuda or hip for model '" +
                  cfg.name + "'");
    }
  } else {
    device_ = open_device(cfg.device, cfg.device_index, plugin_paths);
  }
  spdlog::info("model '{}': plugin {} ({}), device {}", cfg.name, plugin_.name(), plugin_.path(),
               device_ ? device_.name() : std::string("none"));
  ModelLoadOptions opts;
  opts.name = cfg.name;
  opts.path = cfg.path;
  opts.source = probe.source;
  opts.config = probe.config;
  opts.device = device_;
  opts.device_index = cfg.device_index;
  opts.context = cfg.context;
  opts.dtype = cfg.dtype;
  opts.threads = cfg.threads;
  opts.options = cfg.options;
  opts.progress = progress;
  // An exception thrown inside the plugin must not outlive it: its code (what(), the
  // destructor) is unmapped when this constructor's unwinding unloads the plugin. It is
  // copied into a kiln::Error of our own while the plugin is still loaded.
  try {
    model_ = factory_->create(opts);
    if (!model_) throw Error("model plugin '" + plugin_.name() + "' created no model");
    capabilities_ = model_->capabilities();
    metadata_ = model_->metadata();
  } catch (const std::exception& e) {
    if (model_) factory_->destroy(model_);
    model_ = nullptr;
    throw Error(e.what());
  } catch (...) {
    if (model_) factory_->destroy(model_);
    model_ = nullptr;
    throw Error("model plugin '" + plugin_.name() + "' threw a non-standard exception while loading");
  }
  if (!metadata_.is_object()) metadata_ = nlohmann::json::object();
  metadata_["plugin"] = plugin_.name();
  metadata_["plugin_version"] = plugin_.descriptor().version ? plugin_.descriptor().version : "";
  metadata_["device"] = device_ ? device_.name() : "none";
  metadata_["capabilities"] = capability_names(capabilities_);
  tool_parser_ = cfg_.tool_parser == "auto" ? auto_tool_parser(metadata_) : cfg_.tool_parser;
  metadata_["tool_parser"] = tool_parser_;
}

void ModelHost::warmup(const ProgressFn& progress) {
  try {
    model_->warmup(progress);
  } catch (const std::exception& e) {
    throw Error(std::string("warmup: ") + e.what());  // see the constructor
  }
}

ModelHost::~ModelHost() {
  if (model_) factory_->destroy(model_);
}

}  // namespace kiln::runner
