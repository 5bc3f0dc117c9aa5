// The model a runner hosts: the model plugin (named or auto-detected by claims()), the device
// plugin it runs on (or none), and the kiln::Model the factory created.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kiln/model.h"
#include "kiln/supervisor/config.h"

namespace kiln::runner {

class ModelHost {
 public:
  // Loads everything; throws kiln::Error naming the plugin, device or file on failure.
  ModelHost(const supervisor::ModelConfig& cfg, const std::vector<std::string>& plugin_paths,
            const ProgressFn& progress);
  ~ModelHost();
  ModelHost(const ModelHost&) = delete;
  ModelHost& operator=(const ModelHost&) = delete;

  Model& model() { return *model_; }
  // Model::warmup, with plugin exceptions turned into kiln::Error (see model_host.cpp).
  void warmup(const ProgressFn& progress);
  const nlohmann::json& metadata() const { return metadata_; }
  uint32_t capabilities() const { return capabilities_; }
  const std::string& plugin_name() const { return plugin_.name(); }
  // The tool parser to use: the configured one, or for "auto" the model's own suggestion.
  const std::string& tool_parser() const { return tool_parser_; }
  const supervisor::ModelConfig& config() const { return cfg_; }
  const std::vector<std::string>& plugin_paths() const { return plugin_paths_; }

 private:
  supervisor::ModelConfig cfg_;
  std::vector<std::string> plugin_paths_;
  PluginHandle plugin_;
  PluginHandle device_;
  const ModelFactory* factory_ = nullptr;
  Model* model_ = nullptr;
  nlohmann::json metadata_;
  uint32_t capabilities_ = 0;
  std::string tool_parser_;
};

// Capability bits as names ("generate", "embed", ...).
nlohmann::json capability_names(uint32_t caps);

}  // namespace kiln::runner
