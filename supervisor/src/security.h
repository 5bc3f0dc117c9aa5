// Security checks of the supervisor: which file paths a client may name, and the ZeroMQ ZAP
// handler that admits CURVE clients by public key.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <zmq.hpp>

namespace kiln::supervisor {

// The canonical form of `path` (symlinks resolved) when it lies inside one of `model_dirs`;
// throws kiln::Error otherwise (also when model_dirs is empty, or the path does not exist).
std::string check_model_path(const std::string& path, const std::vector<std::string>& model_dirs);

// Public keys (Z85), one per line; '#' comments. Throws kiln::Error naming the file.
std::set<std::string> read_authorized_keys(const std::string& file);

// Answers ZAP requests on inproc://zeromq.zap.01: CURVE clients whose public key is in the
// domain's list are admitted; a domain without a list admits every CURVE client (they still
// need the server's public key). Plain (non-CURVE) mechanisms never reach it: insecure
// endpoints do not set a ZAP domain.
class ZapHandler {
 public:
  explicit ZapHandler(zmq::context_t& context);
  void allow(const std::string& domain, std::set<std::string> keys);
  zmq::socket_t& socket() { return socket_; }
  void handle();  // one request, when socket() is readable

 private:
  zmq::socket_t socket_;
  std::map<std::string, std::set<std::string>> allowed_;
};

}  // namespace kiln::supervisor
