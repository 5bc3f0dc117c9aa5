// The plugin on a machine without a GPU (CI): it loads, counts 0 devices with a message saying
// why, refuses open(), and the runtime's "cuda" / "auto" device names behave. On a machine
// with a GPU the same tests check that the device opens and reports honest capabilities.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "kiln/device.h"
#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "kiln/plugin_loader.h"

namespace {

const kiln_device_api& cuda_api() {
  static kiln::PluginHandle h =
      kiln::load_plugin(KILN_PLUGIN_DIR "/cuda_ptx.so", KILN_PLUGIN_DEVICE);
  return *static_cast<const kiln_device_api*>(h.api());
}

int gpu_count(std::string* why = nullptr) {
  char err[1024] = "";
  int n = cuda_api().device_count({err, sizeof err});
  if (why) *why = err;
  return n;
}

}  // namespace

TEST_CASE("cuda_ptx: the plugin loads and counts devices with a reason when there are none",
          "[cuda_ptx]") {
  std::string why;
  int n = gpu_count(&why);
  REQUIRE(n >= 0);
  if (n == 0) {
    INFO("device_count message: " << why);
    CHECK(why.rfind("cuda_ptx: ", 0) == 0);
    CHECK((why.find("no CUDA driver") != std::string::npos ||
           why.find("no CUDA device") != std::string::npos ||
           why.find("sees no GPU") != std::string::npos));
    kiln_device* dev = nullptr;
    char err[1024] = "";
    CHECK(cuda_api().open(0, &dev, {err, sizeof err}) == KILN_ERR_NO_DEVICE);
    CHECK(dev == nullptr);
    CHECK(std::strlen(err) > 0);
  }
  // optional entry points are either all present or all absent
  const kiln_device_api& api = cuda_api();
  CHECK((api.graph_create == nullptr) == (api.graph_launch == nullptr));
  REQUIRE(api.struct_size == sizeof(kiln_device_api));
  CHECK(api.read_begin != nullptr);
  CHECK(api.read_end != nullptr);
}

TEST_CASE("cuda_ptx: read-backs queue behind the stream's work and return what it held then",
          "[cuda_ptx]") {
  if (gpu_count() == 0) return;  // needs a GPU (counted as passed in CI: the API check is above)
  const kiln_device_api& api = cuda_api();
  char err[1024] = "";
  kiln_device* dev = nullptr;
  REQUIRE(api.open(0, &dev, {err, sizeof err}) == KILN_OK);
  kiln_buffer* buf = nullptr;
  REQUIRE(api.alloc(dev, 64, &buf, {err, sizeof err}) == KILN_OK);
  int32_t v[16];
  for (int i = 0; i < 16; ++i) v[i] = i;
  REQUIRE(api.copy_in(dev, buf, 0, v, sizeof v, {err, sizeof err}) == KILN_OK);
  uint64_t t1 = 0, t2 = 0;
  REQUIRE(api.read_begin(dev, buf, 8, 8, &t1, {err, sizeof err}) == KILN_OK);
  for (int i = 0; i < 16; ++i) v[i] = 100 + i;
  REQUIRE(api.copy_in(dev, buf, 0, v, sizeof v, {err, sizeof err}) == KILN_OK);  // after the read
  REQUIRE(api.read_begin(dev, buf, 0, 4, &t2, {err, sizeof err}) == KILN_OK);
  CHECK(t1 != t2);
  int32_t second = -1, first[2] = {-1, -1};
  REQUIRE(api.read_end(dev, t2, &second, 4, {err, sizeof err}) == KILN_OK);  // any order
  REQUIRE(api.read_end(dev, t1, first, 8, {err, sizeof err}) == KILN_OK);
  CHECK(first[0] == 2);
  CHECK(first[1] == 3);
  CHECK(second == 100);
  // a retired or unknown ticket, and a range past the buffer, are errors naming the problem
  CHECK(api.read_end(dev, t1, first, 8, {err, sizeof err}) == KILN_ERR_INVALID);
  CHECK(std::string(err).find("not in flight") != std::string::npos);
  uint64_t t3 = 0;
  CHECK(api.read_begin(dev, buf, 60, 8, &t3, {err, sizeof err}) != KILN_OK);
  api.free(dev, buf);
  api.close(dev);
}

TEST_CASE("cuda_ptx: Device::get(cuda) explains a missing GPU and auto falls back to the cpu",
          "[cuda_ptx]") {
  if (gpu_count() > 0) {
    kiln::Device* d = kiln::Device::get("cuda");
    const kiln_device_caps& c = d->caps();
    CHECK(std::string(c.name) == "cuda");
    CHECK(std::string(c.arch).rfind("sm_", 0) == 0);
    CHECK(c.warp_size == 32);
    CHECK(c.compute_units > 0);
    CHECK(c.local_memory_bytes >= 48 * 1024);
    CHECK(c.max_threads_per_group >= 1024);
    CHECK(c.unified_memory == 0);
    CHECK(kiln::Device::get("auto") == d);
    return;
  }
  try {
    kiln::Device::get("cuda");
    FAIL("Device::get(cuda) succeeded without a GPU");
  } catch (const kiln::Error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("cuda_ptx") != std::string::npos);
    CHECK(msg.find("no device") != std::string::npos);
  }
  kiln::Device* a = kiln::Device::get("auto");
  CHECK(std::string(a->caps().name) == "cpu");
}
