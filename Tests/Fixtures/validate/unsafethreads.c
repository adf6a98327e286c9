/*
 * Validator fixture `unsafethreads` (alias unsafe-threads). Breaks ONE rule: a plugin
 * that sets PH_PLUGIN_THREAD_SAFE must take concurrent calls; this one sets it, but
 * its event callback increments a shared counter in two steps (a load, a ~60 us
 * pause, a store: an unsynchronized read-modify-write), so two concurrent events
 * lose an update. Each call then compares the counter with an atomic tally of the
 * events it has seen and abort()s on a lost update (counter < tally), after writing
 * "unsafethreads: lost update" to stderr. Called one at a time (one thread, or
 * serialised by the host) the counter always equals the tally: it never fails.
 * The relaxed atomic load and store keep each step a real memory access without a
 * data race the compiler could exploit; only their sum is not atomic.
 *
 * Subscribes to "unsafethreads.tick" (custom) and to plughost.request-received; payloads are not read.
 *
 * Must fail:  threads (concurrent events)   reason "crashed (SIGABRT)" (stderr: "lost update").
 *             With 4 threads it fails within the first few dozen events (two calls
 *             inside the same 60 us window are enough); far below 10,000.
 */
#include <plughost/plugin.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct unsafethreads {
    _Atomic uint64_t counter;    /* incremented non-atomically: THE BUG */
    _Atomic uint64_t tally;      /* incremented atomically: the truth */
} unsafethreads_t;

static void on_tick(void *user_data, const ph_event_t *event) {
    unsafethreads_t *self = user_data;
    (void)event;
    uint64_t seen = atomic_load_explicit(&self->counter, memory_order_relaxed);
    struct timespec window = {0, 1000};                        /* 1 us asked, ~60 us slept (timer slack) */
    nanosleep(&window, NULL);
    atomic_store_explicit(&self->counter, seen + 1, memory_order_relaxed);
    uint64_t events = atomic_fetch_add(&self->tally, 1) + 1;
    uint64_t counted = atomic_load(&self->counter);
    if (counted < events) {
        fprintf(stderr, "unsafethreads: lost update: counter %llu after %llu events\n",
                (unsigned long long)counted, (unsigned long long)events);
        abort();
    }
}

static ph_status_t unsafethreads_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    unsafethreads_t *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    ph_event_id_t tick = host->event_id(host, "unsafethreads.tick");
    ph_status_t status = tick == PH_EVENT_NONE ? PH_ERR_FAILED : host->subscribe(host, tick, PH_PRIORITY_DEFAULT, on_tick, self);
    if (status == PH_OK) status = host->subscribe(host, PH_EVENT_REQUEST_RECEIVED, PH_PRIORITY_DEFAULT, on_tick, self);
    if (status != PH_OK) {
        ph_message_printf(error, "cannot subscribe (status %d)", status);
        free(self);
        return PH_ERR_FAILED;
    }
    *instance = self;
    return PH_OK;
}

static void unsafethreads_destroy(void *instance) { free(instance); }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE,                            /* the claim the callback breaks */
    .id = "test.validate.unsafethreads", .version = "1.0.0",
    .create = unsafethreads_create, .destroy = unsafethreads_destroy,
};

PH_EXPORT const ph_plugin_t *unsafethreads_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
