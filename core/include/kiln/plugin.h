/* Kiln plugin entry point: every plugin .so exports one symbol, `kiln_plugin_entry`, a
 * Boost.DLL-style alias (a data symbol holding a pointer to a function) that returns a
 * descriptor. Plain C so that any compiler can produce a loadable plugin. */
#ifndef KILN_PLUGIN_H
#define KILN_PLUGIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_PLUGIN_ENTRY_SYMBOL "kiln_plugin_entry"
/* Version of this descriptor layout itself; bumped only if kiln_plugin_descriptor changes. */
#define KILN_PLUGIN_DESCRIPTOR_VERSION 1

typedef enum kiln_plugin_kind {
  KILN_PLUGIN_DEVICE = 1,
  KILN_PLUGIN_MODEL = 2,
  KILN_PLUGIN_TOOLPARSER = 3,
} kiln_plugin_kind;

typedef struct kiln_plugin_descriptor {
  uint32_t descriptor_version; /* KILN_PLUGIN_DESCRIPTOR_VERSION */
  uint32_t kind;               /* kiln_plugin_kind */
  const char* name;            /* unique per kind, e.g. "cpu_llvm", "llama", "hermes" */
  const char* version;         /* the plugin's own version, free text */
  /* The version of the contract this plugin implements: KILN_DEVICE_ABI_VERSION,
   * KILN_MODEL_API_VERSION or KILN_TOOLPARSER_API_VERSION depending on kind. */
  uint32_t contract_version;
  /* Device plugins: the KILN_IR_VERSION they render. 0 for other kinds. */
  uint32_t kernel_ir_version;
  /* Kind-specific table: const kiln_device_api* for devices; for models and tool parsers
   * the factory declared in model.h / toolparser.h. */
  const void* api;
} kiln_plugin_descriptor;

typedef const kiln_plugin_descriptor* (*kiln_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

/* Exports FN (a function returning const kiln_plugin_descriptor*) as the plugin entry.
 * Same layout as BOOST_DLL_ALIAS: an exported pointer-sized variable named after the alias,
 * placed in the "boostdll" section so boost::dll::library_info can list it. */
#define KILN_PLUGIN_ENTRY_DEFINITION_(FN)                                  \
  __attribute__((visibility("default"), section("boostdll"), used)) const void* \
      kiln_plugin_entry = (const void*)(&FN)
/* In C++ the definition sits in an extern "C" block: `extern "C" T x = init;` makes GCC warn
 * "initialized and declared 'extern'" in every C++ plugin. */
#if defined(__cplusplus)
#define KILN_DECLARE_PLUGIN(FN) \
  extern "C" {                  \
  KILN_PLUGIN_ENTRY_DEFINITION_(FN); \
  }
#else
#define KILN_DECLARE_PLUGIN(FN) KILN_PLUGIN_ENTRY_DEFINITION_(FN)
#endif

#endif /* KILN_PLUGIN_H */
