/* A model plugin built against a future model API: the loader must refuse it with the
 * documented "implements contract version" error (tests/process). */
#include "kiln/plugin.h"

static const int table = 0;
static const kiln_plugin_descriptor descriptor = {
    KILN_PLUGIN_DESCRIPTOR_VERSION, KILN_PLUGIN_MODEL, "badabi", "0.0.1", 999, 0, &table,
};
static const kiln_plugin_descriptor* entry(void) { return &descriptor; }
KILN_DECLARE_PLUGIN(entry);
