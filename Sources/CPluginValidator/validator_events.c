/*
 * Events as the host has them: the process-wide table of event names and ids (built-in events at
 * their fixed ids, a custom name gets the next id from PH_EVENT_FIRST_CUSTOM on, stable for the
 * life of the process; 1-200 bytes of [A-Za-z0-9._-/:], "plughost." reserved), which events fire
 * repeatedly, and the delivery of one event to one subscription with the payload the host would
 * give it, under the plugin lock. Names are kept memory: an event may carry its name forever.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char *const builtin_names[PH_EVENT_FIRST_CUSTOM] = {
    [PH_EVENT_PRE_START] = "plughost.pre-start",
    [PH_EVENT_POST_START] = "plughost.post-start",
    [PH_EVENT_PRE_SHUTDOWN] = "plughost.pre-shutdown",
    [PH_EVENT_POST_SHUTDOWN] = "plughost.post-shutdown",
    [PH_EVENT_PLUGIN_LOADED] = "plughost.plugin-loaded",
    [PH_EVENT_PLUGIN_UNLOADED] = "plughost.plugin-unloaded",
    [PH_EVENT_PLUGIN_RELOADED] = "plughost.plugin-reloaded",
    [PH_EVENT_RELOAD_FAILED] = "plughost.reload-failed",
    [PH_EVENT_CLIENT_CONNECTED] = "plughost.client-connected",
    [PH_EVENT_REQUEST_RECEIVED] = "plughost.request-received",
    [PH_EVENT_RESPONSE_SENT] = "plughost.response-sent",
    [PH_EVENT_CLIENT_DISCONNECTED] = "plughost.client-disconnected",
};

#define VH_CUSTOM_LIMIT 4096u
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *custom_names[VH_CUSTOM_LIMIT];
static size_t custom_count;

static bool valid_event_name(const char *name) {
    size_t length = strnlen(name, 201);
    if (length == 0 || length > 200) return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' ||
                  c == '-' || c == '/' || c == ':';
        if (!ok) return false;
    }
    return true;
}

ph_event_id_t vh_event_id(const char *name) {
    if (name == NULL || !valid_event_name(name)) return PH_EVENT_NONE;
    for (ph_event_id_t id = 1; id < PH_EVENT_FIRST_CUSTOM; id++) {
        if (builtin_names[id] != NULL && strcmp(builtin_names[id], name) == 0) return id;
    }
    if (strncmp(name, "plughost.", 9) == 0) return PH_EVENT_NONE;
    pthread_mutex_lock(&names_lock);
    ph_event_id_t id = PH_EVENT_NONE;
    for (size_t i = 0; i < custom_count; i++) {
        if (strcmp(custom_names[i], name) == 0) id = (ph_event_id_t)(PH_EVENT_FIRST_CUSTOM + i);
    }
    if (id == PH_EVENT_NONE && custom_count < VH_CUSTOM_LIMIT) {
        custom_names[custom_count] = vt_keep_bytes(name, strlen(name));
        id = (ph_event_id_t)(PH_EVENT_FIRST_CUSTOM + custom_count++);
    }
    pthread_mutex_unlock(&names_lock);
    return id;
}

const char *vh_event_name(ph_event_id_t id) {
    if (id < PH_EVENT_FIRST_CUSTOM) return builtin_names[id];
    pthread_mutex_lock(&names_lock);
    const char *name = id - PH_EVENT_FIRST_CUSTOM < custom_count ? custom_names[id - PH_EVENT_FIRST_CUSTOM] : NULL;
    pthread_mutex_unlock(&names_lock);
    return name;
}

bool vh_event_repeats(ph_event_id_t id) {
    return id >= PH_EVENT_FIRST_CUSTOM || id == PH_EVENT_CLIENT_CONNECTED || id == PH_EVENT_REQUEST_RECEIVED ||
           id == PH_EVENT_RESPONSE_SENT || id == PH_EVENT_CLIENT_DISCONNECTED;
}

/* ---- event delivery ---- */

/* What the host's own events carry; custom events come from a peer plugin. */
static void payload_of(vh_host_t *host, ph_event_id_t id, const char **source, const void **payload, size_t *length) {
    static const char peer_payload[] = "validator";
    *source = "plughost";
    const char *text = NULL;
    switch (id) {
    case PH_EVENT_PLUGIN_LOADED: case PH_EVENT_PLUGIN_UNLOADED: text = vh_alias(host); break;
    case PH_EVENT_RELOAD_FAILED: text = "validator: a reload failed"; break;
    case PH_EVENT_CLIENT_CONNECTED: case PH_EVENT_CLIENT_DISCONNECTED: text = "127.0.0.1:54321"; break;
    case PH_EVENT_REQUEST_RECEIVED: text = "GET /validator"; break;
    case PH_EVENT_RESPONSE_SENT: text = "200 125 GET /validator"; break;
    default:
        if (id >= PH_EVENT_FIRST_CUSTOM) {
            *source = "validator-peer";
            text = peer_payload;
        }
        break;
    }
    *payload = text;
    *length = text != NULL ? strlen(text) : 0;
}

ph_verdict_t vh_deliver(vt_run_t *run, vh_host_t *host, const vh_subscription_t *subscription) {
    const char *source;
    const void *payload;
    size_t length;
    payload_of(host, subscription->id, &source, &payload, &length);
    char reloaded[160];   /* "ALIAS OLD-VERSION NEW-VERSION" */
    if (subscription->id == PH_EVENT_PLUGIN_RELOADED) {
        snprintf(reloaded, sizeof reloaded, "%s %s %s", vh_alias(host), vh_plugin(host)->version, vh_plugin(host)->version);
        payload = reloaded;
        length = strlen(reloaded);
    }
    const char *name = vh_event_name(subscription->id);
    ph_event_t event = {sizeof(ph_event_t), subscription->id, name != NULL ? name : "validator.unknown", source, payload, length};
    ph_verdict_t verdict = PH_ABSTAIN;
    if (subscription->event != NULL) {
        vh_plugin_enter(host);
        subscription->event(subscription->user_data, &event);
        vh_plugin_leave(host);
    } else if (subscription->check != NULL) {
        vt_message_t reason;
        vt_message_init(&reason);
        vh_plugin_enter(host);
        verdict = subscription->check(subscription->user_data, &event, &reason.message);
        vh_plugin_leave(host);
        vt_message_check(run, &reason, "a check callback", PH_OK, false);
    }
    return verdict;
}
