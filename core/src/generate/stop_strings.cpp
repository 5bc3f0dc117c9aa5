// Stop strings over streamed text. A match may span any number of tokens, so the tail of the
// text that is a proper prefix of some stop string waits until it is decided either way.
#include <algorithm>

#include "kiln/generate.h"

namespace kiln {

StopStringFilter::StopStringFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopStringFilter::push(std::string_view text) {
  if (matched_) return {};
  held_.append(text);
  // The earliest match wins, whichever stop string it is.
  size_t hit = std::string::npos;
  for (const auto& s : stops_) hit = std::min(hit, held_.find(s));
  if (hit != std::string::npos) {
    matched_ = true;
    std::string out = held_.substr(0, hit);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t k = std::min(s.size() - 1, held_.size()); k > keep; --k) {
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace kiln
