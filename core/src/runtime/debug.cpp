#include "runtime/debug.h"

#include "kiln/env.h"

namespace kiln::detail {
int debug_level() {
  static int level = env::integer("KILN_DEBUG", 0);
  return level;
}
}  // namespace kiln::detail
