// The shared device-plugin helper (plugins/devices/common/float_bits.h) in this plugin's namespace.
#pragma once

#include "common/float_bits.h"

namespace kiln::cpu {
using namespace kiln::device_common;
}  // namespace kiln::cpu
