// The only place in core that includes Boost.DLL.
#include <boost/dll/import.hpp>
#include <boost/dll/shared_library.hpp>
#include <dlfcn.h>

#include <filesystem>

#include "kiln/device.h"
#include "kiln/error.h"
#include "kiln/kernel_ir.h"
#include "kiln/plugin_loader.h"

#include "kiln/model.h"
#include "kiln/toolparser.h"

namespace kiln {

const char* plugin_kind_name(kiln_plugin_kind kind) {
  switch (kind) {
    case KILN_PLUGIN_DEVICE: return "device";
    case KILN_PLUGIN_MODEL: return "model";
    case KILN_PLUGIN_TOOLPARSER: return "toolparser";
  }
  return "unknown";
}

uint32_t expected_contract_version(kiln_plugin_kind kind) {
  switch (kind) {
    case KILN_PLUGIN_DEVICE: return KILN_DEVICE_ABI_VERSION;
    case KILN_PLUGIN_MODEL: return KILN_MODEL_API_VERSION;
    case KILN_PLUGIN_TOOLPARSER: return KILN_TOOLPARSER_API_VERSION;
    default: break;
  }
  throw Error(std::string("no contract is defined yet for plugin kind ") +
              plugin_kind_name(kind));
}

PluginHandle load_plugin(const std::string& path, kiln_plugin_kind expected_kind,
                         uint32_t expected_contract) {
  return load_plugin_checked(path, &expected_kind, &expected_contract);
}

PluginHandle inspect_plugin(const std::string& path) {
  return load_plugin_checked(path, nullptr, nullptr);
}

PluginHandle load_plugin_checked(const std::string& path, const kiln_plugin_kind* want_kind,
                                 const uint32_t* want_contract) {
  const std::string where = "plugin " + path + ": ";
  if (!std::filesystem::exists(path)) throw Error(where + "file not found");

  auto library = std::make_shared<boost::dll::shared_library>();
  boost::system::error_code ec;
  // Resolve everything now so a plugin with a missing symbol fails here, not mid-job.
  dlerror();
  library->load(boost::dll::fs::path(path), ec, boost::dll::load_mode::rtld_now |
                                                    boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* dl = dlerror();
    throw Error(where + "cannot be loaded: " + (dl ? std::string(dl) : ec.message()));
  }
  if (!library->has(KILN_PLUGIN_ENTRY_SYMBOL)) {
    throw Error(where + "does not export the entry symbol '" KILN_PLUGIN_ENTRY_SYMBOL
                        "' (is it a Kiln plugin? use KILN_DECLARE_PLUGIN)");
  }
  auto entry = boost::dll::import_alias<const kiln_plugin_descriptor*()>(*library,
                                                                          KILN_PLUGIN_ENTRY_SYMBOL);
  const kiln_plugin_descriptor* desc = entry();
  if (desc == nullptr) throw Error(where + "entry returned no descriptor");
  if (desc->descriptor_version != KILN_PLUGIN_DESCRIPTOR_VERSION) {
    throw Error(where + "descriptor version " + std::to_string(desc->descriptor_version) +
                ", this Kiln reads version " + std::to_string(KILN_PLUGIN_DESCRIPTOR_VERSION));
  }
  const std::string name = desc->name ? desc->name : "";
  if (name.empty()) throw Error(where + "descriptor has no name");
  auto kind = static_cast<kiln_plugin_kind>(desc->kind);
  if (kind != KILN_PLUGIN_DEVICE && kind != KILN_PLUGIN_MODEL && kind != KILN_PLUGIN_TOOLPARSER) {
    throw Error(where + "descriptor declares unknown plugin kind " + std::to_string(desc->kind));
  }
  const kiln_plugin_kind expected_kind = want_kind ? *want_kind : kind;
  if (kind != expected_kind) {
    throw Error(where + "is a " + plugin_kind_name(kind) + " plugin ('" + name +
                "'), expected a " + plugin_kind_name(expected_kind) + " plugin");
  }
  uint32_t expected_contract = 0;
  if (want_contract) {
    expected_contract = *want_contract;
  } else {
    try {
      expected_contract = expected_contract_version(kind);
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
  }
  if (desc->contract_version != expected_contract) {
    throw Error(where + plugin_kind_name(kind) + " plugin '" + name + "' implements contract " +
                "version " + std::to_string(desc->contract_version) + ", this Kiln needs " +
                std::to_string(expected_contract));
  }
  if (kind == KILN_PLUGIN_DEVICE && desc->kernel_ir_version != KILN_IR_VERSION) {
    throw Error(where + "device plugin '" + name + "' renders kernel IR version " +
                std::to_string(desc->kernel_ir_version) + ", this Kiln emits version " +
                std::to_string(KILN_IR_VERSION));
  }
  if (desc->api == nullptr) throw Error(where + "descriptor has no api table");

  PluginHandle handle;
  handle.library_ = std::static_pointer_cast<void>(library);
  handle.desc_ = desc;
  handle.path_ = path;
  handle.name_ = name;
  return handle;
}

}  // namespace kiln
