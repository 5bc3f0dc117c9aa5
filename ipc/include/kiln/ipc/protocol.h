// The client protocol's vocabulary (docs/protocol.md is the full description): job kinds,
// reply types, error codes, and helpers to build replies and read request fields strictly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/ipc/codec.h"

namespace kiln::ipc {

constexpr int kProtocolVersion = 1;

enum class JobKind {
  Predict,
  PredictStream,
  Embedding,
  Tokenize,
  Detokenize,
  GenerateImage,
  AudioTranscription,
  AudioTranscriptionStream,
  ModelMetadata,
  Status,
  Health,
  Load,
  Free,
  Cancel,
};

const std::vector<std::string>& job_kind_names();
std::optional<JobKind> parse_job_kind(const std::string& name);
const char* job_kind_name(JobKind kind);
// Jobs a runner executes (the rest the supervisor answers itself).
bool runs_on_model(JobKind kind);

// Error codes (docs/protocol.md lists when each is sent).
namespace err {
inline constexpr const char* kBadRequest = "bad_request";
inline constexpr const char* kUnknownKind = "unknown_kind";
inline constexpr const char* kUnknownModel = "unknown_model";
inline constexpr const char* kDuplicateId = "duplicate_id";
inline constexpr const char* kPayloadTooLarge = "payload_too_large";
inline constexpr const char* kQueueFull = "queue_full";
inline constexpr const char* kDeadlineExceeded = "deadline_exceeded";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kRunnerCrashed = "runner_crashed";
inline constexpr const char* kLoadFailed = "load_failed";
inline constexpr const char* kUnsupported = "unsupported";
inline constexpr const char* kModelError = "model_error";
inline constexpr const char* kForbidden = "forbidden";
inline constexpr const char* kShuttingDown = "shutting_down";
inline constexpr const char* kInternal = "internal";
}  // namespace err

// Reply builders. `id` is the client's job id exactly as it sent it (string or integer).
json make_error(const json& id, const std::string& code, const std::string& message);
json make_result(const json& id, json fields = json::object());
json make_chunk(const json& id, json fields = json::object());
json make_progress(const json& id, json fields = json::object());
bool is_terminal(const json& reply);  // "result" or "error"

// Strict field readers: a wrong type throws ProtocolError(bad_request) naming the field.
std::optional<std::string> opt_string(const json& m, const char* field);
std::optional<int64_t> opt_int(const json& m, const char* field);
std::optional<double> opt_number(const json& m, const char* field);
std::optional<bool> opt_bool(const json& m, const char* field);
std::string req_string(const json& m, const char* field);

// A client job id: a string of at most 256 bytes or an integer. Throws bad_request otherwise.
void check_job_id(const json& id);
// A map key for a job id: distinct ids give distinct keys, whatever bytes a string id holds
// (json::dump throws on a string that is not UTF-8, and MessagePack does not promise UTF-8).
std::string job_id_key(const json& id);
// A job id for messages and logs (bytes that are not UTF-8 shown as U+FFFD). Never throws.
std::string job_id_text(const json& id);

}  // namespace kiln::ipc
