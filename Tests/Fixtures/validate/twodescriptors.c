/*
 * Validator fixture `twodescriptors` (alias two-descriptors). Breaks ONE rule: the
 * entry must have no side effect and answer the same descriptor every time; this
 * one counts its calls (for the host's major) and alternates between two static
 * descriptors: odd calls (the 1st, 3rd, ...) answer `first`, even calls `second`,
 * another pointer AND other contents (version "1.0.1" instead of "1.0.0"). So any
 * two calls in a row differ, however many calls came before (e.g. one in a parent
 * process before a fork). Each descriptor on its own is correct: a process that
 * calls the entry once (`plughost check`, every other test) sees a valid plugin.
 *
 * Must fail:  entry   reason "returned a different descriptor on the second call"
 *             (pointer differs; contents differ: version).
 * Calls with a foreign major answer NULL and are not counted.
 */
#include <plughost/plugin.h>

#include <stdatomic.h>
#include <stdlib.h>

static ph_status_t twodescriptors_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static void twodescriptors_destroy(void *instance) { free(instance); }

static const ph_plugin_t first = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.twodescriptors", .version = "1.0.0",
    .create = twodescriptors_create, .destroy = twodescriptors_destroy,
};

static const ph_plugin_t second = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.twodescriptors", .version = "1.0.1",
    .create = twodescriptors_create, .destroy = twodescriptors_destroy,
};

static atomic_uint calls;

PH_EXPORT const ph_plugin_t *twodescriptors_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    if (host_major != PH_ABI_MAJOR) return NULL;
    return atomic_fetch_add(&calls, 1) % 2 == 0 ? &first : &second;   /* THE BUG: a side effect, another answer */
}
