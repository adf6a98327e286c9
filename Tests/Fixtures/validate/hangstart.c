/*
 * Validator fixture `hangstart` (alias hang-start). Breaks ONE rule: a lifecycle
 * call must return; this start sleeps forever (a loop around sleep, so no signal
 * the validator might send other than a kill ends it).
 *
 * Must fail:  lifecycle   reason "timed out" (in start, after the per-test limit);
 *             the child is killed and the validator goes on with the next test.
 * Every test that calls start times out too; heap (create/destroy only),
 * descriptor and entry pass. `plughost check` never calls start: it passes.
 */
#include <plughost/plugin.h>

#include <stdlib.h>
#include <unistd.h>

static ph_status_t hangstart_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static ph_status_t hangstart_start(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    for (;;) sleep(3600);                                      /* THE BUG: never returns */
    return PH_OK;
}

static ph_status_t hangstart_stop(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    return PH_OK;
}

static void hangstart_destroy(void *instance) { free(instance); }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.hangstart", .version = "1.0.0",
    .create = hangstart_create, .start = hangstart_start, .stop = hangstart_stop, .destroy = hangstart_destroy,
};

PH_EXPORT const ph_plugin_t *hangstart_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
