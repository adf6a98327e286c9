/*
 * Test fixture for hot reload, built several times from this one file:
 *   -DFIXTURE_VERSION='"1"' or '"2"'  GET /version answers "v1" / "v2";
 *   -DFIXTURE_BROKEN                   create fails ("broken on purpose").
 * Endpoints (thread-safe):
 *   GET /version  the build's version
 *   GET /slow     the build's version after 20 ms (or ?ms=N) inside the plugin,
 *                 reading its instance: a request in flight across a reload
 *                 (destroying or unloading under it would crash)
 *   GET /count    counts calls; the count is handed to the next build through
 *                 save_state / restore_state (ABI 1.1)
 *   GET /events   the reload events this instance saw, one per line
 * Config: `refuse-state = true` makes restore_state fail; `fail-if-exists = PREFIX`
 * makes create fail in the process whose pid P has a file PREFIX + P (one
 * worker of several fails to build a reload); `create-delay-ms = N` makes create
 * take N ms (a host that is slow to start).
 */
#include <plughost/http.h>

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#ifndef FIXTURE_VERSION
#define FIXTURE_VERSION "1"
#endif

typedef struct {
    const ph_http_t *http;
    _Atomic uint64_t count;
    bool refuse_state;
    char events[4096];
    _Atomic size_t events_length;
} versioned_t;

static ph_status_t version_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    versioned_t *self = user_data; (void)error;
    self->http->set_body(request, "v" FIXTURE_VERSION, strlen("v" FIXTURE_VERSION));
    return PH_OK;
}

static ph_status_t slow_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    versioned_t *self = user_data;
    const char *text;
    long ms = self->http->query(request, "ms", &text, NULL) == PH_OK ? strtol(text, NULL, 10) : 20;
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&pause, NULL);
    return version_handler(self, request, error);
}

static ph_status_t count_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    versioned_t *self = user_data; (void)error;
    char text[32];
    int length = snprintf(text, sizeof text, "%llu", (unsigned long long)(atomic_fetch_add(&self->count, 1) + 1));
    self->http->set_body(request, text, (size_t)length);
    return PH_OK;
}

static ph_status_t events_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    versioned_t *self = user_data; (void)error;
    self->http->set_body(request, self->events, atomic_load(&self->events_length));
    return PH_OK;
}

/* Lifecycle events arrive on the control thread, one at a time. */
static void on_event(void *user_data, const ph_event_t *event) {
    versioned_t *self = user_data;
    size_t used = atomic_load(&self->events_length);
    int length = snprintf(self->events + used, sizeof self->events - used, "%s %.*s\n",
                          event->name, (int)event->payload_length, (const char *)event->payload);
    if (length > 0 && used + (size_t)length < sizeof self->events) atomic_store(&self->events_length, used + (size_t)length);
}

static ph_status_t versioned_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        if (strcmp(key, "refuse-state") != 0 && strcmp(key, "fail-if-exists") != 0 && strcmp(key, "create-delay-ms") != 0) {
            ph_message_printf(error, "unknown key '%s'", key);
            return PH_ERR_INVALID;
        }
    }
    return PH_OK;
}

static ph_status_t versioned_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
#ifdef FIXTURE_BROKEN
    (void)host; (void)instance;
    (void)slow_handler; (void)count_handler; (void)events_handler; (void)on_event;
    ph_message_printf(error, "this build is broken on purpose");
    return PH_ERR_FAILED;
#else
    int64_t delay = 0;
    if (host->config->get_int(host->config, "create-delay-ms", &delay) == PH_OK && delay > 0 && delay < 60000) {
        struct timespec pause = {delay / 1000, (delay % 1000) * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    const char *prefix = NULL;
    if (host->config->get_string(host->config, "fail-if-exists", &prefix, NULL) == PH_OK && prefix != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s%ld", prefix, (long)getpid());
        if (access(path, F_OK) == 0) {
            ph_message_printf(error, "%s exists: failing on purpose in process %ld", path, (long)getpid());
            return PH_ERR_FAILED;
        }
    }
    versioned_t *self = calloc(1, sizeof *self);
    self->http = host->get_extension(host, PH_EXT_HTTP);
    bool refuse = false;
    self->refuse_state = host->config->get_bool(host->config, "refuse-state", &refuse) == PH_OK && refuse;
    if (self->http != NULL) {
        ph_endpoint_t version = {sizeof(ph_endpoint_t), "GET", "/version", version_handler, self};
        ph_endpoint_t count = {sizeof(ph_endpoint_t), "GET", "/count", count_handler, self};
        ph_endpoint_t slow = {sizeof(ph_endpoint_t), "GET", "/slow", slow_handler, self};
        ph_endpoint_t events = {sizeof(ph_endpoint_t), "GET", "/events", events_handler, self};
        if (self->http->register_endpoint(host, &version, error) != PH_OK ||
            self->http->register_endpoint(host, &count, error) != PH_OK ||
            self->http->register_endpoint(host, &slow, error) != PH_OK ||
            self->http->register_endpoint(host, &events, error) != PH_OK) {
            free(self);
            return PH_ERR_FAILED;
        }
    }
    host->subscribe(host, PH_EVENT_PLUGIN_LOADED, 0, on_event, self);
    host->subscribe(host, PH_EVENT_PLUGIN_UNLOADED, 0, on_event, self);
    host->subscribe(host, PH_EVENT_PLUGIN_RELOADED, 0, on_event, self);
    host->subscribe(host, PH_EVENT_RELOAD_FAILED, 0, on_event, self);
    *instance = self;
    return PH_OK;
#endif
}

static void versioned_destroy(void *instance) { free(instance); }

static ph_status_t versioned_save_state(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error) {
    versioned_t *self = instance; (void)error;
    uint64_t count = atomic_load(&self->count);
    return write(sink, &count, sizeof count);
}

static ph_status_t versioned_restore_state(void *instance, const char *from_version, const void *bytes, size_t length,
                                           ph_message_t *error) {
    versioned_t *self = instance;
    if (self->refuse_state) {
        ph_message_printf(error, "refusing the state of version %s", from_version);
        return PH_ERR_FAILED;
    }
    if (length != sizeof(uint64_t)) {
        ph_message_printf(error, "expected 8 bytes of state, got %zu", length);
        return PH_ERR_INVALID;
    }
    uint64_t count;
    memcpy(&count, bytes, sizeof count);
    atomic_store(&self->count, count);
    return PH_OK;
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.versioned", .version = FIXTURE_VERSION,
    .description = "reload fixture, build " FIXTURE_VERSION,
    .parse_config = versioned_parse_config, .create = versioned_create, .destroy = versioned_destroy,
    .save_state = versioned_save_state, .restore_state = versioned_restore_state,
};

PH_EXPORT const ph_plugin_t *versioned_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &descriptor : NULL;
}
