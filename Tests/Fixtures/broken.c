/* Test fixture: entry points whose descriptors the host must refuse. */
#include <plughost/plugin.h>
#include <stdlib.h>

static ph_status_t create_nothing(const ph_plugin_t *p, const ph_host_t *h, void **instance, ph_message_t *e) {
    (void)p; (void)h; (void)e;
    *instance = NULL;
    return PH_OK;
}

static void destroy_nothing(void *instance) { (void)instance; }

/* A descriptor of a future ABI major: the host must read nothing past the version. */
static const struct { uint32_t major, minor, size; } abi2 = {2, 0, 12};
PH_EXPORT const void *abi2_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &abi2; }

static const ph_plugin_t newer_minor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = 99, .struct_size = sizeof(ph_plugin_t),
    .id = "test.newer-minor", .version = "1.0.0", .create = create_nothing, .destroy = destroy_nothing,
};
PH_EXPORT const ph_plugin_t *newer_minor_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &newer_minor; }

static const ph_plugin_t no_create = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .id = "test.no-create", .version = "1.0.0", .destroy = destroy_nothing,
};
PH_EXPORT const ph_plugin_t *no_create_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &no_create; }

static const ph_plugin_t too_small = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = 16,
    .id = "test.too-small", .version = "1.0.0", .create = create_nothing, .destroy = destroy_nothing,
};
PH_EXPORT const ph_plugin_t *too_small_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return &too_small; }

PH_EXPORT const ph_plugin_t *null_entry(uint32_t major, uint32_t minor) { (void)major; (void)minor; return NULL; }
