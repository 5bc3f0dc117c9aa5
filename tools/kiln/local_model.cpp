#include "local_model.h"

#include <chrono>

#include "kiln/device.h"
#include "kiln/error.h"
#include "kiln/plugin_path.h"

namespace kiln::cli {

namespace {

const ModelFactory* factory_of(const PluginHandle& h) {
  auto* f = static_cast<const ModelFactory*>(h.api());
  if (f->struct_size < sizeof(ModelFactory) || !f->claims || !f->create || !f->destroy)
    throw Error("plugin " + h.path() + ": model factory table is incomplete");
  return f;
}

PluginHandle pick_model_plugin(const ModelProbe& probe) {
  PluginHandle best;
  int best_score = 0;
  std::string tried;
  for (const auto& rec : scan_plugins().accepted) {
    if (rec.kind != "model") continue;
    PluginHandle h = load_plugin(rec.path, KILN_PLUGIN_MODEL);
    int score = factory_of(h)->claims(probe);
    tried += (tried.empty() ? "" : ", ") + rec.name + "=" + std::to_string(score);
    if (score > best_score) {
      best = h;
      best_score = score;
    }
  }
  if (!best) throw Error("no model plugin claims " + probe.path + " (claims: " + (tried.empty() ? "none found" : tried) + ")");
  return best;
}

PluginHandle open_device(const std::string& device) {
  std::vector<std::string> names;
  if (device == "auto") names = {"cuda_ptx", "hip", "cpu_llvm"};
  else if (device == "cpu") names = {"cpu_llvm"};
  else if (device == "cuda") names = {"cuda_ptx"};
  else names = {device};
  std::string why;
  for (const auto& name : names) {
    try {
      PluginHandle h = load_plugin_by_name(name, KILN_PLUGIN_DEVICE);
      auto* api = static_cast<const kiln_device_api*>(h.api());
      char text[512] = {0};
      int count = api->device_count ? api->device_count(kiln_error_buf{text, sizeof text}) : 0;
      if (count > 0) return h;
      why += "\n  " + name + ": sees no device" + (text[0] ? std::string(": ") + text : "");
    } catch (const Error& e) {
      why += "\n  " + std::string(e.what());
    }
  }
  throw Error("--device " + device + " is not available:" + why);
}

}  // namespace

LocalModel::LocalModel(const std::string& path, const std::string& device, int64_t context) {
  auto t0 = std::chrono::steady_clock::now();
  ModelProbe probe = probe_model(path);
  plugin_ = pick_model_plugin(probe);
  factory_ = factory_of(plugin_);
  device_ = open_device(device);
  ModelLoadOptions o;
  o.name = path;
  o.path = path;
  o.source = probe.source;
  o.config = probe.config;
  o.device = device_;
  o.context = context;
  model_ = factory_->create(o);
  load_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

LocalModel::~LocalModel() {
  if (model_) factory_->destroy(model_);
}

}  // namespace kiln::cli
