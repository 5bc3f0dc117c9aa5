// Fuzzes what the supervisor does with every client frame: check, decode, read the envelope.
#include <cstddef>
#include <cstdint>

#include "kiln/ipc/codec.h"
#include "kiln/ipc/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    kiln::ipc::json m = kiln::ipc::decode(data, size);
    if (m.contains("id")) kiln::ipc::check_job_id(m["id"]);
    (void)kiln::ipc::opt_string(m, "kind");
    (void)kiln::ipc::opt_int(m, "max_tokens");
    (void)kiln::ipc::encode(m);
  } catch (const kiln::ipc::ProtocolError&) {
  }
  return 0;
}
