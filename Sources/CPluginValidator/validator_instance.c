/*
 * Calls into the plugin, as the host makes them: each lifecycle function at most once and in
 * order (parse_config → create → start → stop → destroy; stop only after a successful start,
 * destroy whenever create succeeded), with a fresh host message buffer each, under the
 * per-instance lock of a plugin that is not thread-safe (parse_config takes none: there is no
 * instance yet), and the state handoff (save_state on a started instance, restore_state between
 * create and start). Checks the message rules on every call: no write past the capacity, and a
 * failure comes with a message.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- messages ---- */

#define CANARY_BYTE 0xA5

void vt_message_init(vt_message_t *message) {
    /* Empty, as the host hands it out: data[0] is NUL, the bytes after it undefined. */
    memset(message->buffer, 'v', VT_MESSAGE_CAPACITY);
    message->buffer[0] = 0;
    message->buffer[VT_MESSAGE_CAPACITY] = 0;   /* the host's own NUL */
    memset(message->buffer + VT_MESSAGE_CAPACITY + 1, CANARY_BYTE, VT_MESSAGE_CANARY);
    message->message = (ph_message_t){message->buffer, VT_MESSAGE_CAPACITY};
}

const char *vt_message_text(const vt_message_t *message) { return message->buffer; }

bool vt_message_check(vt_run_t *run, const vt_message_t *message, const char *what, ph_status_t status, bool needs_text) {
    bool overflow = message->buffer[VT_MESSAGE_CAPACITY] != 0;
    for (size_t i = 0; i < VT_MESSAGE_CANARY && !overflow; i++) {
        overflow = (unsigned char)message->buffer[VT_MESSAGE_CAPACITY + 1 + i] != CANARY_BYTE;
    }
    if (overflow) {
        vt_fail(run, "%s wrote past the end of its message buffer (capacity %u): write at most `capacity` bytes, the NUL "
                     "included (ph_message_printf and ph_message_copy cut the text to fit)", what, VT_MESSAGE_CAPACITY);
        return false;
    }
    if (status != PH_OK && needs_text && message->buffer[0] == 0) {
        vt_fail(run, "%s returned status %d (%s) without a message: write why into its ph_message_t (ph_message_printf)",
                what, status, vt_status_name(status));
        return false;
    }
    return true;
}

/* "MESSAGE", or "status N (NAME)" when the plugin wrote none. */
static void describe(char *out, size_t capacity, ph_status_t status, const vt_message_t *message) {
    if (message->buffer[0] != 0) snprintf(out, capacity, "%.900s", message->buffer);
    else snprintf(out, capacity, "status %d (%s)", status, vt_status_name(status));
}

/* ---- lifecycle ---- */

/* The step in progress: "create", or "create with level = 1". */
static void step(vi_instance_t *instance, const char *function) {
    vt_step(instance->run, "%s%s%s", function, instance->context[0] ? " " : "", instance->context);
}

void vi_init(vi_instance_t *instance, vt_run_t *run, const ph_config_t *config) {
    memset(instance, 0, sizeof *instance);
    instance->run = run;
    instance->config = config;
    instance->state = VI_NEW;
}

bool vi_parse_config(vi_instance_t *instance) {
    vt_run_t *run = instance->run;
    const ph_plugin_t *plugin = run->plugin;
    const ph_config_t *config = instance->config;
    if (plugin->parse_config == NULL) {
        if (config->key_count == 0) return true;
        snprintf(instance->refusal, sizeof instance->refusal, "plugin takes no config, but the config sets '%s'",
                 config->key_at(config, 0));
        instance->state = VI_REFUSED;
        return false;
    }
    step(instance, "parse_config");
    vt_message_t error;
    vt_message_init(&error);
    ph_status_t status = plugin->parse_config(plugin, config, &error.message);
    if (!vt_message_check(run, &error, "parse_config", status, true)) {
        instance->state = VI_REFUSED;
        snprintf(instance->refusal, sizeof instance->refusal, "parse_config broke a rule");
        return false;
    }
    if (status != PH_OK) {
        char why[VT_TEXT];
        describe(why, sizeof why, status, &error);
        snprintf(instance->refusal, sizeof instance->refusal, "parse_config refused it: %.900s", why);
        instance->state = VI_REFUSED;
        return false;
    }
    return true;
}

