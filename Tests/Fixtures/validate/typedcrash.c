/*
 * Validator fixture `typedcrash` (alias typed-crash). Breaks ONE rule: a typed
 * endpoint's function must take every value its signature admits; this one
 * divides by its int64 parameter without a check:
 *     typed GET /tc/split/:total/:parts    int64 split(int64 total, int64 parts) = total / parts
 * parts = 0 raises SIGFPE (x86-64 idiv), and so does total = INT64_MIN with
 * parts = -1 (the quotient overflows). Any other pair answers correctly.
 * (AArch64 does not trap on integer division: there the fixture only works on x86-64.)
 *
 * Must fail:  typed (boundary values)   reason "crashed (SIGFPE)", calling split
 *             with parts = 0 (or INT64_MIN / -1).
 * Needs the HTTP extension (PH_EXT_HTTP) to register; without it, create fails with a message.
 */
#include <plughost/http.h>

#include <stdint.h>

static int64_t split(int64_t total, int64_t parts) {
    return total / parts;                                      /* THE BUG: no check for 0 or INT64_MIN / -1 */
}

static const ph_param_t split_params[] = {
    {"total", PH_SOURCE_PATH, PH_TYPE_INT64},
    {"parts", PH_SOURCE_PATH, PH_TYPE_INT64},
};

static ph_status_t typedcrash_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_http_t *http = host->get_extension != NULL ? host->get_extension(host, PH_EXT_HTTP) : NULL;
    if (http == NULL) {
        ph_message_printf(error, "needs the HTTP extension %s", PH_EXT_HTTP);
        return PH_ERR_UNSUPPORTED;
    }
    const ph_typed_endpoint_t endpoint = {
        .struct_size = sizeof(ph_typed_endpoint_t), .method = "GET", .path = "/tc/split/:total/:parts",
        .function = (void (*)(void))split, .params = split_params, .param_count = 2, .result = PH_TYPE_INT64,
    };
    ph_status_t status = http->register_typed_endpoint(host, &endpoint, error);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static void typedcrash_destroy(void *instance) { (void)instance; }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.typedcrash", .version = "1.0.0",
    .create = typedcrash_create, .destroy = typedcrash_destroy,
};

PH_EXPORT const ph_plugin_t *typedcrash_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
