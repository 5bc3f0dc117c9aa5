// kiln::TensorIndex — one table of every stored tensor of a model, across all its weight
// files (safetensors shards, GGUF splits). Entries point into the files' memory mappings:
// nothing is copied or read until a consumer touches `data`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/mapped_file.h"
#include "kiln/weight_type.h"

namespace kiln {

enum class WeightFormat { Safetensors, Gguf };
std::string_view weight_format_name(WeightFormat format);

struct TensorRef {
  std::string name;
  WeightType type = WeightType::F32;
  std::vector<int64_t> shape;  // row-major, outermost first (GGUF's ne reversed)
  uint64_t elements = 0;
  uint64_t nbytes = 0;
  WeightFormat format = WeightFormat::Safetensors;
  std::string file;            // path of the file holding the bytes
  uint64_t offset = 0;         // absolute byte offset in that file
  std::span<const std::byte> data;            // the bytes, inside `mapping`
  std::shared_ptr<const MappedFile> mapping;  // keeps `data` valid
};

class TensorIndex {
 public:
  // Adds one tensor; a second tensor of the same name is a kiln::Error naming both files.
  void add(TensorRef ref);

  const TensorRef* find(std::string_view name) const;
  // Throws kiln::Error naming the tensor when absent.
  const TensorRef& at(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  const std::vector<TensorRef>& all() const { return tensors_; }  // in the order added
  size_t size() const { return tensors_.size(); }
  bool empty() const { return tensors_.empty(); }
  std::vector<std::string> files() const;  // distinct files, in order of first use
  uint64_t total_bytes() const;

 private:
  std::vector<TensorRef> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
};

}  // namespace kiln
