/* A plugin that crashes on request, for the containment tests:
 *   GET /crash/ok     answers "ok"
 *   GET /crash/segv   dereferences NULL
 *   GET /crash/abort  calls abort()
 *   GET /crash/hang   sleeps for an hour
 *   GET /crash/sleep  sleeps 20 ms, or ?ms=N (a slow, blocking endpoint)
 * It also guards what another plugin serves, as an auth plugin would: a
 * wrapper around GET /count (the versioned fixture's) and a subscription to
 * the check event "crashy.gate" (allows). Quarantined, both must fail closed.
 * Built twice (see the Makefile): build "b" differs only in FIXTURE_BUILD, so
 * its SHA-256 differs, as a fixed build's would. */
#include <plughost/http.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FIXTURE_BUILD
#define FIXTURE_BUILD "a"
#endif

static const ph_http_t *http;

static ph_status_t ok(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    const char *text = "ok " FIXTURE_BUILD;
    return http->set_body(request, text, strlen(text));
}

static ph_status_t segv(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)request; (void)error;
    volatile int *nothing = (volatile int *)user_data;  /* NULL */
    return (ph_status_t)*nothing;
}

static ph_status_t crash_abort(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    abort();
}

static ph_status_t hang(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    sleep(3600);
    return PH_OK;
}

static ph_status_t nap(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    const char *text;
    long ms = http->query(request, "ms", &text, NULL) == PH_OK ? strtol(text, NULL, 10) : 20;
    usleep((useconds_t)(ms > 0 && ms < 60000 ? ms : 20) * 1000);
    return http->set_body(request, "slept", 5);
}

static ph_status_t gate(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    return http->call_next(request);
}

static ph_verdict_t allow(void *user_data, const ph_event_t *event, ph_message_t *reason) {
    (void)user_data; (void)event; (void)reason;
    return PH_ALLOW;
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    const ph_endpoint_t endpoints[] = {
        {sizeof(ph_endpoint_t), "GET", "/crash/ok", ok, NULL},
        {sizeof(ph_endpoint_t), "GET", "/crash/segv", segv, NULL},
        {sizeof(ph_endpoint_t), "GET", "/crash/abort", crash_abort, NULL},
        {sizeof(ph_endpoint_t), "GET", "/crash/hang", hang, NULL},
        {sizeof(ph_endpoint_t), "GET", "/crash/sleep", nap, NULL},
    };
    for (size_t index = 0; index < sizeof endpoints / sizeof endpoints[0]; index++) {
        ph_status_t status = http->register_endpoint(host, &endpoints[index], error);
        if (status != PH_OK) return status;
    }
    const ph_wrapper_t wrapper = {.struct_size = sizeof(ph_wrapper_t), .name = "gate", .match = "GET /count",
                                  .phase = PH_WRAP_PRE, .call = gate};
    ph_status_t status = http->register_wrapper(host, &wrapper, error);
    if (status != PH_OK) return status;
    ph_event_id_t check = host->event_id(host, "crashy.gate");
    status = host->subscribe_check(host, check, 0, allow, NULL);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.crashy", .version = "1.0.0",
    .create = create, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *crashy_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : NULL;
}
