// kiln::Error — the one exception type Kiln's C++ API throws for bad input: shape mismatches,
// invalid axes, malformed files, refused plugins. The message names the offending thing.
#pragma once

#include <stdexcept>
#include <string>

namespace kiln {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace kiln
