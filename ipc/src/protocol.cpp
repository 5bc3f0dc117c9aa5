#include "kiln/ipc/protocol.h"

namespace kiln::ipc {

namespace {
struct KindName {
  JobKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {JobKind::Predict, "Predict"},
    {JobKind::PredictStream, "PredictStream"},
    {JobKind::Embedding, "Embedding"},
    {JobKind::Tokenize, "Tokenize"},
    {JobKind::Detokenize, "Detokenize"},
    {JobKind::GenerateImage, "GenerateImage"},
    {JobKind::AudioTranscription, "AudioTranscription"},
    {JobKind::AudioTranscriptionStream, "AudioTranscriptionStream"},
    {JobKind::ModelMetadata, "ModelMetadata"},
    {JobKind::Status, "Status"},
    {JobKind::Health, "Health"},
    {JobKind::Load, "Load"},
    {JobKind::Free, "Free"},
    {JobKind::Cancel, "Cancel"},
};

[[noreturn]] void wrong_type(const char* field, const char* want, const json& got) {
  throw ProtocolError(err::kBadRequest, std::string("field '") + field + "' must be " + want +
                                            ", got " + got.type_name());
}
}  // namespace

const std::vector<std::string>& job_kind_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& k : kKinds) out.emplace_back(k.name);
    return out;
  }();
  return names;
}

std::optional<JobKind> parse_job_kind(const std::string& name) {
  for (const auto& k : kKinds)
    if (name == k.name) return k.kind;
  return std::nullopt;
}

const char* job_kind_name(JobKind kind) {
  for (const auto& k : kKinds)
    if (kind == k.kind) return k.name;
  return "?";
}

bool runs_on_model(JobKind kind) {
  switch (kind) {
    case JobKind::Status:
    case JobKind::Health:
    case JobKind::Load:
    case JobKind::Free:
    case JobKind::Cancel:
      return false;
    default:
      return true;
  }
}

json make_error(const json& id, const std::string& code, const std::string& message) {
  return json{{"id", id}, {"type", "error"}, {"code", code}, {"message", message}};
}

static json with_type(const json& id, const char* type, json fields) {
  if (!fields.is_object()) fields = json::object();
  fields["id"] = id;
  fields["type"] = type;
  return fields;
}

json make_result(const json& id, json fields) { return with_type(id, "result", std::move(fields)); }
json make_chunk(const json& id, json fields) { return with_type(id, "chunk", std::move(fields)); }
json make_progress(const json& id, json fields) {
  return with_type(id, "progress", std::move(fields));
}

bool is_terminal(const json& reply) {
  auto it = reply.find("type");
  return it != reply.end() && it->is_string() && (*it == "result" || *it == "error");
}

std::optional<std::string> opt_string(const json& m, const char* field) {
  auto it = m.find(field);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) wrong_type(field, "a string", *it);
  return it->get<std::string>();
}

std::optional<int64_t> opt_int(const json& m, const char* field) {
  auto it = m.find(field);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_unsigned()) {
    uint64_t v = it->get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) wrong_type(field, "an integer below 2^63", *it);
    return static_cast<int64_t>(v);
  }
  wrong_type(field, "an integer", *it);
}

std::optional<double> opt_number(const json& m, const char* field) {
  auto it = m.find(field);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) wrong_type(field, "a number", *it);
  return it->get<double>();
}

std::optional<bool> opt_bool(const json& m, const char* field) {
  auto it = m.find(field);
  if (it == m.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) wrong_type(field, "a boolean", *it);
  return it->get<bool>();
}

std::string req_string(const json& m, const char* field) {
  auto v = opt_string(m, field);
  if (!v) throw ProtocolError(err::kBadRequest, std::string("missing field '") + field + "'");
  return *v;
}

void check_job_id(const json& id) {
  if (id.is_number_integer() || id.is_number_unsigned()) return;
  if (id.is_string() && !id.get_ref<const std::string&>().empty() &&
      id.get_ref<const std::string&>().size() <= 256)
    return;
  throw ProtocolError(err::kBadRequest,
                      "field 'id' must be an integer or a string of 1 to 256 bytes");
}

std::string job_id_key(const json& id) {
  if (id.is_string()) return "s:" + id.get<std::string>();
  return "n:" + job_id_text(id);
}

std::string job_id_text(const json& id) { return id.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace kiln::ipc
