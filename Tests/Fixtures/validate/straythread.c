/*
 * Validator fixture `straythread` (alias stray-thread). Breaks ONE rule: nothing of
 * an instance may run after its destroy returned; this start spawns a detached
 * thread named "stray-sleeper" that sleeps in a loop forever, and neither stop nor
 * destroy ends it. The thread touches no instance memory and never calls the host,
 * so it crashes nothing while the library stays mapped (a dlclose under it would
 * make it crash when it wakes, within 50 ms).
 *
 * Must fail:  stray-threads   reason "still running after destroy" (1 thread,
 *             /proc/self/task/TID/comm = "stray-sleeper", any grace period).
 * late-calls passes: the thread never calls the host.
 */
#define _GNU_SOURCE
#include <plughost/plugin.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static void *sleeper(void *argument) {
    (void)argument;
    pthread_setname_np(pthread_self(), "stray-sleeper");
    for (;;) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static ph_status_t straythread_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static ph_status_t straythread_start(void *instance, ph_message_t *error) {
    (void)instance;
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attributes, sleeper, NULL);
    pthread_attr_destroy(&attributes);
    if (failed != 0) {
        ph_message_printf(error, "cannot start a thread (error %d)", failed);
        return PH_ERR_FAILED;
    }
    return PH_OK;
}

static ph_status_t straythread_stop(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    return PH_OK;                                              /* THE BUG: the sleeper is not stopped */
}

static void straythread_destroy(void *instance) { free(instance); }   /* ... nor joined */

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.straythread", .version = "1.0.0",
    .create = straythread_create, .start = straythread_start, .stop = straythread_stop,
    .destroy = straythread_destroy,
};

PH_EXPORT const ph_plugin_t *straythread_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
