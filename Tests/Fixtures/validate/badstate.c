/*
 * Validator fixture `badstate` (alias bad-state). Breaks ONE rule: restore_state of
 * the bytes save_state wrote must give back the same state, so that a second
 * save_state writes the same bytes. This one counts the handoff itself as an
 * event: restore stores the saved count + 1, so save -> restore -> save answers
 * 16 bytes that differ in their last 8 (count N, then N + 1).
 * Garbage is refused correctly: restore takes only 16 bytes starting "BADSTAT1"
 * (empty bytes, 1 MB of random bytes: PH_ERR_INVALID with a message).
 *
 * State: "BADSTAT1" (8 bytes) + uint64 count of "badstate.tick" events.
 *
 * Must fail:  state (round trip)   reason "not byte-identical" (the second save differs
 *             from the first at byte 8).
 */
#include <plughost/plugin.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "BADSTAT1"

typedef struct badstate {
    _Atomic uint64_t count;
} badstate_t;

static void on_tick(void *user_data, const ph_event_t *event) {
    badstate_t *self = user_data;
    (void)event;
    atomic_fetch_add(&self->count, 1);
}

static ph_status_t badstate_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    badstate_t *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    ph_event_id_t tick = host->event_id(host, "badstate.tick");
    if (tick == PH_EVENT_NONE || host->subscribe(host, tick, PH_PRIORITY_DEFAULT, on_tick, self) != PH_OK) {
        ph_message_printf(error, "cannot subscribe to badstate.tick");
        free(self);
        return PH_ERR_FAILED;
    }
    *instance = self;
    return PH_OK;
}

static void badstate_destroy(void *instance) { free(instance); }

static ph_status_t badstate_save_state(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error) {
    badstate_t *self = instance;
    (void)error;
    unsigned char bytes[16];
    uint64_t count = atomic_load(&self->count);
    memcpy(bytes, STATE_MAGIC, 8);
    memcpy(bytes + 8, &count, 8);
    return write(sink, bytes, sizeof bytes);
}

static ph_status_t badstate_restore_state(void *instance, const char *from_version, const void *bytes, size_t length,
                                          ph_message_t *error) {
    badstate_t *self = instance;
    if (bytes == NULL || length != 16 || memcmp(bytes, STATE_MAGIC, 8) != 0) {
        ph_message_printf(error, "not a state of this plugin (%zu bytes from version %s)", length,
                          from_version ? from_version : "?");
        return PH_ERR_INVALID;
    }
    uint64_t count;
    memcpy(&count, (const unsigned char *)bytes + 8, 8);
    atomic_store(&self->count, count + 1);                     /* THE BUG: the handoff counted as an event */
    return PH_OK;
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.badstate", .version = "1.0.0",
    .create = badstate_create, .destroy = badstate_destroy,
    .save_state = badstate_save_state, .restore_state = badstate_restore_state,
};

PH_EXPORT const ph_plugin_t *badstate_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
