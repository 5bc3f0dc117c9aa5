#include "kiln/tensor_index.h"

#include <algorithm>

#include "kiln/error.h"

namespace kiln {

std::string_view weight_format_name(WeightFormat format) {
  return format == WeightFormat::Gguf ? "gguf" : "safetensors";
}

void TensorIndex::add(TensorRef ref) {
  auto it = by_name_.find(ref.name);
  if (it != by_name_.end()) {
    const TensorRef& first = tensors_[it->second];
    throw Error("tensor '" + ref.name + "' appears twice: in " + first.file +
                (first.file == ref.file ? " (twice)" : " and in " + ref.file));
  }
  by_name_.emplace(ref.name, tensors_.size());
  tensors_.push_back(std::move(ref));
}

const TensorRef* TensorIndex::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const TensorRef& TensorIndex::at(std::string_view name) const {
  const TensorRef* ref = find(name);
  if (!ref) {
    std::string where = tensors_.empty() ? std::string("the model has no tensors")
                                         : "looked in " + std::to_string(files().size()) + " file(s), first " + tensors_.front().file;
    throw Error("tensor '" + std::string(name) + "' not found (" + where + ")");
  }
  return *ref;
}

std::vector<std::string> TensorIndex::files() const {
  std::vector<std::string> out;
  for (const TensorRef& t : tensors_)
    if (out.empty() || (out.back() != t.file && std::find(out.begin(), out.end(), t.file) == out.end()))
      out.push_back(t.file);
  return out;
}

uint64_t TensorIndex::total_bytes() const {
  uint64_t total = 0;
  for (const TensorRef& t : tensors_) total += t.nbytes;
  return total;
}

}  // namespace kiln
