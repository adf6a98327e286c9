/*
 * Test fixture: a plugin built against ABI 1.0, whose descriptor ends where a
 * 1.0 descriptor ends. The bytes after it (where 1.1 keeps save_state and
 * restore_state) are garbage: a host that read them would call 0xA5A5….
 * Takes any config (so a test can change it to force a rebuild on reload).
 */
#include <plughost/plugin.h>

#include <stdlib.h>
#include <string.h>

static ph_status_t legacy_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin; (void)config; (void)error;
    return PH_OK;
}

static ph_status_t legacy_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host; (void)error;
    *instance = malloc(1);
    return PH_OK;
}

static void legacy_destroy(void *instance) { free(instance); }

static _Alignas(8) unsigned char storage[PH_PLUGIN_SIZE_1_1];

PH_EXPORT const ph_plugin_t *legacy_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    if (major != PH_ABI_MAJOR) return NULL;
    const ph_plugin_t descriptor = {
        .abi_major = PH_ABI_MAJOR, .abi_minor = 0, .struct_size = PH_PLUGIN_SIZE_1_0,
        .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.legacy", .version = "1.0.0",
        .parse_config = legacy_parse_config, .create = legacy_create, .destroy = legacy_destroy,
    };
    memcpy(storage, &descriptor, PH_PLUGIN_SIZE_1_0);
    memset(storage + PH_PLUGIN_SIZE_1_0, 0xA5, sizeof storage - PH_PLUGIN_SIZE_1_0);
    return (const ph_plugin_t *)(const void *)storage;
}
