#include "kiln/ipc/client.h"

#include <unistd.h>

#include <atomic>
#include <deque>
#include <random>
#include <zmq.hpp>

#include "kiln/error.h"
#include "kiln/ipc/endpoint.h"
#include "kiln/ipc/protocol.h"
#include "kiln/ipc/shm.h"

namespace kiln::ipc {

struct Client::Impl {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::dealer};
  std::deque<json> stash;  // replies received by call() for other jobs
  // Chunked result blobs being reassembled: key = dumped id + "\n" + field.
  std::map<std::string, std::vector<uint8_t>> pieces;
  bool is_ipc = false;
  std::string segment_stem;  // "kiln.<instance>.c.<pid>-<random>." once known
  uint64_t next_segment = 0;
};

std::string next_job_id() {
  static std::atomic<uint64_t> counter{0};
  return "job-" + std::to_string(++counter);
}

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  if (options_.endpoint.empty()) throw Error("client: no endpoint given");
  impl_->is_ipc = parse_endpoint(options_.endpoint).is_ipc;  // validates
  auto& s = impl_->socket;
  s.set(zmq::sockopt::linger, 0);
  if (!options_.server_public_key.empty()) {
    if (!valid_z85_key(options_.server_public_key)) {
      throw Error("client: the server public key is not a 40-character Z85 key");
    }
    if (options_.secret_key.empty()) {
      CurveKeys k = generate_curve_keys();
      options_.public_key = k.public_key;
      options_.secret_key = k.secret_key;
    } else if (options_.public_key.empty()) {
      options_.public_key = curve_public_key(options_.secret_key);
    }
    s.set(zmq::sockopt::curve_serverkey, options_.server_public_key);
    s.set(zmq::sockopt::curve_publickey, options_.public_key);
    s.set(zmq::sockopt::curve_secretkey, options_.secret_key);
  }
  try {
    s.connect(options_.endpoint);
  } catch (const zmq::error_t& e) {
    throw Error("client: cannot connect to " + options_.endpoint + ": " + e.what());
  }
}

Client::~Client() = default;

void Client::send_raw(const std::string& frame) {
  impl_->socket.send(zmq::buffer(frame), zmq::send_flags::none);
}

const std::string& Client::instance() {
  if (options_.instance.empty()) {
    json h = call(json{{"kind", "Health"}}, std::chrono::seconds(10));
    if (!h.contains("instance") || !h["instance"].is_string()) {
      throw Error("client: the supervisor at " + options_.endpoint + " does not say its instance name");
    }
    options_.instance = h["instance"];
  }
  return options_.instance;
}

void Client::send(json request) {
  if (!request.is_object()) throw Error("client: a request must be a map");
  if (options_.use_shm) request["shm"] = true;
  // Big inputs in shared memory: the segment is written here, named in the request, and let
  // go of (Release) right after: the supervisor holds it for the job from then on.
  std::vector<std::string> handed;
  if (options_.use_shm && impl_->is_ipc) {
    for (auto it = request.begin(); it != request.end(); ++it) {
      if (!it->is_binary() || it->get_binary().size() < options_.shm_input_bytes) continue;
      if (impl_->segment_stem.empty()) {
        std::random_device rd;
        impl_->segment_stem = shm_client_prefix(instance()) + std::to_string(getpid()) + "-" +
                              std::to_string(rd() & 0xffffff) + ".";
      }
      std::string name = impl_->segment_stem + std::to_string(++impl_->next_segment);
      const auto& bytes = it->get_binary();
      shm_write(name, bytes.data(), bytes.size());
      handed.push_back(name);
      *it = shm_ref(name, bytes.size());
    }
  }
  // Big binary fields travel after the request, in pieces.
  std::vector<std::pair<std::string, json::binary_t>> chunked;
  for (auto it = request.begin(); it != request.end(); ++it) {
    if (it->is_binary() && it->get_binary().size() > options_.chunk_bytes) {
      chunked.emplace_back(it.key(), std::move(it->get_binary()));
      *it = json{{"chunked", chunked.back().second.size()}};
    }
  }
  send_raw(encode(request));
  for (const auto& [field, bytes] : chunked) {
    for (size_t off = 0; off < bytes.size(); off += options_.chunk_bytes) {
      size_t n = std::min(options_.chunk_bytes, bytes.size() - off);
      json piece = {{"kind", "Data"}, {"id", request["id"]}, {"field", field}, {"offset", off},
                    {"data", json::binary_t(std::vector<uint8_t>(bytes.begin() + off,
                                                                 bytes.begin() + off + n))}};
      send_raw(encode(piece));
    }
  }
  for (const auto& name : handed) send_raw(encode(json{{"kind", "Release"}, {"shm", name}}));
}

