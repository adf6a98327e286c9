/* Bench and dispatch fixture: subscribes a callback that only counts to "bench.tick". */
#include <plughost/plugin.h>
#include <stdlib.h>

typedef struct { uint64_t count; } noop_t;

static void on_tick(void *user_data, const ph_event_t *event) {
    (void)event;
    ((noop_t *)user_data)->count++;
}

/** The same callback, for baselines that call it directly. */
PH_EXPORT void noop_tick(void *user_data, const ph_event_t *event) { on_tick(user_data, event); }

static ph_status_t noop_create(const ph_plugin_t *p, const ph_host_t *host, void **instance, ph_message_t *e) {
    (void)p; (void)e;
    noop_t *n = calloc(1, sizeof *n);
    host->subscribe(host, host->event_id(host, "bench.tick"), PH_PRIORITY_DEFAULT, on_tick, n);
    *instance = n;
    return PH_OK;
}

static void noop_destroy(void *instance) { free(instance); }

/* Declared as an ABI 1.0 plugin (the size and minor an old build reports):
 * the host must load it and must not read the 1.1 members. */
static const ph_plugin_t noop = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = 0, .struct_size = PH_PLUGIN_SIZE_1_0,
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.noop", .version = "1.0.0",
    .create = noop_create, .destroy = noop_destroy,
};

PH_EXPORT const ph_plugin_t *noop_entry(uint32_t major, uint32_t minor) { (void)minor; return major == PH_ABI_MAJOR ? &noop : NULL; }
