/* A device-kind descriptor compiled five ways, one per loader check (plain C on purpose: the
 * contract must be implementable without C++). */
#include "kiln/device.h"
#include "kiln/plugin.h"

#if !VARIANT_NO_API
static const kiln_device_api api = {.struct_size = sizeof(kiln_device_api)};
#endif

static const kiln_plugin_descriptor descriptor = {
    KILN_PLUGIN_DESCRIPTOR_VERSION,
#if VARIANT_WRONG_KIND
    KILN_PLUGIN_MODEL,
#else
    KILN_PLUGIN_DEVICE,
#endif
    "test_device",
    "0.0.1",
#if VARIANT_WRONG_ABI
    KILN_DEVICE_ABI_VERSION + 100,
#else
    KILN_DEVICE_ABI_VERSION,
#endif
#if VARIANT_WRONG_IR
    KILN_IR_VERSION + 7,
#else
    KILN_IR_VERSION,
#endif
#if VARIANT_NO_API
    0,
#else
    &api,
#endif
};

static const kiln_plugin_descriptor* entry(void) { return &descriptor; }
KILN_DECLARE_PLUGIN(entry);
