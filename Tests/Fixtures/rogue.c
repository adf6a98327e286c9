/* A plugin with a bug users write: `start` starts a thread that publishes an
 * event every 0.2 ms, and `stop` does not stop it. When a reload unloads this
 * build, the thread runs on in unmapped code; the crash journal must charge
 * the crash to this plugin ("a thread outlived stop"). Two builds (v1, v2)
 * differ only in ROGUE_BUILD, so a reload replaces one with the other. */
#include <plughost/plugin.h>

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#ifndef ROGUE_BUILD
#define ROGUE_BUILD "1"
#endif

static const ph_host_t *saved_host;

static void *keep_publishing(void *unused) {
    (void)unused;
    ph_event_id_t id = saved_host->event_id(saved_host, "rogue.tick");
    for (;;) {
        saved_host->publish(saved_host, id, ROGUE_BUILD, 1);
        usleep(200);
    }
    return NULL;
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)error;
    saved_host = host;
    *instance = NULL;
    return PH_OK;
}

static ph_status_t start(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    pthread_t thread;
    if (pthread_create(&thread, NULL, keep_publishing, NULL) != 0) return PH_ERR_FAILED;
    pthread_detach(thread);
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.rogue", .version = "1.0.0",
    .create = create, .start = start, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *rogue_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : NULL;
}
