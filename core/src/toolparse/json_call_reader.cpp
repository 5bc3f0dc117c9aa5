// JsonCallReader: one {"name": .., "arguments": {..}} object, streamed. The call starts as soon
// as its name is known; an arguments object is passed through as raw fragments while it
// arrives (the scanner guarantees they are the exact JSON text of the value).
#include "kiln/toolparse_base.h"
#include "kiln/toolparse_json.h"

namespace kiln::toolparse {

namespace {
// A JSON string token (with quotes) decoded, or nullopt if it is not one.
std::optional<std::string> decode_string(std::string_view token) {
  nlohmann::json j = nlohmann::json::parse(token, nullptr, false);
  if (j.is_discarded() || !j.is_string()) return std::nullopt;
  return j.get<std::string>();
}
}  // namespace

size_t JsonCallReader::feed(std::string_view text) {
  size_t used = 0;
  while (used < text.size() && outcome_ == Outcome::reading) {
    const char c = text[used];
    const JsonScanner::Status st = scanner_.push(c);
    if (st == JsonScanner::Status::error) {
      // The offending byte stays with the caller: it may be markup (or the start of a call).
      if (index_ >= 0 || name_) {
        decide(Outcome::invalid, ToolProblem::invalid_json, "tool call is not valid JSON");
      } else {
        decide(Outcome::not_a_call, ToolProblem::invalid_json, "tool call is not valid JSON");
      }
      break;
    }
    raw_.push_back(c);
    ++used;
    if (scanner_.events() != 0) on_events();
    if (outcome_ != Outcome::reading) break;
    if (st == JsonScanner::Status::done) complete();
  }
  if (outcome_ == Outcome::reading) stream_arguments();
  return used;
}

void JsonCallReader::end_of_input() {
  if (outcome_ != Outcome::reading) return;
  const std::string msg = "output ended inside a tool call";
  decide(index_ >= 0 || name_ ? Outcome::invalid : Outcome::not_a_call, ToolProblem::truncated,
         msg);
}

void JsonCallReader::on_events() {
  const unsigned ev = scanner_.events();
  const std::string_view raw(raw_);
  if (ev & JsonScanner::key_end) {
    auto key = decode_string(raw.substr(scanner_.key_start(),
                                        scanner_.key_stop() - scanner_.key_start()));
    member_ = Member::other;
    if (key == "name") member_ = Member::name;
    else if (key == "arguments" || key == "parameters") member_ = Member::arguments;
    // A second name or arguments member would make the streamed call disagree with the JSON.
    if ((member_ == Member::name && name_) || (member_ == Member::arguments && args_seen_)) {
      decide(Outcome::invalid, ToolProblem::invalid_json,
             "tool call has a duplicate \"" + *key + "\" member");
      return;
    }
  }
  if ((ev & JsonScanner::value_begin) && member_ == Member::arguments) {
    args_seen_ = true;
    args_start_ = scanner_.value_start();
    args_emitted_ = args_start_;
    args_streamable_ = raw_[args_start_] == '{';
  }
  if (ev & JsonScanner::value_end) {
    const size_t start = scanner_.value_start(), stop = scanner_.value_stop();
    if (member_ == Member::name) {
      name_ = decode_string(raw.substr(start, stop - start));
      if (!name_) {
        decide(index_ >= 0 ? Outcome::invalid : Outcome::not_a_call, ToolProblem::invalid_json,
               "tool call \"name\" is not a string");
        return;
      }
    } else if (member_ == Member::arguments) {
      args_end_ = stop;
    }
    member_ = Member::other;
  }
  try_start();
}

void JsonCallReader::try_start() {
  if (index_ >= 0 || !name_ || outcome_ != Outcome::reading) return;
  if (require_args_key_ && !args_seen_) return;
  if (name_->empty()) {
    decide(Outcome::invalid, ToolProblem::invalid_json, "tool call has an empty name");
    return;
  }
  if (!out_.tools().empty() && !out_.tools().has(*name_)) {
    decide(Outcome::rejected, ToolProblem::unknown_function,
           "unknown function '" + *name_ + "'");
    return;
  }
  index_ = out_.start_call(*name_);
}

void JsonCallReader::stream_arguments() {
  if (index_ < 0 || !args_seen_ || !args_streamable_) return;
  const size_t upto = args_end_ != std::string::npos ? args_end_ : raw_.size();
  if (upto > args_emitted_) {
    out_.arguments(index_, std::string_view(raw_).substr(args_emitted_, upto - args_emitted_));
    args_emitted_ = upto;
  }
}

void JsonCallReader::complete() {
  nlohmann::json obj = nlohmann::json::parse(raw_, nullptr, false);
  if (obj.is_discarded() || !obj.is_object()) {
    decide(index_ >= 0 || name_ ? Outcome::invalid : Outcome::not_a_call,
           ToolProblem::invalid_json, "tool call is not valid JSON");
    return;
  }
  if (!name_) {
    decide(Outcome::not_a_call, ToolProblem::invalid_json, "tool call has no \"name\"");
    return;
  }
  if (require_args_key_ && !args_seen_) {
    decide(Outcome::not_a_call, ToolProblem::invalid_json,
           "tool call has no \"parameters\" or \"arguments\"");
    return;
  }
  try_start();
  if (outcome_ != Outcome::reading) return;
  if (!args_seen_) {
    out_.arguments(index_, "{}");
  } else if (args_streamable_) {
    stream_arguments();
  } else {
    // Not an object: null means no arguments; a string may hold the JSON object as text.
    const auto& v = obj.contains("arguments") ? obj["arguments"] : obj["parameters"];
    nlohmann::json inner = v;
    if (v.is_string()) {
      const std::string& text = v.get_ref<const std::string&>();
      inner = json_max_nesting(text) > kMaxJsonNesting
                  ? nlohmann::json(nlohmann::json::value_t::discarded)
                  : nlohmann::json::parse(text, nullptr, false);
    }
    if (v.is_null()) {
      out_.arguments(index_, "{}");
    } else if (!inner.is_discarded() && inner.is_object()) {
      out_.arguments(index_, inner.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      decide(Outcome::invalid, ToolProblem::invalid_arguments,
             "tool call arguments are not a JSON object");
      return;
    }
  }
  out_.end_call(index_);
  decide(Outcome::call);
}

void JsonCallReader::decide(Outcome o, ToolProblem p, std::string msg) {
  outcome_ = o;
  problem_ = p;
  message_ = std::move(msg);
}

}  // namespace kiln::toolparse
