#include "kiln/ipc/codec.h"

#include <vector>

namespace kiln::ipc {

namespace {

// Big-endian unsigned of `n` bytes at p.
uint64_t be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string check_msgpack(const uint8_t* data, size_t size, size_t max_depth) {
  // Each stack entry counts the values still expected inside an open array or map.
  std::vector<uint64_t> pending;
  size_t pos = 0;
  uint64_t expect_top = 1;
  auto fail = [&](const std::string& why) { return why + " at byte " + std::to_string(pos); };
  while (true) {
    uint64_t& remaining = pending.empty() ? expect_top : pending.back();
    if (remaining == 0) {
      if (pending.empty()) break;
      pending.pop_back();
      continue;
    }
    --remaining;
    if (pos >= size) return fail("truncated MessagePack");
    const uint8_t b = data[pos];
    const size_t avail = size - pos;
    auto need = [&](uint64_t n) { return n <= avail; };
    uint64_t skip = 0;        // bytes to skip: header + payload
    uint64_t children = 0;    // values nested inside (arrays: n, maps: 2n)
    bool container = false;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      skip = 1;
    } else if (b >= 0x80 && b <= 0x8f) {
      skip = 1, children = 2ull * (b & 0x0f), container = true;
    } else if (b >= 0x90 && b <= 0x9f) {
      skip = 1, children = b & 0x0f, container = true;
    } else if (b >= 0xa0 && b <= 0xbf) {
      skip = 1 + (b & 0x1f);
    } else {
      // Lengths: header size and how many bytes hold the length.
      switch (b) {
        case 0xc4: case 0xd9:  // bin8 / str8
          if (!need(2)) return fail("truncated length");
          skip = 2 + be(data + pos + 1, 1);
          break;
        case 0xc5: case 0xda:  // bin16 / str16
          if (!need(3)) return fail("truncated length");
          skip = 3 + be(data + pos + 1, 2);
          break;
        case 0xc6: case 0xdb:  // bin32 / str32
          if (!need(5)) return fail("truncated length");
          skip = 5 + be(data + pos + 1, 4);
          break;
        case 0xc7:  // ext8
          if (!need(2)) return fail("truncated length");
          skip = 3 + be(data + pos + 1, 1);
          break;
        case 0xc8:  // ext16
          if (!need(3)) return fail("truncated length");
          skip = 4 + be(data + pos + 1, 2);
          break;
        case 0xc9:  // ext32
          if (!need(5)) return fail("truncated length");
          skip = 6 + be(data + pos + 1, 4);
          break;
        case 0xca: skip = 5; break;   // float32
        case 0xcb: skip = 9; break;   // float64
        case 0xcc: case 0xd0: skip = 2; break;
        case 0xcd: case 0xd1: skip = 3; break;
        case 0xce: case 0xd2: skip = 5; break;
        case 0xcf: case 0xd3: skip = 9; break;
        case 0xd4: skip = 3; break;   // fixext1
        case 0xd5: skip = 4; break;
        case 0xd6: skip = 6; break;
        case 0xd7: skip = 10; break;
        case 0xd8: skip = 18; break;
        case 0xdc: case 0xde:  // array16 / map16
          if (!need(3)) return fail("truncated length");
          children = be(data + pos + 1, 2) * (b == 0xde ? 2 : 1);
          skip = 3, container = true;
          break;
        case 0xdd: case 0xdf:  // array32 / map32
          if (!need(5)) return fail("truncated length");
          children = be(data + pos + 1, 4) * (b == 0xdf ? 2 : 1);
          skip = 5, container = true;
          break;
        default:  // 0xc1 is never used
          return fail("invalid MessagePack type byte " + std::to_string(b));
      }
    }
    if (!need(skip)) return fail("truncated MessagePack value");
    pos += skip;
    if (container) {
      // Every element takes at least one byte: a length beyond the bytes left is a lie.
      if (children > size - pos) return fail("container length exceeds the message");
      if (pending.size() + 1 > max_depth) return fail("nesting deeper than " + std::to_string(max_depth));
      pending.push_back(children);
    }
  }
  if (pos != size) return fail("trailing bytes after the MessagePack value");
  return {};
}

std::string encode(const json& message) {
  std::string out;
  json::to_msgpack(message, nlohmann::detail::output_adapter<char>(out));
  return out;
}

json decode(const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  if (std::string why = check_msgpack(bytes, size); !why.empty()) {
    throw ProtocolError("bad_request", "malformed MessagePack: " + why);
  }
  json out;
  try {
    out = json::from_msgpack(bytes, bytes + size, /*strict=*/true, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    throw ProtocolError("bad_request", std::string("malformed MessagePack: ") + e.what());
  }
  if (!out.is_object()) throw ProtocolError("bad_request", "a message must be a MessagePack map");
  return out;
}

}  // namespace kiln::ipc
