// A client of the supervisor (the `kiln client` CLI and the tests use it): one ZeroMQ DEALER
// socket, many jobs in flight. It hides payload transport: big binary request fields go out
// in chunks (or, with use_shm on an ipc endpoint, in shared-memory segments), and replies
// come back with every blob inline (shared-memory blobs are copied out and released, chunked
// blobs reassembled).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/ipc/codec.h"

namespace kiln::ipc {

struct ClientOptions {
  std::string endpoint;
  // CURVE: the server's public key (Z85) turns encryption on. The client's own keys are
  // generated when left empty (a server with an authorized-keys list then refuses it).
  std::string server_public_key;
  std::string public_key;
  std::string secret_key;
  // ipc:// endpoints only: ask for big results in shared memory, and send binary request
  // fields of at least shm_input_bytes in segments this client creates (named
  // kiln.<instance>.c.*; the supervisor removes them when the job is done with them).
  bool use_shm = false;
  size_t shm_input_bytes = 64 << 10;
  // The supervisor's instance name (for segment names); asked with Health when empty.
  std::string instance;
  // Binary request fields above this many bytes are sent in chunks of this size.
  size_t chunk_bytes = 1 << 20;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request (a map with "id" and "kind"); adds "shm": true when use_shm is set.
  void send(json request);
  // Sends raw bytes as one frame (tests use it to send malformed messages).
  void send_raw(const std::string& frame);

  // The next reply (chunk, progress, result or error) with blobs made inline, or nothing
  // after `timeout`.
  std::optional<json> receive(std::chrono::milliseconds timeout);

  // Sends `request` and waits for its terminal reply; chunks and progress of that job go to
  // `on_update`. Replies to other jobs received meanwhile are kept for later receive() calls.
  // Throws kiln::Error when no terminal reply arrives within `timeout`.
  json call(json request, std::chrono::milliseconds timeout,
            const std::function<void(const json&)>& on_update = {});

  const ClientOptions& options() const { return options_; }
  // The supervisor's instance (ClientOptions::instance, else asked with a Health job).
  const std::string& instance();

 private:
  std::optional<json> receive_raw(std::chrono::milliseconds timeout);
  bool absorb(json& reply);  // false when the reply was a data piece, consumed

  struct Impl;
  std::unique_ptr<Impl> impl_;
  ClientOptions options_;
};

// A job id string unique within this process (for clients that do not care).
std::string next_job_id();

}  // namespace kiln::ipc
