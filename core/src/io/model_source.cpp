// ModelSource: finds a model's config files and weight files and indexes every tensor.
#include "kiln/model_source.h"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "io/json_file.h"
#include "kiln/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace kiln {

namespace {

// Config files read from a model folder when present (all small).
constexpr const char* kConfigFiles[] = {
    "config.json",          "generation_config.json",  "tokenizer_config.json",
    "model_index.json",     "special_tokens_map.json", "scheduler_config.json",
    "preprocessor_config.json",
};

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<fs::path> files_with_suffix(const fs::path& folder, std::string_view suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_regular_file(ec) && ends_with(entry.path().filename().string(), suffix))
      out.push_back(entry.path());
  if (ec) throw Error(folder.string() + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// transformers' _add_variant: "model.safetensors" + "fp16" -> "model.fp16.safetensors".
std::string with_variant(const std::string& name, const std::string& variant) {
  if (variant.empty()) return name;
  auto dot = name.rfind('.');
  return name.substr(0, dot) + "." + variant + name.substr(dot);
}

// "NAME-00001-of-00003.gguf" -> (NAME, 1, 3)
struct SplitName {
  std::string prefix;
  int index = 0, count = 0;
};
std::optional<SplitName> split_name(const fs::path& p) {
  static const std::regex kSplit(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
  std::smatch m;
  std::string name = p.filename().string();
  if (!std::regex_match(name, m, kSplit)) return std::nullopt;
  return SplitName{m[1].str(), std::stoi(m[2].str()), std::stoi(m[3].str())};
}

}  // namespace

ModelSource ModelSource::open(const fs::path& path, const Options& options) {
  ModelSource src;
  src.path_ = path;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(path.string() + ": no such file or folder");
  const std::string name = path.filename().string();
  if (fs::is_directory(status)) {
    src.folder_ = path;
    src.read_configs();
    if (src.model_index().is_object()) src.open_components(options);
    src.open_folder_weights(options);
  } else if (ends_with(name, ".safetensors.index.json") || (ends_with(name, ".json") && name.find(".safetensors.index") != std::string::npos)) {
    src.folder_ = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    src.read_configs();
    src.open_index(path);
  } else if (ends_with(name, ".safetensors")) {
    src.add_safetensors(safetensors::File::open(path));
  } else if (ends_with(name, ".gguf")) {
    src.open_gguf_set(path);
  } else {
    throw Error(path.string() + ": not a model: expected a folder, a .safetensors, a .gguf or a "
                "*.safetensors.index.json file");
  }
  return src;
}

void ModelSource::read_configs() {
  for (const char* file : kConfigFiles) {
    fs::path p = folder_ / file;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) json_.emplace(file, io::read_json_file(p));
  }
}

const json& ModelSource::json_or_null(std::string_view filename) const {
  static const json kNull;
  auto it = json_.find(filename);
  return it == json_.end() ? kNull : it->second;
}

const json* ModelSource::json_file(std::string_view filename) const {
  auto it = json_.find(filename);
  return it == json_.end() ? nullptr : &it->second;
}

json ModelSource::read_json(std::string_view filename) const {
  if (folder_.empty()) throw Error(path_.string() + ": a lone weight file has no " + std::string(filename));
  fs::path p = folder_ / std::string(filename);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw Error(p.string() + ": no such file");
  return io::read_json_file(p);
}

namespace {
// Every tensor of an opened weight file (safetensors or GGUF) as a TensorRef of `format`.
template <class WeightFile>
void index_tensors(const WeightFile& file, WeightFormat format, TensorIndex& into) {
  for (const auto& t : file.tensors()) {
    TensorRef ref;
    ref.name = t.name;
    ref.type = t.type;
    ref.shape = t.shape;
    ref.elements = t.elements;
    ref.nbytes = t.nbytes;
    ref.format = format;
    ref.file = file.path();
    ref.offset = t.file_offset;
    ref.data = t.data;
    ref.mapping = file.mapping();
    into.add(std::move(ref));
  }
}
}  // namespace

void ModelSource::add_safetensors(safetensors::File file) {
  index_tensors(file, WeightFormat::Safetensors, tensors_);
  safetensors_.push_back(std::move(file));
}

void ModelSource::add_gguf(gguf::File file) {
  index_tensors(file, WeightFormat::Gguf, tensors_);
  gguf_.push_back(std::move(file));
}

// A sharded checkpoint: {"metadata": {...}, "weight_map": {tensor: shard file}}. Every shard
// is indexed whole; each mapped tensor must be in the shard the map names.
void ModelSource::open_index(const fs::path& index_path) {
  json index = io::read_json_file(index_path);
  const std::string where = index_path.string();
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(where + ": no \"weight_map\" object");
  std::vector<std::string> shards;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) throw Error(where + ": weight_map entry '" + tensor + "' is not a file name");
    std::string f = file.get<std::string>();
    fs::path rel = fs::path(f).lexically_normal();
    if (f.empty() || rel.is_absolute() || rel.begin()->string() == "..")
      throw Error(where + ": weight_map entry '" + tensor + "' points outside the folder: '" + f + "'");
    if (std::find(shards.begin(), shards.end(), f) == shards.end()) shards.push_back(f);
  }
  std::sort(shards.begin(), shards.end());
  fs::path base = index_path.parent_path();
  for (const std::string& shard : shards) {
    fs::path p = base / shard;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) throw Error(where + ": shard '" + shard + "' is missing");
    add_safetensors(safetensors::File::open(p));
  }
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    const TensorRef* ref = tensors_.find(tensor);
    fs::path expected = base / file.get<std::string>();
    if (!ref || fs::path(ref->file) != expected)
      throw Error(where + ": weight_map puts '" + tensor + "' in " + file.get<std::string>() +
                  " but that file has no such tensor");
  }
}

