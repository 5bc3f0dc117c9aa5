#include "cuda_driver.h"

#include <dlfcn.h>

#include <mutex>

#include "errors.h"

namespace kiln::cuda {

namespace {

// Tries each name in turn: the driver exports versioned symbols (cuMemAlloc_v2) beside the
// old ones, and newer drivers drop some old names.
template <class Fn>
bool resolve(void* lib, Fn& fn, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (void* p = dlsym(lib, n)) {
      fn = reinterpret_cast<Fn>(p);
      return true;
    }
  }
  fn = nullptr;
  return false;
}

struct Loaded {
  Driver driver{};
  std::string error;  // empty when the driver is usable
};

Loaded load() {
  Loaded out;
  Driver& d = out.driver;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    out.error = std::string("no CUDA driver (") + (e ? e : "libcuda.so.1 not found") + ")";
    return out;
  }
  d.lib = lib;
  std::string missing;
  auto need = [&](auto& fn, std::initializer_list<const char*> names) {
    if (!resolve(lib, fn, names))
      missing += std::string(missing.empty() ? "" : ", ") + *names.begin();
  };
  need(d.cuInit, {"cuInit"});
  need(d.cuDriverGetVersion, {"cuDriverGetVersion"});
  need(d.cuGetErrorName, {"cuGetErrorName"});
  need(d.cuGetErrorString, {"cuGetErrorString"});
  need(d.cuDeviceGetCount, {"cuDeviceGetCount"});
  need(d.cuDeviceGet, {"cuDeviceGet"});
  need(d.cuDeviceGetName, {"cuDeviceGetName"});
  need(d.cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  need(d.cuDeviceTotalMem, {"cuDeviceTotalMem_v2"});
  need(d.cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  need(d.cuDevicePrimaryCtxRelease, {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"});
  need(d.cuCtxSetCurrent, {"cuCtxSetCurrent"});
  need(d.cuStreamCreate, {"cuStreamCreate"});
  need(d.cuStreamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"});
  need(d.cuStreamSynchronize, {"cuStreamSynchronize"});
  need(d.cuMemAlloc, {"cuMemAlloc_v2"});
  need(d.cuMemFree, {"cuMemFree_v2"});
  need(d.cuMemAllocHost, {"cuMemAllocHost_v2"});
  need(d.cuMemFreeHost, {"cuMemFreeHost"});
  need(d.cuMemGetInfo, {"cuMemGetInfo_v2"});
  need(d.cuMemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"});
  need(d.cuMemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"});
  need(d.cuMemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"});
  need(d.cuEventCreate, {"cuEventCreate"});
  need(d.cuEventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
  need(d.cuEventRecord, {"cuEventRecord"});
  need(d.cuEventSynchronize, {"cuEventSynchronize"});
  need(d.cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
  need(d.cuLinkCreate, {"cuLinkCreate_v2"});
  need(d.cuLinkAddData, {"cuLinkAddData_v2"});
  need(d.cuLinkComplete, {"cuLinkComplete"});
  need(d.cuLinkDestroy, {"cuLinkDestroy"});
  need(d.cuModuleLoadDataEx, {"cuModuleLoadDataEx"});
  need(d.cuModuleUnload, {"cuModuleUnload"});
  need(d.cuModuleGetFunction, {"cuModuleGetFunction"});
  need(d.cuLaunchKernel, {"cuLaunchKernel"});
  if (!missing.empty()) {
    out.error = "CUDA driver libcuda.so.1 lacks " + missing;
    return out;
  }
  resolve(lib, d.cuGraphCreate, {"cuGraphCreate"});
  resolve(lib, d.cuGraphAddKernelNode, {"cuGraphAddKernelNode_v2"});
  resolve(lib, d.cuGraphAddDependencies, {"cuGraphAddDependencies_v2"});
  resolve(lib, d.cuGraphInstantiateWithFlags, {"cuGraphInstantiateWithFlags"});
  resolve(lib, d.cuGraphExecKernelNodeSetParams, {"cuGraphExecKernelNodeSetParams_v2"});
  resolve(lib, d.cuGraphLaunch, {"cuGraphLaunch"});
  resolve(lib, d.cuGraphExecDestroy, {"cuGraphExecDestroy"});
  resolve(lib, d.cuGraphDestroy, {"cuGraphDestroy"});
  CUresult r = d.cuInit(0);
  if (r != CUDA_SUCCESS) {
    out.error = r == CUDA_ERROR_NO_DEVICE
                    ? std::string("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)")
                    : "CUDA driver present but " + describe(d, "cuInit", r);
    return out;
  }
  d.cuDriverGetVersion(&d.driver_version);
  return out;
}

}  // namespace

const Driver* driver(std::string* why) {
  static Loaded loaded = load();  // thread-safe, once per process
  if (!loaded.error.empty()) {
    if (why) *why = loaded.error;
    return nullptr;
  }
  return &loaded.driver;
}

std::string describe(const Driver& d, const char* call, CUresult r) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (d.cuGetErrorName) d.cuGetErrorName(r, &name);
  if (d.cuGetErrorString) d.cuGetErrorString(r, &text);
  std::string s = std::string(call) + ": " + (name ? name : "CUresult " + std::to_string(r));
  if (text) s += std::string(" (") + text + ")";
  return s;
}

void check(const Driver& d, CUresult r, const char* call, int status) {
  if (r == CUDA_SUCCESS) return;
  fail(r == CUDA_ERROR_OUT_OF_MEMORY ? KILN_ERR_OUT_OF_MEMORY : static_cast<kiln_status>(status),
       "cuda_ptx: " + describe(d, call, r));
}

}  // namespace kiln::cuda
