#pragma once
// Kiln's environment variables (KILN_*: tuning knobs and measuring switches, debugging, paths),
// read one way everywhere. Header-only: device plugins, which link nothing of core, use it too.
#include <cstdlib>
#include <cstring>

namespace kiln::env {

// The variable's value; nullptr when it is unset or empty (an empty value counts as unset)
inline const char* value(const char* name) {
  const char* e = std::getenv(name);
  return e != nullptr && *e != '\0' ? e : nullptr;
}

// Whether the variable is set to exactly `v`
inline bool equals(const char* name, const char* v) {
  const char* e = value(name);
  return e != nullptr && std::strcmp(e, v) == 0;
}

// The switches: "1" turns one on, "0" off; any other value leaves its default
inline bool is_on(const char* name) {
  return equals(name, "1");
}
inline bool is_off(const char* name) {
  return equals(name, "0");
}

// Its value read as an integer (atoi), or `fallback` when it is unset or empty
inline int integer(const char* name, int fallback) {
  const char* e = value(name);
  return e != nullptr ? std::atoi(e) : fallback;
}

}  // namespace kiln::env
