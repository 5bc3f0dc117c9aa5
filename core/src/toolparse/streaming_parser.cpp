// StreamingToolParser: the input buffer, the step loop, reasoning blocks and the guarantees
// that hold for every parser (no exception escapes, nothing of the output is dropped).
#include <random>

#include "kiln/toolparse_base.h"

namespace kiln::toolparse {

namespace {
uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}
// Steps that change state without consuming input; more in a row means a parser bug.
constexpr int kMaxIdleSteps = 64;
}  // namespace

StreamingToolParser::StreamingToolParser(IdStyle ids, std::vector<ThinkTags> think_tags)
    : out_(ids, random_seed()), think_tags_(std::move(think_tags)) {}

void StreamingToolParser::set_tools(const nlohmann::json& tools) {
  try {
    out_.set_tools(ToolSet::from_json(tools));
  } catch (...) {
    out_.set_tools(ToolSet{});
  }
}

void StreamingToolParser::set_reasoning_open(bool open) {
  if (pos_ == 0 && buf_.empty()) reasoning_tag_ = open && !think_tags_.empty() ? 0 : -1;
}

void StreamingToolParser::set_id_seed(uint64_t seed) { out_.reseed(seed); }

void StreamingToolParser::consume(size_t n) {
  if (n == 0) return;
  pos_ += std::min(n, buf_.size() - pos_);
  ++epoch_;
}

std::vector<ToolDelta> StreamingToolParser::feed(std::string_view text) {
  try {
    if (finished_) {
      out_.flag(ToolProblem::internal_error, "text fed after finish() is kept as content");
      out_.content(text);
      return out_.take();
    }
    buf_.append(text);
    if (broken_) {
      out_.content(input());
      consume(input().size());
    } else {
      run(false);
    }
  } catch (const std::exception& e) {
    recover(e.what());
  } catch (...) {
    recover("unknown exception");
  }
  try {
    return out_.take();
  } catch (...) {
    return {};
  }
}

std::vector<ToolDelta> StreamingToolParser::finish() {
  try {
    if (!finished_) {
      if (!broken_) {
        run(true);
        end_of_input();
      }
      if (reasoning_tag_ >= 0) out_.reasoning(input());
      else out_.content(input());
      consume(input().size());
      out_.finish();
      finished_ = true;
    }
  } catch (const std::exception& e) {
    recover(e.what());
    finished_ = true;
  } catch (...) {
    recover("unknown exception");
    finished_ = true;
  }
  try {
    return out_.take();
  } catch (...) {
    return {};
  }
}

void StreamingToolParser::recover(const char* what) {
  // Keep every byte not yet emitted: it goes out as content, and so does all later input.
  broken_ = true;
  try {
    out_.flag(ToolProblem::internal_error, std::string("tool-call parser failed: ") + what);
    out_.content(input());
    pos_ = buf_.size();
    if (finished_) out_.finish();
  } catch (...) {
  }
}

void StreamingToolParser::run(bool final) {
  int idle = 0;
  while (!input().empty() || final) {
    const uint64_t before = epoch_;
    const size_t pos_before = pos_;
    if (reasoning_tag_ >= 0) reasoning_step(final);
    else step(final);
    if (epoch_ == before) break;
    idle = pos_ == pos_before ? idle + 1 : 0;
    if (idle > kMaxIdleSteps) throw std::logic_error("parser state machine does not advance");
  }
  // Drop consumed bytes once they dominate the buffer.
  if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

void StreamingToolParser::reasoning_step(bool final) {
  const std::string_view close = think_tags_[reasoning_tag_].close;
  std::string_view in = input();
  size_t p = in.find(close);
  if (p != std::string_view::npos) {
    out_.reasoning(in.substr(0, p));
    consume(p + close.size());
    reasoning_tag_ = -1;
    return;
  }
  size_t keep = final ? 0 : partial_marker_tail(in, {close});
  out_.reasoning(in.substr(0, in.size() - keep));
  consume(in.size() - keep);
}

bool StreamingToolParser::skip_space(std::string& raw) {
  std::string_view in = input();
  size_t n = 0;
  while (n < in.size() && is_space(in[n])) ++n;
  raw.append(in.substr(0, n));
  consume(n);
  return n < in.size();
}

int StreamingToolParser::scan_text(const std::vector<std::string_view>& markers, bool final) {
  scan_markers_.assign(markers.begin(), markers.end());
  for (const auto& t : think_tags_) scan_markers_.push_back(t.open);
  std::string_view in = input();
  MarkerHit hit = find_marker(in, scan_markers_);
  if (hit.pos != std::string_view::npos) {
    out_.content(in.substr(0, hit.pos));
    consume(hit.pos);
    if (hit.which < static_cast<int>(markers.size())) return hit.which;
    const int tag = hit.which - static_cast<int>(markers.size());
    consume(think_tags_[tag].open.size());
    reasoning_tag_ = tag;
    return -1;
  }
  size_t keep = final ? 0 : partial_marker_tail(in, scan_markers_);
  out_.content(in.substr(0, in.size() - keep));
  consume(in.size() - keep);
  return -1;
}

}  // namespace kiln::toolparse
