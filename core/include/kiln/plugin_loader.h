// Loading plugin .so files (Boost.DLL underneath) with the checks every kind shares: the file
// opens, it exports the entry, the descriptor is of the expected kind and contract version.
// Each refusal is a kiln::Error whose message names the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/plugin.h"

namespace kiln {

// A loaded plugin; the library stays mapped as long as any copy of the handle lives.
class PluginHandle {
 public:
  PluginHandle() = default;
  const kiln_plugin_descriptor& descriptor() const { return *desc_; }
  const std::string& path() const { return path_; }
  const std::string& name() const { return name_; }
  kiln_plugin_kind kind() const { return static_cast<kiln_plugin_kind>(desc_->kind); }
  const void* api() const { return desc_->api; }
  explicit operator bool() const { return desc_ != nullptr; }

 private:
  friend PluginHandle load_plugin_checked(const std::string&, const kiln_plugin_kind*,
                                          const uint32_t*);
  std::shared_ptr<void> library_;  // keeps the .so mapped
  const kiln_plugin_descriptor* desc_ = nullptr;
  std::string path_;
  std::string name_;
};

const char* plugin_kind_name(kiln_plugin_kind kind);

// Loads `path` and checks its descriptor: kind must be `expected_kind`, contract_version must
// equal `expected_contract`. Device plugins must also render KILN_IR_VERSION.
PluginHandle load_plugin(const std::string& path, kiln_plugin_kind expected_kind,
                         uint32_t expected_contract);

// The contract version this build of Kiln expects for each kind.
uint32_t expected_contract_version(kiln_plugin_kind kind);

// Loads with the expected contract of that kind.
inline PluginHandle load_plugin(const std::string& path, kiln_plugin_kind expected_kind) {
  return load_plugin(path, expected_kind, expected_contract_version(expected_kind));
}

// Loads a plugin of any kind, checking its contract against the one this Kiln expects for
// the kind its descriptor declares (what `kiln plugins` and discovery use).
PluginHandle inspect_plugin(const std::string& path);

// Shared implementation: null pointers mean "take it from the descriptor".
PluginHandle load_plugin_checked(const std::string& path, const kiln_plugin_kind* expected_kind,
                                 const uint32_t* expected_contract);

}  // namespace kiln
