// MessagePack encoding of protocol messages. Every message is one MessagePack map; in memory
// it is a nlohmann::json (binary payloads are json binary values, MessagePack bin on the
// wire). Decoding never trusts its input: structure, lengths and nesting depth are checked
// before anything is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace kiln::ipc {

using json = nlohmann::json;

// A protocol violation: `code` is one of the documented error codes (protocol.h).
class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// Nesting deeper than this is refused (a message needs at most a few levels; tool schemas a
// few more).
constexpr size_t kMaxDepth = 64;

// Checks that [data, data+size) is exactly one well-formed MessagePack value nested at most
// `max_depth` deep, without recursion or allocation. Returns an empty string when valid,
// otherwise what is wrong and at which byte offset.
std::string check_msgpack(const uint8_t* data, size_t size, size_t max_depth = kMaxDepth);

// Encodes a message (must be a JSON object) as MessagePack.
std::string encode(const json& message);

// Decodes one message: well-formed MessagePack whose top level is a map. Throws
// ProtocolError("bad_request", ...) otherwise.
json decode(const void* data, size_t size);

}  // namespace kiln::ipc
