/* A library that crashes while it is being loaded: its constructor
 * dereferences NULL, before the host gets to call anything. */
#include <plughost/plugin.h>

/* Volatile, so the compiler cannot see the NULL and drop the store as undefined. */
static int *volatile target = 0;

__attribute__((constructor)) static void crash_on_load(void) {
    *target = 1;
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host; (void)error;
    *instance = 0;
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.ctor-crash", .version = "1.0.0",
    .create = create, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *ctor_crash_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : 0;
}
