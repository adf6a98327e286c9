/* Compile-time checks of the layouts the host relies on (x86_64/aarch64 LP64). */
#include "plughost/plugin.h"
#include "plughost/http.h"

_Static_assert(offsetof(ph_plugin_t, abi_major) == 0, "descriptor starts with the ABI major");
_Static_assert(offsetof(ph_plugin_t, abi_minor) == 4, "then the ABI minor");
_Static_assert(offsetof(ph_plugin_t, struct_size) == 8, "then its size");
_Static_assert(PH_PLUGIN_SIZE_1_0 == 96, "1.0 descriptor size is frozen");
_Static_assert(PH_PLUGIN_SIZE_1_1 == 112, "1.1 descriptor size is frozen");
_Static_assert(offsetof(ph_plugin_t, save_state) == PH_PLUGIN_SIZE_1_0, "1.1 members follow the 1.0 descriptor");
_Static_assert(PH_HOST_SIZE_1_0 == 144, "1.0 host API size is frozen");
_Static_assert(sizeof(ph_event_t) == 40, "1.0 event size is frozen");
_Static_assert(sizeof(ph_message_t) == 16, "message buffer layout is frozen");
_Static_assert(PH_TYPED_ENDPOINT_SIZE_1_0 == 52, "typed endpoint size before 1.3 is frozen");
_Static_assert(offsetof(ph_typed_endpoint_t, status) == 52, "1.3 typed endpoint members follow the 1.0 ones");
_Static_assert(offsetof(ph_typed_endpoint_t, content_type) == 64, "1.3 typed endpoint strings start at 64");
_Static_assert(sizeof(ph_typed_endpoint_t) == 112, "1.3 typed endpoint size is frozen");

/** Exists so the C target has a symbol; the host links it into nothing else. */
const unsigned ph_sdk_abi_major = PH_ABI_MAJOR;
