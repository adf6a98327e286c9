/*
 * Validator fixture `crashcreate` (alias crash-create). Breaks ONE rule: a plugin
 * call must never crash the process; this create dereferences NULL (SIGSEGV).
 * The pointer is read from a volatile variable, so the compiler emits a real store
 * to address 0 (a literal NULL store would become a trap instruction, SIGILL).
 *
 * Must fail:  lifecycle   reason "crashed (SIGSEGV)" in create; the validator itself
 *             must exit normally (exit status 1, report printed), not die.
 * Every test that calls create crashes the same way (heap, config, threads, typed,
 * wrappers, stray-threads, late-calls); descriptor and entry pass. `plughost check`
 * never calls create: it passes.
 */
#include <plughost/plugin.h>

static int *volatile nowhere;                                  /* NULL, unknown to the optimizer */

static ph_status_t crashcreate_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host; (void)error;
    *nowhere = 1;                                              /* THE BUG: SIGSEGV */
    *instance = NULL;
    return PH_OK;
}

static void crashcreate_destroy(void *instance) { (void)instance; }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.crashcreate", .version = "1.0.0",
    .create = crashcreate_create, .destroy = crashcreate_destroy,
};

PH_EXPORT const ph_plugin_t *crashcreate_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
