// Security: CURVE on tcp (and refusing plaintext unless the config says insecure), private
// ipc directories, one supervisor per instance, client paths confined to model_dirs.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "fixture.h"
#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"

using namespace kiln::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const char* kModels = R"(
models:
  - name: echo
    plugin: testmodel
)";

std::string start_failure(const std::string& body, const std::vector<std::string>& endpoints = {}) {
  try {
    SupervisorProcess sup(body, endpoints);
  } catch (const kiln::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a tcp endpoint without CURVE keys is refused unless marked insecure", "[process][security]") {
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(free_port());
  std::string why = start_failure(kModels, {tcp});
  CHECK_THAT(why, Contains("exited at start"));
  CHECK_THAT(why, Contains("needs curve_secret_key_file"));
  CHECK_THAT(why, Contains("insecure: true"));
}

TEST_CASE("CURVE: authorized clients are served, others get nothing", "[process][security]") {
  TempDir keys;
  auto server = kiln::ipc::generate_curve_keys();
  auto allowed = kiln::ipc::generate_curve_keys();
  auto stranger = kiln::ipc::generate_curve_keys();
  std::ofstream(keys.path() + "/server.key") << "# server secret key\n" << server.secret_key << "\n";
  std::ofstream(keys.path() + "/clients") << allowed.public_key << "\n";
  const std::string tcp = "tcp://127.0.0.1:" + std::to_string(free_port());
  SupervisorProcess sup(kModels, {"{url: " + tcp + ", curve_secret_key_file: " + keys.path() +
                                  "/server.key, curve_authorized_keys_file: " + keys.path() + "/clients}"});

  RawClient ok(tcp, server.public_key, allowed.public_key, allowed.secret_key);
  ok.send({{"id", 1}, {"kind", "Predict"}, {"prompt", "secret"}});
  auto r = ok.receive(20s);
  REQUIRE(r);
  CHECK((*r)["text"] == "echo: secret");

  RawClient unknown(tcp, server.public_key, stranger.public_key, stranger.secret_key);
  unknown.send({{"id", 1}, {"kind", "Health"}});
  CHECK_FALSE(unknown.receive(1s));

  RawClient plain(tcp);
  plain.send({{"id", 1}, {"kind", "Health"}});
  CHECK_FALSE(plain.receive(1s));

  CHECK_THAT(sup.log(), Contains("refused a CURVE client"));
}

TEST_CASE("ipc sockets must live in a private directory", "[process][security]") {
  TempDir d;
  fs::create_directory(d.path() + "/open");
  chmod((d.path() + "/open").c_str(), 0755);
  std::string why = start_failure(kModels, {"ipc://" + d.path() + "/open/kiln.sock"});
  CHECK_THAT(why, Contains("mode 0755 lets other users in"));
}

TEST_CASE("one supervisor per instance", "[process][security]") {
  SupervisorProcess sup(kModels);
  pid_t second = spawn({bin("kiln-supervisor"), "--config", sup.dir() + "/config.yaml"}, sup.dir() + "/second.log");
  int status = wait_exit(second, 10s);
  REQUIRE(status != -1);
  CHECK(WEXITSTATUS(status) == 1);
  std::ifstream in(sup.dir() + "/second.log");
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(log, Contains("is already running instance"));
  auto c = sup.client();  // the first one is untouched
  CHECK(c.call({{"kind", "Health"}}, 5s)["ok"] == true);
}

TEST_CASE("Load may only name files under model_dirs", "[process][security]") {
  TempDir models, outside;
  const std::string model_file = std::string(KILN_TEST_DATA_DIR) + "/process/echo.testmodel.json";
  fs::copy_file(model_file, models.path() + "/echo.json");
  fs::copy_file(model_file, outside.path() + "/echo.json");
  fs::create_symlink(outside.path() + "/echo.json", models.path() + "/escape.json");
  SupervisorProcess sup(std::string(kModels) + "model_dirs: [" + models.path() + "]\n");
  auto c = sup.client();

  json out = c.call({{"kind", "Load"}, {"model", "x"}, {"path", outside.path() + "/echo.json"}}, 10s);
  CHECK(out["code"] == "forbidden");
  json dots = c.call({{"kind", "Load"}, {"model", "x"}, {"path", models.path() + "/../" +
                                                                     fs::path(outside.path()).filename().string() + "/echo.json"}},
                     10s);
  CHECK(dots["code"] == "forbidden");
  json link = c.call({{"kind", "Load"}, {"model", "x"}, {"path", models.path() + "/escape.json"}}, 10s);
  CHECK(link["code"] == "forbidden");

  // Inside: loads, with the plugin found by claims() ("auto").
  json in = c.call({{"kind", "Load"}, {"model", "mine"}, {"path", models.path() + "/echo.json"}}, 20s);
  REQUIRE(in["type"] == "result");
  CHECK(in["metadata"]["plugin"] == "testmodel");
  CHECK(in["metadata"]["embedding_dim"] == 48);  // from the model file
  CHECK(c.call({{"kind", "Predict"}, {"model", "mine"}, {"prompt", "own"}}, 20s)["text"] == "echo: own");
}
