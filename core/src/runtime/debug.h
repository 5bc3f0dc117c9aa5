#pragma once

namespace kiln::detail {
// KILN_DEBUG: 1 = kernel count and times, 2 = per-kernel launches, 3 = kernel IR, 4 = source.
int debug_level();
}  // namespace kiln::detail
