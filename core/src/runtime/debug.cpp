#include "runtime/debug.h"

#include <cstdlib>

namespace kiln::detail {
int debug_level() {
  static int level = [] {
    const char* e = std::getenv("KILN_DEBUG");
    return e ? std::atoi(e) : 0;
  }();
  return level;
}
}  // namespace kiln::detail
