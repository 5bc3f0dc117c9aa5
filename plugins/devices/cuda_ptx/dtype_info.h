// Facts about kiln_dtype values (plugins/devices/common/dtype_facts.h) in this plugin's namespace.
#pragma once

#include "common/dtype_facts.h"

namespace kiln::cuda {
using namespace kiln::device_common;
}  // namespace kiln::cuda
