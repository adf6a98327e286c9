/*
 * Validator fixture `latecall` (alias late-call). Breaks ONE rule: a plugin must not
 * use its `ph_host_t` after destroy returned (the host frees it then). This start
 * spawns a detached thread named "late-caller" that keeps the host pointer, waits
 * until destroy has run, sleeps 100 ms more and then calls
 *     host->log(host, PH_LOG_WARNING, "latecall: calling the host after destroy")
 * once, and exits. destroy only raises the thread's flag: it does not join it.
 * The thread owns its own memory (never the instance's) and frees it on exit.
 *
 * Must fail:  late-calls   reason "called the host after destroy" (log, ~100 ms after
 *             destroy returned). The validator's host must stay valid (and record calls)
 *             for a while after destroy: watch at least 300 ms, and keep the library mapped.
 * The thread is gone ~100 ms after destroy: a stray-threads check that allows a grace
 * period of 250 ms or more passes; a shorter one flags it as well.
 */
#define _GNU_SOURCE
#include <plughost/plugin.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct caller {
    const ph_host_t *host;
    atomic_bool destroyed;
} caller_t;

typedef struct latecall {
    const ph_host_t *host;
    caller_t *caller;            /* NULL until start succeeded */
} latecall_t;

static void *late_caller(void *argument) {
    caller_t *caller = argument;
    pthread_setname_np(pthread_self(), "late-caller");
    struct timespec tick = {0, 1000 * 1000};
    while (!atomic_load(&caller->destroyed)) nanosleep(&tick, NULL);
    struct timespec late = {0, 100 * 1000 * 1000};
    nanosleep(&late, NULL);
    caller->host->log(caller->host, PH_LOG_WARNING, "latecall: calling the host after destroy");   /* THE BUG */
    free(caller);
    return NULL;
}

static ph_status_t latecall_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    latecall_t *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    self->host = host;
    *instance = self;
    return PH_OK;
}

static ph_status_t latecall_start(void *instance, ph_message_t *error) {
    latecall_t *self = instance;
    caller_t *caller = calloc(1, sizeof *caller);
    if (caller == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    caller->host = self->host;
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attributes, late_caller, caller);
    pthread_attr_destroy(&attributes);
    if (failed != 0) {
        free(caller);
        ph_message_printf(error, "cannot start a thread (error %d)", failed);
        return PH_ERR_FAILED;
    }
    self->caller = caller;
    return PH_OK;
}

static ph_status_t latecall_stop(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    return PH_OK;
}

static void latecall_destroy(void *instance) {
    latecall_t *self = instance;
    if (self->caller != NULL) atomic_store(&self->caller->destroyed, true);   /* ... and no join */
    free(self);
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.latecall", .version = "1.0.0",
    .create = latecall_create, .start = latecall_start, .stop = latecall_stop, .destroy = latecall_destroy,
};

PH_EXPORT const ph_plugin_t *latecall_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