bool vi_create(vi_instance_t *instance) {
    vt_run_t *run = instance->run;
    const ph_plugin_t *plugin = run->plugin;
    step(instance, "create");
    instance->host = vh_host_new(plugin, run->alias, instance->config);
    vc_config_attach(instance->config, instance->host);
    vt_message_t error;
    vt_message_init(&error);
    void *handle = NULL;
    vh_plugin_enter(instance->host);
    vh_begin_create(instance->host);
    ph_status_t status = plugin->create(plugin, vh_table(instance->host), &handle, &error.message);
    if (status == PH_OK) vh_end_create(instance->host);
    vh_plugin_leave(instance->host);
    bool kept = vt_message_check(run, &error, "create", status, true);
    if (status != PH_OK) {
        char why[VT_TEXT];
        describe(why, sizeof why, status, &error);
        snprintf(instance->refusal, sizeof instance->refusal, "create refused it: %.900s", why);
        instance->state = VI_REFUSED;
        vh_retire(instance->host);   /* a failed create gets no destroy */
        return false;
    }
    instance->handle = handle;
    instance->state = VI_CREATED;
    return kept;
}

bool vi_start(vi_instance_t *instance) {
    vt_run_t *run = instance->run;
    if (instance->state != VI_CREATED) return false;
    ph_status_t (*start)(void *, ph_message_t *) = run->plugin->start;
    if (start == NULL) {
        instance->state = VI_STARTED;
        return true;
    }
    step(instance, "start");
    vt_message_t error;
    vt_message_init(&error);
    vh_plugin_enter(instance->host);
    ph_status_t status = start(instance->handle, &error.message);
    vh_plugin_leave(instance->host);
    bool kept = vt_message_check(run, &error, "start", status, true);
    if (status != PH_OK) {
        char why[VT_TEXT];
        describe(why, sizeof why, status, &error);
        snprintf(instance->refusal, sizeof instance->refusal, "start failed: %.900s", why);
        instance->state = VI_START_FAILED;
        return false;
    }
    instance->state = VI_STARTED;
    return kept;
}

void vi_stop(vi_instance_t *instance) {
    vt_run_t *run = instance->run;
    if (instance->state != VI_STARTED) return;
    instance->state = VI_STOPPED;
    ph_status_t (*stop)(void *, ph_message_t *) = run->plugin->stop;
    if (stop == NULL) return;
    step(instance, "stop");
    vt_message_t error;
    vt_message_init(&error);
    vh_plugin_enter(instance->host);
    ph_status_t status = stop(instance->handle, &error.message);
    vh_plugin_leave(instance->host);
    vt_message_check(run, &error, "stop", status, true);   /* the host logs a failure and destroys anyway */
}

void vi_destroy(vi_instance_t *instance) {
    vt_run_t *run = instance->run;
    if (instance->state == VI_STARTED) vi_stop(instance);
    if (instance->state == VI_CREATED || instance->state == VI_START_FAILED || instance->state == VI_STOPPED) {
        step(instance, "destroy");
        vh_plugin_enter(instance->host);
        run->plugin->destroy(instance->handle);
        vh_plugin_leave(instance->host);
        instance->state = VI_DESTROYED;
        vh_retire(instance->host);
    }
}

bool vi_open(vi_instance_t *instance) {
    if (!vi_parse_config(instance)) return false;
    return vi_create(instance);
}

bool vi_open_for_test(vi_instance_t *instance, vt_run_t *run, bool start) {
    vi_init(instance, run, vc_config_new(NULL, NULL, 0));
    if (!vi_open(instance)) {
        if (!vt_failed(run)) vt_skip(run, "with an empty config, %s: this test needs an instance", instance->refusal);
        vi_destroy(instance);
        return false;
    }
    if (vt_failed(run)) {
        vi_destroy(instance);
        return false;
    }
    if (start) {
        if (!vi_start(instance)) {
            if (!vt_failed(run)) vt_skip(run, "with an empty config, %s: this test needs a started instance", instance->refusal);
            vi_destroy(instance);
            return false;
        }
    }
    return true;
}

