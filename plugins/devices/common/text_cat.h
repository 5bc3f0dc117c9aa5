// cat(a, b, c...): string concatenation by appending. Used where `"literal" + std::string{...}`
// would trip GCC 12's false -Wrestrict warning (GCC PR 105329) inside std::string::insert.
#pragma once

#include <string>

namespace kiln::device_common {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  ((s += parts), ...);
  return s;
}

}  // namespace kiln::device_common
