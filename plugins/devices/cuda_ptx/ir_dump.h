// The shared device-plugin helper (plugins/devices/common/ir_dump.h) in this plugin's namespace.
#pragma once

#include "common/ir_dump.h"

namespace kiln::cuda {
using namespace kiln::device_common;
}  // namespace kiln::cuda
