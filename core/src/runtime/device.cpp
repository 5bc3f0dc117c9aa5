#include <cstddef>
#include <cstdlib>
#include <map>
#include <mutex>

#include "kiln/device_runtime.h"
#include "kiln/env.h"
#include "kiln/error.h"
#include "kiln/plugin_loader.h"
#include "kiln/plugin_path.h"
#include "runtime/stats.h"

namespace kiln {

struct Device::Impl {
  PluginHandle plugin;
};

struct DeviceFactory {
  static Device* open(const std::string& plugin_path, const std::string& short_name, int index) {
    PluginHandle plugin = load_plugin(plugin_path, KILN_PLUGIN_DEVICE);
    auto* api = static_cast<const kiln_device_api*>(plugin.api());
    if (api->struct_size < KILN_DEVICE_API_V1_SIZE)
      throw Error("device plugin " + plugin_path + ": api table is older than this Kiln's");
    char err[1024] = {0};
    int count = api->device_count({err, sizeof err});
    if (count <= 0) {
      throw Error("device plugin " + plugin_path + " sees no device" +
                  (err[0] ? std::string(": ") + err : std::string()));
    }
    if (index < 0 || index >= count)
      throw Error("device plugin " + plugin_path + ": device index " + std::to_string(index) +
                  " out of range (it sees " + std::to_string(count) + ")");
    kiln_device* handle = nullptr;
    if (api->open(index, &handle, {err, sizeof err}) != KILN_OK)
      throw Error("device plugin " + plugin_path + ": cannot open device " +
                  std::to_string(index) + ": " + err);
    auto* d = new Device();
    d->impl_ = std::make_shared<Device::Impl>();
    d->impl_->plugin = plugin;
    d->api_ = api;
    d->handle_ = handle;
    d->plugin_name_ = plugin.name();
    d->plugin_path_ = plugin_path;
    d->spec_ = short_name + ":" + std::to_string(index);
    d->caps_.struct_size = sizeof(kiln_device_caps);
    api->get_caps(handle, &d->caps_);
    return d;
  }
};

namespace {

std::mutex g_mu;
std::map<std::string, Device*>& devices() {
  static auto* m = new std::map<std::string, Device*>();  // devices live for the process
  return *m;
}

std::string plugin_for(const std::string& name) {
  if (name == "cpu") return "cpu_llvm";
  if (name == "cuda") return "cuda_ptx";
  if (name == "hip") return "hip";
  throw Error("unknown device '" + name + "' (expected cpu, cuda, hip, auto or a plugin path)");
}

Device* open_cached(const std::string& path, const std::string& short_name, int index) {
  std::string key = path + "#" + std::to_string(index);
  auto& m = devices();
  auto it = m.find(key);
  if (it != m.end()) return it->second;
  Device* d = DeviceFactory::open(path, short_name, index);
  m[key] = d;
  return d;
}

Device* open_named(const std::string& name, int index) {
  std::string plugin = plugin_for(name);
  auto path = find_plugin_file(plugin);
  if (!path) {
    std::string searched;
    for (const auto& d : plugin_search_path()) searched += " " + d;
    throw Error("device '" + name + "': plugin " + plugin + ".so not found (searched:" +
                searched + ")");
  }
  return open_cached(*path, name, index);
}

}  // namespace

Device* Device::get(const std::string& spec_in) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::string spec = spec_in;
  int index = 0;
  auto colon = spec.rfind(':');
  if (colon != std::string::npos) {
    std::string tail = spec.substr(colon + 1);
    bool digits = !tail.empty() && tail.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
      index = std::stoi(tail);
      spec = spec.substr(0, colon);
    }
  }
  if (spec.size() > 3 && spec.substr(spec.size() - 3) == ".so") {
    return open_cached(spec, spec, index);
  }
  if (spec == "auto") {
    for (const char* name : {"cuda", "hip"}) {
      try {
        return open_named(name, index);
      } catch (const Error&) {
      }
    }
    return open_named("cpu", index);
  }
  return open_named(spec, index);
}

Device* Device::default_device() {
  static Device* d = nullptr;
  if (d) return d;
  const char* name = env::value("KILN_DEVICE");
  d = get(name ? name : "cpu");
  return d;
}

Device::~Device() {
  if (handle_ && api_) api_->close(handle_);
}

std::string Device::compiler_id() const {
  const char* id = api_->compiler_id ? api_->compiler_id(handle_) : nullptr;
  return id ? id : plugin_name_;
}

void Device::synchronize() {
  char err[512] = {0};
  if (api_->synchronize(handle_, {err, sizeof err}) != KILN_OK)
    throw Error("device " + spec_ + ": synchronize failed: " + err);
}

bool Device::reads_async() const {
  return api_->struct_size >= offsetof(kiln_device_api, read_end) + sizeof(void*) && api_->read_begin != nullptr &&
         api_->read_end != nullptr;
}

RuntimeStats runtime_stats() { return detail::stats(); }
void reset_runtime_stats() { detail::stats() = RuntimeStats{}; }

}  // namespace kiln
