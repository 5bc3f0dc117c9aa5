#include <catch2/catch.hpp>

#include "kiln/device.h"
#include "kiln/error.h"
#include "kiln/plugin_loader.h"

using Catch::Matchers::Contains;

static std::string plugin(const std::string& variant) {
  return std::string(TEST_PLUGIN_DIR) + "/kiln_test_plugin_" + variant + ".so";
}

TEST_CASE("a well-formed device plugin loads and its descriptor is readable") {
  auto h = kiln::load_plugin(plugin("good"), KILN_PLUGIN_DEVICE);
  REQUIRE(h);
  CHECK(h.name() == "test_device");
  CHECK(h.kind() == KILN_PLUGIN_DEVICE);
  auto* api = static_cast<const kiln_device_api*>(h.api());
  CHECK(api->struct_size == sizeof(kiln_device_api));
}

TEST_CASE("the loader refuses each kind of bad plugin with a message naming the file") {
  auto refuses = [](const std::string& path, const std::string& why) {
    try {
      kiln::load_plugin(path, KILN_PLUGIN_DEVICE);
      FAIL("loaded " << path);
    } catch (const kiln::Error& e) {
      CHECK_THAT(e.what(), Contains(path));
      CHECK_THAT(e.what(), Contains(why));
    }
  };
  refuses(plugin("wrong_abi"), "contract version");
  refuses(plugin("wrong_kind"), "expected a device plugin");
  refuses(plugin("wrong_ir"), "kernel IR version");
  refuses(plugin("no_api"), "no api table");
  refuses(plugin("no_entry"), "does not export the entry symbol");
  refuses(plugin("missing"), "file not found");
  refuses(std::string(TEST_PLUGIN_DIR) + "/../CMakeFiles", "cannot be loaded");
}