std::optional<json> Client::receive_raw(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{static_cast<void*>(impl_->socket), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
  zmq::message_t msg;
  if (!impl_->socket.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
  // Discard any further frames of a multipart message: the protocol uses one.
  while (msg.more()) {
    zmq::message_t extra;
    if (!impl_->socket.recv(extra, zmq::recv_flags::dontwait)) break;
    if (!extra.more()) break;
  }
  return decode(msg.data(), msg.size());
}

bool Client::absorb(json& reply) {
  const std::string type = reply.value("type", "");
  if (type == "data") {
    std::string key = job_id_key(reply["id"]) + "\n" + reply.value("field", "");
    auto& buf = impl_->pieces[key];
    const auto& data = reply["data"].get_binary();
    size_t off = reply.value("offset", size_t{0});
    if (buf.size() < off + data.size()) buf.resize(off + data.size());
    std::copy(data.begin(), data.end(), buf.begin() + off);
    return false;
  }
  if (type != "result" && type != "chunk" && type != "progress") return true;
  for (auto it = reply.begin(); it != reply.end(); ++it) {
    if (is_shm_ref(*it)) {
      std::string name = (*it)["shm"];
      auto bytes = shm_read(name, (*it)["size"].get<size_t>());
      send_raw(encode(json{{"kind", "Release"}, {"shm", name}}));
      *it = json::binary_t(std::move(bytes));
    } else if (it->is_object() && it->contains("chunked")) {
      std::string key = job_id_key(reply["id"]) + "\n" + it.key();
      auto found = impl_->pieces.find(key);
      std::vector<uint8_t> bytes;
      if (found != impl_->pieces.end()) {
        bytes = std::move(found->second);
        impl_->pieces.erase(found);
      }
      if (bytes.size() != (*it)["chunked"].get<size_t>()) {
        throw Error("client: chunked field '" + it.key() + "' arrived with " +
                    std::to_string(bytes.size()) + " bytes, expected " + (*it)["chunked"].dump());
      }
      *it = json::binary_t(std::move(bytes));
    }
  }
  return true;
}

std::optional<json> Client::receive(std::chrono::milliseconds timeout) {
  if (!impl_->stash.empty()) {
    json r = std::move(impl_->stash.front());
    impl_->stash.pop_front();
    return r;
  }
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    auto r = receive_raw(left);
    if (!r) return std::nullopt;
    if (absorb(*r)) return r;
  }
}

json Client::call(json request, std::chrono::milliseconds timeout,
                  const std::function<void(const json&)>& on_update) {
  if (!request.contains("id")) request["id"] = next_job_id();
  const json id = request["id"];
  send(std::move(request));
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw Error("client: no reply to job " + job_id_text(id) + " in time");
    auto r = receive_raw(left);
    if (!r || !absorb(*r)) continue;
    if (r->value("id", json()) != id) {
      impl_->stash.push_back(std::move(*r));
      continue;
    }
    if (is_terminal(*r)) return *r;
    if (on_update) on_update(*r);
  }
}

}  // namespace kiln::ipc
