// The plugin's one internal exception: a status code plus text. Thrown anywhere inside the
// plugin, turned into (kiln_status, error text) at the C ABI boundary (abi_guard.h).
#pragma once

#include <stdexcept>
#include <string>

#include "kiln/device.h"

namespace kiln::device_common {

class DeviceError : public std::runtime_error {
 public:
  DeviceError(kiln_status status, const std::string& what)
      : std::runtime_error(what), status_(status) {}
  kiln_status status() const { return status_; }

 private:
  kiln_status status_;
};

[[noreturn]] inline void fail(kiln_status status, const std::string& what) {
  throw DeviceError(status, what);
}

}  // namespace kiln::device_common
