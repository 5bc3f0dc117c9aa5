// kiln::ModelSource — the generic view of a model on disk that core hands to model plugins:
// the JSON trees of its config files, GGUF metadata, and one TensorIndex over every weight
// file. Core knows no architecture: plugins read architectures() and claim what they handle,
// then parse their own config.
//
// PATH may be
//   * a folder (Hugging Face / diffusers layout): config.json, generation_config.json,
//     tokenizer_config.json, model_index.json (+ a few other *_config.json) are read; weights
//     are the *.safetensors.index.json shards, else model.safetensors /
//     diffusion_pytorch_model.safetensors, else every *.safetensors, else the folder's GGUF
//     file (or its split set); a diffusers model_index.json makes each listed subfolder a
//     component;
//   * a .safetensors file, a *.safetensors.index.json file, or a .gguf file (a split GGUF
//     "NAME-00001-of-0000N.gguf" brings its siblings).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/gguf.h"
#include "kiln/safetensors.h"
#include "kiln/tensor_index.h"

namespace kiln {

class ModelSource {
 public:
  struct Options {
    // Weight variant as transformers/diffusers name it: "fp16" selects model.fp16.safetensors
    // and model.safetensors.index.fp16.json. Empty: the plain files.
    std::string variant;
  };

  static ModelSource open(const std::filesystem::path& path, const Options& options);
  static ModelSource open(const std::filesystem::path& path) { return open(path, Options{}); }

  const std::filesystem::path& path() const { return path_; }
  // The folder whose config files were read (empty when PATH was a lone .safetensors/.gguf).
  const std::filesystem::path& folder() const { return folder_; }

  // Config files; a null json when the file is absent.
  const nlohmann::json& config() const { return json_or_null("config.json"); }
  const nlohmann::json& generation_config() const { return json_or_null("generation_config.json"); }
  const nlohmann::json& tokenizer_config() const { return json_or_null("tokenizer_config.json"); }
  const nlohmann::json& model_index() const { return json_or_null("model_index.json"); }
  // Any config file that was read, by file name; nullptr when absent.
  const nlohmann::json* json_file(std::string_view filename) const;
  const std::map<std::string, nlohmann::json, std::less<>>& json_files() const { return json_; }
  // Parses another JSON file of the folder (e.g. "tokenizer.json"); kiln::Error when missing
  // or malformed, naming the file.
  nlohmann::json read_json(std::string_view filename) const;

  // GGUF files in split order (empty for safetensors models); gguf() is the first, which
  // holds the metadata.
  const std::vector<gguf::File>& gguf_files() const { return gguf_; }
  const gguf::File* gguf() const { return gguf_.empty() ? nullptr : &gguf_.front(); }
  const std::vector<safetensors::File>& safetensors_files() const { return safetensors_; }

  const TensorIndex& tensors() const { return tensors_; }

  // Diffusers components (model_index.json entries with a subfolder), by name.
  const std::map<std::string, std::shared_ptr<const ModelSource>>& components() const { return components_; }
  const ModelSource* component(std::string_view name) const;

  // Names a model plugin may claim, most specific first, no duplicates: config.json
  // "architectures", its "model_type" and "_class_name" (diffusers), GGUF general.architecture,
  // model_index.json "_class_name".
  std::vector<std::string> architectures() const;

 private:
  ModelSource() = default;
  const nlohmann::json& json_or_null(std::string_view filename) const;
  void read_configs();
  void add_safetensors(safetensors::File file);
  void add_gguf(gguf::File file);
  void open_index(const std::filesystem::path& index_path);
  void open_gguf_set(const std::filesystem::path& first);
  void open_folder_weights(const Options& options);
  void open_components(const Options& options);

  std::filesystem::path path_;
  std::filesystem::path folder_;
  std::map<std::string, nlohmann::json, std::less<>> json_;
  std::vector<gguf::File> gguf_;
  std::vector<safetensors::File> safetensors_;
  TensorIndex tensors_;
  std::map<std::string, std::shared_ptr<const ModelSource>> components_;
};

}  // namespace kiln
