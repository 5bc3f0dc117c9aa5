// An in-process model for the CLI's generate/chat/embed commands: the device plugin for
// --device and the model plugin whose claims() scores the model highest, as the runner does.
#pragma once

#include <memory>
#include <string>

#include "kiln/model.h"

namespace kiln::cli {

class LocalModel {
 public:
  // device: auto | cpu | cuda | hip | a device plugin name. Throws kiln::Error naming the
  // model, the plugins tried or the device.
  LocalModel(const std::string& path, const std::string& device, int64_t context = 0);
  ~LocalModel();
  LocalModel(const LocalModel&) = delete;
  LocalModel& operator=(const LocalModel&) = delete;

  Model& model() { return *model_; }
  const std::string& plugin_name() const { return plugin_.name(); }
  double load_s() const { return load_s_; }

 private:
  PluginHandle plugin_, device_;
  const ModelFactory* factory_ = nullptr;
  Model* model_ = nullptr;
  double load_s_ = 0;
};

}  // namespace kiln::cli
