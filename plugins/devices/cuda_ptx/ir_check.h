// Kernel IR validation (plugins/devices/common/ir_check.h) in this plugin's namespace.
#pragma once

#include "common/ir_check.h"

namespace kiln::cuda {
using namespace kiln::device_common;
}  // namespace kiln::cuda
