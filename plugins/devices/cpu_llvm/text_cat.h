// The shared device-plugin helper (plugins/devices/common/text_cat.h) in this plugin's namespace.
#pragma once

#include "common/text_cat.h"

namespace kiln::cpu {
using namespace kiln::device_common;
}  // namespace kiln::cpu
