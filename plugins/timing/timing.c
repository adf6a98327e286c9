/*
 * timing — a wrapper around every endpoint: measures the rest of the chain
 * and adds the response header `X-Response-Time-Us` (not to a deferred answer,
 * which the step inside finishes later, on its own thread).
 */
#include <plughost/http.h>

#include <time.h>

static const ph_http_t *http;

static ph_status_t timing_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    ph_status_t status = http->call_next(request);
    /* Deferred: the step inside finishes the request, maybe on another thread right now; a
     * wrapper must leave it alone (http.h), so no header. */
    if (status == PH_PENDING) return PH_PENDING;
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long micros = (end.tv_sec - start.tv_sec) * 1000000LL + (end.tv_nsec - start.tv_nsec) / 1000;
    char value[32];
    snprintf(value, sizeof value, "%lld", micros);
    http->set_header(request, "X-Response-Time-Us", value);
    return status == PH_OK ? PH_OK : status;
}

static const ph_wrapper_t timing_wrapper = {
    .struct_size = sizeof(ph_wrapper_t), .phase = PH_WRAP_PRE, .name = "timing", .match = "*",
    .call = timing_call,
};

static ph_status_t timing_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) {
        ph_message_printf(error, "this host serves no HTTP");
        return PH_ERR_UNSUPPORTED;
    }
    *instance = NULL;
    return http->register_wrapper(host, &timing_wrapper, error);
}

static void timing_destroy(void *instance) { (void)instance; }

static const ph_plugin_t timing_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS, .id = "dev.plughost.examples.timing", .version = "1.0.0",
    .description = "Adds X-Response-Time-Us to every response",
    .create = timing_create, .destroy = timing_destroy,
};

PH_EXPORT const ph_plugin_t *timing_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &timing_plugin : NULL;
}
