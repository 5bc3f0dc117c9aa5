// The exception firewall of every C ABI entry (plugins/devices/common/abi_guard.h), with this
// plugin's name on the messages it writes.
#pragma once

#include <utility>

#include "common/abi_guard.h"

namespace kiln::cpu {
using namespace kiln::device_common;

template <class Body>
kiln_status guard(kiln_error_buf err, Body&& body) noexcept {
  return guard_entry("cpu_llvm", err, std::forward<Body>(body));
}

}  // namespace kiln::cpu