/* ---- state handoff ---- */

/* The sink of one save_state call: open only during it, on its thread. Sinks are static, so a
 * plugin that calls one after its save_state returned is caught, not handed freed memory. */
typedef struct vt_sink {
    atomic_bool open;
    pthread_t thread;
    vt_bytes_t *bytes;
    bool refused;
} vt_sink_t;

#define VT_SINKS 64u
static vt_sink_t sinks[VT_SINKS];
static atomic_uint sinks_used;

#define VT_STATE_LIMIT (256u << 20)

static ph_status_t sink_write(void *sink_pointer, const void *data, size_t length) {
    vt_sink_t *sink = sink_pointer;
    if (sink < sinks || sink >= sinks + VT_SINKS) {
        vt_misuse("called a ph_state_write_fn with a sink the host never handed out");
        return PH_ERR_INVALID;
    }
    if (!atomic_load(&sink->open)) {
        vt_misuse("called the state sink after its save_state returned (it is valid only during that call)");
        return PH_ERR_STATE;
    }
    if (!pthread_equal(sink->thread, pthread_self())) {
        vt_misuse("called the state sink from another thread than its save_state's (it is valid only on that thread)");
        return PH_ERR_STATE;
    }
    if (data == NULL && length > 0) return PH_ERR_INVALID;
    if (length == 0) return PH_OK;
    vt_bytes_t *bytes = sink->bytes;
    if (bytes->length + length > VT_STATE_LIMIT) {
        sink->refused = true;
        return PH_ERR_INVALID;
    }
    unsigned char *bigger = realloc(bytes->data, bytes->length + length);
    if (bigger == NULL) return PH_ERR_FAILED;
    memcpy(bigger + bytes->length, data, length);
    bytes->data = bigger;
    bytes->length += length;
    return PH_OK;
}

ph_status_t vi_save_state(vi_instance_t *instance, vt_bytes_t *bytes, char *why, size_t capacity) {
    vt_run_t *run = instance->run;
    ph_status_t (*save)(void *, ph_state_write_fn, void *, ph_message_t *) = VT_STATE_MEMBER(run->plugin, save_state);
    bytes->data = NULL;
    bytes->length = 0;
    vt_sink_t *sink = &sinks[atomic_fetch_add(&sinks_used, 1) % VT_SINKS];
    sink->bytes = bytes;
    sink->thread = pthread_self();
    sink->refused = false;
    atomic_store(&sink->open, true);
    vt_message_t error;
    vt_message_init(&error);
    vh_plugin_enter(instance->host);
    ph_status_t status = save(instance->handle, sink_write, sink, &error.message);
    vh_plugin_leave(instance->host);
    atomic_store(&sink->open, false);
    vt_message_check(run, &error, "save_state", status, status != PH_ERR_NOT_FOUND);
    describe(why, capacity, status, &error);
    if (sink->refused) snprintf(why, capacity, "it wrote more than %u MiB of state", VT_STATE_LIMIT >> 20);
    return status;
}

ph_status_t vi_restore_state(vi_instance_t *instance, const char *from_version, const void *bytes, size_t length,
                             char *why, size_t capacity) {
    vt_run_t *run = instance->run;
    ph_status_t (*restore)(void *, const char *, const void *, size_t, ph_message_t *) =
        VT_STATE_MEMBER(run->plugin, restore_state);
    /* Host-owned bytes valid during the call: a copy, freed once it returns (NULL stays NULL). */
    void *copy = NULL;
    if (bytes != NULL) {
        copy = malloc(length ? length : 1);
        if (copy == NULL) return PH_ERR_FAILED;
        if (length) memcpy(copy, bytes, length);
    }
    vt_message_t error;
    vt_message_init(&error);
    vh_plugin_enter(instance->host);
    ph_status_t status = restore(instance->handle, from_version, copy, length, &error.message);
    vh_plugin_leave(instance->host);
    free(copy);
    vt_message_check(run, &error, "restore_state", status, true);
    describe(why, capacity, status, &error);
    return status;
}
