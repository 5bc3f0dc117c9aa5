#include "security.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"
#include <spdlog/spdlog.h>

namespace fs = std::filesystem;

namespace kiln::supervisor {

std::string check_model_path(const std::string& path, const std::vector<std::string>& model_dirs) {
  if (model_dirs.empty()) {
    throw Error("path '" + path + "' refused: the configuration lists no model_dirs, so clients "
                "may not name files");
  }
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) throw Error("path '" + path + "': " + ec.message());
  for (const auto& dir : model_dirs) {
    fs::path root = fs::canonical(dir, ec);
    if (ec) continue;
    auto rel = real.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != ".." && rel.is_relative()) return real.string();
  }
  throw Error("path '" + path + "' refused: it is outside the configured model_dirs");
}

std::set<std::string> read_authorized_keys(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw Error("authorized keys file " + file + ": cannot be read");
  std::set<std::string> keys;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    auto e = line.find_last_not_of(" \t\r");
    std::string key = line.substr(b, e - b + 1);
    if (!ipc::valid_z85_key(key)) {
      throw Error("authorized keys file " + file + ": line " + std::to_string(n) +
                  " is not a 40-character Z85 public key");
    }
    keys.insert(key);
  }
  return keys;
}

ZapHandler::ZapHandler(zmq::context_t& context) : socket_(context, zmq::socket_type::rep) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
}

void ZapHandler::allow(const std::string& domain, std::set<std::string> keys) {
  allowed_[domain] = std::move(keys);
}

void ZapHandler::handle() {
  // Request frames (RFC 27): version, request id, domain, address, identity, mechanism,
  // credentials...
  std::vector<zmq::message_t> frames;
  while (true) {
    zmq::message_t m;
    if (!socket_.recv(m, zmq::recv_flags::dontwait)) break;
    bool more = m.more();
    frames.push_back(std::move(m));
    if (!more) break;
  }
  if (frames.empty()) return;
  auto text = [&](size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
  std::string status = "400", status_text = "refused";
  std::string user;
  if (frames.size() >= 6 && text(0) == "1.0") {
    const std::string domain = text(2), mechanism = text(5);
    auto it = allowed_.find(domain);
    if (mechanism == "CURVE" && frames.size() >= 7 && frames[6].size() == 32) {
      char z85[41];
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      if (it != allowed_.end() && (it->second.empty() || it->second.count(z85))) {
        status = "200", status_text = "OK", user = z85;
      } else {
        spdlog::warn("refused a CURVE client with unknown public key {} from {}", z85, text(3));
      }
    }
  }
  const std::string reply[] = {"1.0", text(1), status, status_text, user, ""};
  for (size_t i = 0; i < 6; ++i) {
    socket_.send(zmq::buffer(reply[i]), i + 1 < 6 ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

}  // namespace kiln::supervisor
