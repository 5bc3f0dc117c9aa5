#include "runtime/stats.h"

namespace kiln::detail {
RuntimeStats& stats() {
  static RuntimeStats s;
  return s;
}
}  // namespace kiln::detail
