#include "kiln/ipc/endpoint.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kiln/error.h"

namespace fs = std::filesystem;

namespace kiln::ipc {

Endpoint parse_endpoint(const std::string& url) {
  Endpoint ep;
  ep.url = url;
  if (url.rfind("ipc://", 0) == 0) {
    ep.is_ipc = true;
    ep.path = url.substr(6);
    if (ep.path.empty() || ep.path[0] != '/') {
      throw Error("endpoint '" + url + "': an ipc endpoint needs an absolute path (ipc:///dir/x.sock)");
    }
    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    if (ep.path.size() > 107) {
      throw Error("endpoint '" + url + "': socket path longer than 107 bytes");
    }
    return ep;
  }
  if (url.rfind("tcp://", 0) == 0) {
    std::string rest = url.substr(6);
    auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) {
      throw Error("endpoint '" + url + "': expected tcp://HOST:PORT");
    }
    ep.host = rest.substr(0, colon);
    std::string port = rest.substr(colon + 1);
    if (port == "*") {
      ep.port = 0;
      return ep;
    }
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 0 || p > 65535) throw Error("endpoint '" + url + "': bad port '" + port + "'");
    ep.port = static_cast<int>(p);
    return ep;
  }
  throw Error("endpoint '" + url + "': only ipc:// and tcp:// endpoints are supported");
}

std::string default_run_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) {
    return std::string(xdg) + "/kiln";
  }
  return "/tmp/kiln-" + std::to_string(getuid());
}

std::string default_endpoint(const std::string& instance) {
  return "ipc://" + default_run_dir() + "/" + instance + ".sock";
}

void ensure_private_dir(const std::string& dir) {
  std::error_code ec;
  fs::path p(dir);
  if (!fs::exists(p, ec)) {
    if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw Error("directory " + dir + ": cannot be created: " + std::strerror(errno));
    }
  }
  struct stat st{};
  if (lstat(dir.c_str(), &st) != 0) {
    throw Error("directory " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) throw Error("directory " + dir + ": is not a directory");
  if (st.st_uid != getuid()) {
    throw Error("directory " + dir + ": owned by uid " + std::to_string(st.st_uid) +
                ", not by this user; ipc sockets must live in a private directory");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw Error("directory " + dir + ": mode " + mode +
                " lets other users in; ipc sockets must live in a 0700 directory (chmod 700 " +
                dir + ")");
  }
}

CurveKeys generate_curve_keys() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    throw Error(std::string("cannot generate CURVE keys: ") + zmq_strerror(zmq_errno()));
  }
  return {pub, sec};
}

std::string curve_public_key(const std::string& secret_key) {
  if (!valid_z85_key(secret_key)) throw Error("CURVE secret key is not a 40-character Z85 key");
  char pub[41];
  if (zmq_curve_public(pub, secret_key.c_str()) != 0) {
    throw Error(std::string("CURVE secret key rejected: ") + zmq_strerror(zmq_errno()));
  }
  return pub;
}

bool valid_z85_key(const std::string& key) {
  static const char* kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  if (key.size() != 40) return false;
  for (char c : key)
    if (!std::strchr(kAlphabet, c) || c == '\0') return false;
  return true;
}

std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("key file " + path + ": cannot be read");
  std::string line, key;
  while (std::getline(in, line)) {
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    auto e = line.find_last_not_of(" \t\r");
    if (!key.empty()) throw Error("key file " + path + ": more than one key");
    key = line.substr(b, e - b + 1);
  }
  if (!valid_z85_key(key)) throw Error("key file " + path + ": no 40-character Z85 key found");
  return key;
}

}  // namespace kiln::ipc
