/*
 * Validator fixture `foreignmajor` (alias foreign-major). Breaks ONE rule: the entry
 * ignores `host_abi_major` and returns its descriptor to any host, while it must
 * answer NULL to a host whose major is not PH_ABI_MAJOR (the descriptor's layout
 * means nothing to such a host).
 *
 * Must fail:  entry   reason "returned a descriptor for foreign ABI major"
 *             (the validator calls the entry with major PH_ABI_MAJOR + 1, e.g. (2, 0), and 0).
 * `plughost check` calls the entry only with (1, 2): it passes.
 */
#include <plughost/plugin.h>

#include <stdlib.h>

static ph_status_t foreignmajor_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static void foreignmajor_destroy(void *instance) { free(instance); }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.foreignmajor", .version = "1.0.0",
    .create = foreignmajor_create, .destroy = foreignmajor_destroy,
};

PH_EXPORT const ph_plugin_t *foreignmajor_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_major; (void)host_minor;                         /* THE BUG: no major check */
    return &descriptor;
}
