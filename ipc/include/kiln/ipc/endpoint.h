// Endpoints (ipc:// and tcp:// URLs), the private run directory ipc sockets live in, and
// ZeroMQ CURVE keys.
#pragma once

#include <string>

namespace kiln::ipc {

struct Endpoint {
  std::string url;
  bool is_ipc = false;
  std::string path;  // ipc: the socket file
  std::string host;  // tcp
  int port = 0;      // tcp
};

// Parses "ipc:///abs/path.sock" or "tcp://HOST:PORT". Throws kiln::Error naming the URL.
Endpoint parse_endpoint(const std::string& url);

// $XDG_RUNTIME_DIR/kiln when XDG_RUNTIME_DIR is set, else /tmp/kiln-<uid>.
std::string default_run_dir();
// ipc://<default_run_dir()>/<instance>.sock — where `kiln run` listens and `kiln client`
// connects unless told otherwise.
std::string default_endpoint(const std::string& instance = "default");

// Makes sure `dir` exists, is a directory owned by this user and has mode 0700 (creating it,
// and its parents, when missing). Throws kiln::Error naming the directory otherwise.
void ensure_private_dir(const std::string& dir);

struct CurveKeys {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;
};
CurveKeys generate_curve_keys();
// The public key for a Z85 secret key.
std::string curve_public_key(const std::string& secret_key);
// Reads a key file: one Z85 key (40 characters); blank lines and lines starting with '#' are
// ignored. Throws kiln::Error naming the file.
std::string read_key_file(const std::string& path);
bool valid_z85_key(const std::string& key);

}  // namespace kiln::ipc