// One GGUF file, or every file of its split set (NAME-0000i-of-0000N.gguf) in order.
void ModelSource::open_gguf_set(const fs::path& first) {
  auto split = split_name(first);
  if (!split) {
    add_gguf(gguf::File::open(first));
    return;
  }
  fs::path folder = first.parent_path();
  for (int i = 1; i <= split->count; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%05d-of-%05d.gguf", i, split->count);
    fs::path p = folder / (split->prefix + buf);
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      throw Error(first.string() + ": split GGUF part " + p.filename().string() + " is missing");
    gguf::File part = gguf::File::open(p);
    if (const auto* no = part.find("split.no"); no && no->is_integer() && no->as_uint() != uint64_t(i - 1))
      throw Error(p.string() + ": split.no is " + std::to_string(no->as_uint()) + ", expected " +
                  std::to_string(i - 1));
    if (const auto* n = part.find("split.count"); n && n->is_integer() && n->as_uint() != uint64_t(split->count))
      throw Error(p.string() + ": split.count is " + std::to_string(n->as_uint()) + ", the file name says " +
                  std::to_string(split->count));
    add_gguf(std::move(part));
  }
}

void ModelSource::open_folder_weights(const Options& options) {
  for (const char* base : {"model", "diffusion_pytorch_model"}) {
    fs::path index = folder_ / with_variant(std::string(base) + ".safetensors.index.json", options.variant);
    std::error_code ec;
    if (fs::is_regular_file(index, ec)) return open_index(index);
    fs::path single = folder_ / with_variant(std::string(base) + ".safetensors", options.variant);
    if (fs::is_regular_file(single, ec)) return add_safetensors(safetensors::File::open(single));
  }
  if (!options.variant.empty())
    throw Error(folder_.string() + ": no weights for variant '" + options.variant + "'");
  auto indexes = files_with_suffix(folder_, ".safetensors.index.json");
  if (indexes.size() == 1) return open_index(indexes.front());
  if (indexes.size() > 1)
    throw Error(folder_.string() + ": several *.safetensors.index.json files; point at one of them");
  auto singles = files_with_suffix(folder_, ".safetensors");
  if (!singles.empty()) {
    for (const auto& p : singles) add_safetensors(safetensors::File::open(p));
    return;
  }
  auto ggufs = files_with_suffix(folder_, ".gguf");
  if (ggufs.empty()) return;  // configs only (a tokenizer folder, a diffusers root)
  std::vector<fs::path> firsts;
  for (const auto& p : ggufs) {
    auto s = split_name(p);
    if (!s || s->index == 1) firsts.push_back(p);
  }
  if (firsts.size() != 1) {
    std::string names;
    for (const auto& p : ggufs) names += (names.empty() ? "" : ", ") + p.filename().string();
    throw Error(folder_.string() + ": several GGUF models (" + names + "); point at one of them");
  }
  open_gguf_set(firsts.front());
}

void ModelSource::open_components(const Options& options) {
  for (const auto& [name, value] : model_index().items()) {
    if (name.empty() || name[0] == '_' || !value.is_array() || value.size() != 2 || value[0].is_null())
      continue;
    fs::path sub = folder_ / name;
    std::error_code ec;
    if (!fs::is_directory(sub, ec)) continue;  // e.g. a component the repo leaves out
    components_.emplace(name, std::make_shared<const ModelSource>(open(sub, options)));
  }
}

const ModelSource* ModelSource::component(std::string_view name) const {
  auto it = components_.find(std::string(name));
  return it == components_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ModelSource::architectures() const {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  const json& cfg = config();
  if (cfg.is_object()) {
    if (auto it = cfg.find("architectures"); it != cfg.end() && it->is_array())
      for (const json& a : *it)
        if (a.is_string()) add(a.get<std::string>());
    if (auto it = cfg.find("model_type"); it != cfg.end() && it->is_string()) add(it->get<std::string>());
    // diffusers model configs name their class here
    if (auto it = cfg.find("_class_name"); it != cfg.end() && it->is_string()) add(it->get<std::string>());
  }
  if (const gguf::File* g = gguf()) add(g->architecture());
  const json& mi = model_index();
  if (mi.is_object())
    if (auto it = mi.find("_class_name"); it != mi.end() && it->is_string()) add(it->get<std::string>());
  return out;
}

}  // namespace kiln
