// The exception firewall of every C ABI entry: no C++ exception may cross into the caller
// (which may not even be C++). Each entry runs its body inside guard(), which maps
// DeviceError / bad_alloc / anything else to a status and writes the text into the caller's
// buffer.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "common/errors.h"
#include "kiln/device.h"

namespace kiln::device_common {

// Copies `text` into the caller-owned buffer, truncated, always NUL-terminated.
inline void write_error(kiln_error_buf err, const std::string& text) noexcept {
  if (err.text == nullptr || err.size == 0) return;
  size_t n = text.size() < err.size - 1 ? text.size() : err.size - 1;
  std::memcpy(err.text, text.data(), n);
  err.text[n] = '\0';
}

// `plugin` prefixes the messages of errors that are not DeviceErrors ("cpu_llvm: ...").
template <class Body>
kiln_status guard_entry(const char* plugin, kiln_error_buf err, Body&& body) noexcept {
  try {
    body();
    return KILN_OK;
  } catch (const DeviceError& e) {
    write_error(err, e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    write_error(err, std::string(plugin) + ": out of host memory");
    return KILN_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    write_error(err, std::string(plugin) + ": internal error: " + e.what());
    return KILN_ERR_INTERNAL;
  } catch (...) {
    write_error(err, std::string(plugin) + ": internal error (unknown exception)");
    return KILN_ERR_INTERNAL;
  }
}

}  // namespace kiln::device_common
