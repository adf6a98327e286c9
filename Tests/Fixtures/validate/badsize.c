/*
 * Validator fixture `badsize` (alias bad-size). Breaks ONE rule: the descriptor's
 * `struct_size` (88) is smaller than even the ABI 1.0 descriptor
 * (PH_PLUGIN_SIZE_1_0 = 96; an ABI 1.1/1.2 descriptor needs PH_PLUGIN_SIZE_1_1 = 112).
 * Everything else is a correct ABI 1.2 plugin: the members the host needs
 * (id, version, create at 56, destroy at 80) all lie inside the 88 bytes.
 *
 * Must fail:  descriptor   reason "descriptor size 88 is smaller than" (the host's own
 *             words: "... an ABI 1.2 descriptor (112 bytes)"). `plughost check` says so too.
 * A validator that goes on anyway must read nothing at or past offset 88 (get_extension,
 * save_state, restore_state are absent).
 */
#include <plughost/plugin.h>

#include <stdlib.h>

static ph_status_t badsize_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static void badsize_destroy(void *instance) { free(instance); }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR,
    .struct_size = PH_PLUGIN_SIZE_1_0 - 8,                     /* THE BUG: 88 < 96 (and < 112) */
    .flags = 0, .id = "test.validate.badsize", .version = "1.0.0",
    .create = badsize_create, .destroy = badsize_destroy,
};

PH_EXPORT const ph_plugin_t *badsize_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
