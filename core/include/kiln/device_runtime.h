// kiln::Device — one opened device of a device plugin, with the C ABI wrapped in RAII and
// kiln::Error. Devices are process-wide singletons per (plugin, index).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/device.h"

namespace kiln {

class Device {
 public:
  // spec: "cpu" | "cuda" | "hip" with an optional ":INDEX", "auto" (CUDA when a GPU is seen,
  // else HIP, else CPU), or the path of a device plugin .so (optionally ":INDEX").
  static Device* get(const std::string& spec);
  // KILN_DEVICE from the environment, else "cpu".
  static Device* default_device();

  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& spec() const { return spec_; }  // canonical, e.g. "cpu:0"
  const std::string& plugin_name() const { return plugin_name_; }
  const std::string& plugin_path() const { return plugin_path_; }
  const kiln_device_caps& caps() const { return caps_; }
  const kiln_device_api& api() const { return *api_; }
  kiln_device* handle() const { return handle_; }
  std::string compiler_id() const;

  void synchronize();
  // The plugin queues read-backs without waiting (kiln_device_api::read_begin/read_end).
  bool reads_async() const;

 private:
  Device() = default;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::string spec_, plugin_name_, plugin_path_;
  const kiln_device_api* api_ = nullptr;
  kiln_device* handle_ = nullptr;
  kiln_device_caps caps_{};
  friend struct DeviceFactory;
};

// Counters the tests and benchmarks read (process-wide, monotonic).
struct RuntimeStats {
  uint64_t kernels_compiled = 0;     // device compile() calls
  uint64_t kernels_from_disk = 0;    // blobs loaded from the disk cache
  uint64_t kernels_launched = 0;
  uint64_t schedules_built = 0;      // graph -> kernel schedules
  uint64_t kernels_lowered = 0;      // kernel ASTs lowered to kernel IR
  uint64_t graphs_replayed = 0;      // JIT replays
};
RuntimeStats runtime_stats();
void reset_runtime_stats();

}  // namespace kiln

namespace kiln {
// BEAM search width for kernels compiled from now on (0 = off); overrides KILN_BEAM.
void set_beam_width(int n);
}  // namespace kiln
