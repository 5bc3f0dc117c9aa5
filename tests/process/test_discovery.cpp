// Plugin discovery: the scan behind `kiln plugins` (duplicates and bad files refused with
// reasons) and loading a plugin by name.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "fixture.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/plugin_path.h"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
const kiln::PluginRecord* find(const std::vector<kiln::PluginRecord>& v, const std::string& file_part) {
  for (const auto& r : v)
    if (r.path.find(file_part) != std::string::npos) return &r;
  return nullptr;
}
}  // namespace

TEST_CASE("scan: accepted plugins, refused files with reasons, duplicate names", "[discovery]") {
  kiln::test::TempDir extra, dup;
  fs::copy_file(std::string(LOADER_TEST_PLUGIN_DIR) + "/kiln_test_plugin_wrong_abi.so", extra.path() + "/test_device.so");
  fs::copy_file(std::string(LOADER_TEST_PLUGIN_DIR) + "/kiln_test_plugin_good.so", extra.path() + "/misnamed.so");
  fs::copy_file(std::string(LOADER_TEST_PLUGIN_DIR) + "/kiln_test_plugin_no_entry.so", extra.path() + "/noentry.so");
  std::ofstream(extra.path() + "/garbage.so") << "not an ELF file";

  kiln::PluginScan scan = kiln::scan_plugins({extra.path()});
  const auto* model = find(scan.accepted, "/testmodel.so");
  REQUIRE(model);
  CHECK(model->kind == "model");
  CHECK(model->name == "testmodel");
  CHECK(model->contract_version == KILN_MODEL_API_VERSION);
  REQUIRE(find(scan.rejected, "/test_device.so"));
  CHECK_THAT(find(scan.rejected, "/test_device.so")->error, Contains("contract version"));
  REQUIRE(find(scan.rejected, "/misnamed.so"));
  CHECK_THAT(find(scan.rejected, "/misnamed.so")->error, Contains("must then be named test_device.so"));
  CHECK_THAT(find(scan.rejected, "/noentry.so")->error, Contains("does not export the entry symbol"));
  CHECK_THAT(find(scan.rejected, "/garbage.so")->error, Contains("cannot be loaded"));

  // The same plugin name in two places: both refused, each naming the other.
  fs::copy_file(std::string(KILN_PLUGIN_DIR) + "/testmodel.so", dup.path() + "/testmodel.so");
  kiln::PluginScan twice = kiln::scan_plugins({dup.path()});
  CHECK_FALSE(find(twice.accepted, "/testmodel.so"));
  REQUIRE(find(twice.rejected, dup.path() + "/testmodel.so"));
  CHECK_THAT(find(twice.rejected, dup.path())->error, Contains("provided by more than one file"));
  CHECK_THROWS_WITH(kiln::load_plugin_by_name("testmodel", KILN_PLUGIN_MODEL, {dup.path()}),
                    Contains("more than one file"));
}

TEST_CASE("load by name: found, not found (search path listed), wrong kind", "[discovery]") {
  auto h = kiln::load_plugin_by_name("testmodel", KILN_PLUGIN_MODEL);
  CHECK(h.name() == "testmodel");
  auto* factory = static_cast<const kiln::ModelFactory*>(h.api());
  CHECK(factory->struct_size == sizeof(kiln::ModelFactory));
  kiln::ModelProbe probe = kiln::probe_model(std::string(KILN_TEST_DATA_DIR) + "/process/echo.testmodel.json");
  CHECK(factory->claims(probe) == 100);
  CHECK(factory->claims(kiln::ModelProbe{}) == 0);
  CHECK_THROWS_WITH(kiln::load_plugin_by_name("nosuch", KILN_PLUGIN_MODEL),
                    Contains("model plugin 'nosuch' not found") && Contains(KILN_PLUGIN_DIR));
  CHECK_THROWS_WITH(kiln::load_plugin_by_name("testmodel", KILN_PLUGIN_DEVICE), Contains("expected a device plugin"));
  CHECK_THROWS_WITH(kiln::load_plugin_by_name("../etc", KILN_PLUGIN_MODEL), Contains("not a valid plugin name"));
  CHECK_THROWS_WITH(kiln::probe_model("/nonexistent/model"), Contains("no such file"));
}

TEST_CASE("probe: core/io's view for weight files, the JSON of a model description", "[discovery]") {
  kiln::ModelProbe gguf = kiln::probe_model(std::string(KILN_TEST_DATA_DIR) + "/formats/gguf_v3_all.gguf");
  REQUIRE(gguf.source);
  CHECK(gguf.source->gguf() != nullptr);
  CHECK(gguf.architectures == gguf.source->architectures());
  kiln::ModelProbe desc = kiln::probe_model(std::string(KILN_TEST_DATA_DIR) + "/process/echo.testmodel.json");
  CHECK_FALSE(desc.source);
  CHECK(desc.architectures == std::vector<std::string>{"kiln_test_bytes"});
  CHECK(kiln::probe_model("").architectures.empty());
}

TEST_CASE("kiln plugins lists accepted plugins and refused files with reasons", "[discovery]") {
  kiln::test::TempDir d;
  const std::string out = d.path() + "/out.txt";
  pid_t pid = kiln::test::spawn({kiln::test::bin("kiln"), "plugins", "--plugin-path", BAD_PLUGIN_DIR}, out);
  int status = kiln::test::wait_exit(pid, std::chrono::seconds(30));
  REQUIRE(status != -1);
  CHECK(WEXITSTATUS(status) == 0);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains("model      testmodel"));
  CHECK_THAT(text, Contains("refused:"));
  CHECK_THAT(text, Contains(std::string(BAD_PLUGIN_DIR) + "/badabi.so: model plugin 'badabi' implements contract version 999, this Kiln needs " + std::to_string(KILN_MODEL_API_VERSION)));
}
