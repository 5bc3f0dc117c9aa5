// kiln::MappedFile — a read-only view of a whole file's bytes, memory-mapped (or, for parsers
// fed from memory such as the fuzzers, an owned buffer). Readers hand out spans into it; keep
// the shared_ptr alive as long as any span is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace kiln {

class MappedFile {
 public:
  // Maps `path` read-only. Throws kiln::Error naming the file if it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  // Wraps bytes already in memory; `name` stands in for the path in error messages.
  static std::shared_ptr<const MappedFile> from_bytes(std::vector<std::byte> bytes,
                                                      std::string name);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  // The path (or the name given to from_bytes), for messages.
  const std::string& name() const { return name_; }
  // Drops the whole pages inside `range` (a span of this file's bytes) from this process's
  // resident memory (a mapped file only): once weights are copied to a device, the mapping need
  // not hold a second copy. The bytes stay readable; a later read faults them back in.
  void release_resident(std::span<const std::byte> range) const;

 private:
  MappedFile() = default;

  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // true: data_ came from mmap and is unmapped on destruction
  std::vector<std::byte> owned_;
  std::string name_;
};

}  // namespace kiln
