// DeviceError and fail() (plugins/devices/common/errors.h) in this plugin's namespace.
#pragma once

#include "common/errors.h"

namespace kiln::cuda {
using namespace kiln::device_common;
}  // namespace kiln::cuda
