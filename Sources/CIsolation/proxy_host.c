/* The worker's side of an isolated plugin: the host API as the plugin process calls it. */
#define _GNU_SOURCE
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

proxy_record_t *proxy_record(ph_isolated_t *proxy, uint64_t token) {
    proxy_record_t *record = calloc(1, sizeof *record);
    if (!record) return NULL;
    record->proxy = proxy;
    record->token = token;
    pthread_mutex_lock(&proxy->lock);
    record->next = proxy->records;
    proxy->records = record;
    pthread_mutex_unlock(&proxy->lock);
    return record;
}

ph_status_t proxy_replay_check(ph_isolated_t *proxy, int kind, uint64_t token) {
    /* Tokens are handed out in order: the n-th registration of a kind has token n - 1. */
    if (token != proxy->replayed[kind] || token >= proxy->registered[kind]) return PH_ERR_STATE;
    proxy->replayed[kind]++;
    return PH_OK;
}

/* ---- Callbacks the host calls, crossing to the plugin process ---------------------------------------------- */

static void write_event(ph_wbuf_t *args, const ph_event_t *event) {
    ph_wbuf_u32(args, event->id);
    ph_wbuf_string(args, event->name ? event->name : "");
    ph_wbuf_string(args, event->source ? event->source : "");
    ph_wbuf_bytes(args, event->payload, event->payload ? event->payload_length : 0);
}

static void proxy_event(void *user_data, const ph_event_t *event) {
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    write_event(&args, event);
    uint8_t *frame;
    ph_rbuf_t reply;
    if (proxy_call(record->proxy, PH_OP_EVENT, &args, &frame, &reply) == PH_CALL_OK) free(frame);
    else ph_isolation_take_failure(NULL, NULL, 0);
    ph_wbuf_free(&args);
}

static ph_verdict_t proxy_check(void *user_data, const ph_event_t *event, ph_message_t *reason) {
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    write_event(&args, event);
    uint8_t *frame;
    ph_rbuf_t reply;
    ph_call_result_t result = proxy_call(record->proxy, PH_OP_CHECK, &args, &frame, &reply);
    ph_wbuf_free(&args);
    if (result != PH_CALL_OK) {
        /* A check whose subscriber cannot answer fails closed. */
        ph_isolation_take_failure(NULL, NULL, 0);
        if (reason) ph_message_printf(reason, "plugin process of '%s' failed: %s", record->proxy->alias, ph_call_result_name(result));
        return PH_DENY;
    }
    ph_verdict_t verdict = (ph_verdict_t)ph_rbuf_u32(&reply);
    const char *text = ph_rbuf_string(&reply);
    if (reply.failed) verdict = PH_DENY;
    if (verdict == PH_DENY && reason && text && *text) ph_message_copy(reason, text, strlen(text));
    free(frame);
    return verdict;
}

static ph_status_t proxy_service_call(void *context, const void *request, size_t length, ph_state_write_fn write, void *sink,
                                      ph_message_t *error) {
    proxy_record_t *record = context;
    if (request == NULL && length) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    ph_wbuf_bytes(&args, request, length);
    uint8_t *frame;
    ph_rbuf_t reply;
    ph_call_result_t result = proxy_call(record->proxy, PH_OP_SERVICE_CALL, &args, &frame, &reply);
    ph_wbuf_free(&args);
    if (result != PH_CALL_OK) {
        ph_isolation_take_failure(NULL, NULL, 0);
        if (error) ph_message_printf(error, "plugin process of '%s' failed: %s", record->proxy->alias, ph_call_result_name(result));
        return PH_ERR_FAILED;
    }
    ph_status_t status = ph_read_service_answer(&reply, write, sink, error);
    free(frame);
    return status;
}

/* ---- The host API, called by the plugin process ---------------------------------------------------------------- */

static void subscribe(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    ph_event_id_t id = ph_rbuf_u32(args);
    int32_t priority = (int32_t)ph_rbuf_u32(args);
    uint64_t token = ph_rbuf_u64(args);
    int is_check = ph_rbuf_u32(args) != 0;
    if (args->failed || !proxy->host) { ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
    if (proxy->replaying) { ph_wbuf_u32(reply, (uint32_t)proxy_replay_check(proxy, REG_SUBSCRIPTION, token)); return; }
    if (token != proxy->registered[REG_SUBSCRIPTION]) { ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
    proxy_record_t *record = proxy_record(proxy, token);
    if (!record) { ph_wbuf_u32(reply, PH_ERR_FAILED); return; }
    ph_status_t status = is_check ? proxy->host->subscribe_check(proxy->host, id, priority, proxy_check, record)
                                  : proxy->host->subscribe(proxy->host, id, priority, proxy_event, record);
    /* Counted whatever the host said: the plugin process handed out the token either way. */
    proxy->registered[REG_SUBSCRIPTION]++;
    ph_wbuf_u32(reply, (uint32_t)status);
}

static void provide_service(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    const char *id = ph_rbuf_string(args);
    uint64_t token = ph_rbuf_u64(args);
    if (args->failed || !id || !proxy->host) { ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
    if (proxy->replaying) { ph_wbuf_u32(reply, (uint32_t)proxy_replay_check(proxy, REG_SERVICE, token)); return; }
    if (token != proxy->registered[REG_SERVICE]) { ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
    proxy_record_t *record = proxy_record(proxy, token);
    ph_message_service_t *table = calloc(1, sizeof *table);
    if (!record || !table) { free(table); ph_wbuf_u32(reply, PH_ERR_FAILED); return; }
    *table = (ph_message_service_t){PH_MESSAGE_SERVICE_SIZE, PH_MESSAGE_SERVICE_MAGIC, record, proxy_service_call};
    record->service_table = table;
    proxy->registered[REG_SERVICE]++;
    ph_wbuf_u32(reply, (uint32_t)proxy->host->provide_service(proxy->host, id, table));
}

static void get_service(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    const char *id = ph_rbuf_string(args);
    const void *table = !args->failed && id && proxy->host ? proxy->host->get_service(proxy->host, id) : NULL;
    if (table == NULL) { ph_wbuf_u64(reply, 0); return; }
    if (!ph_is_message_service(table)) {
        proxy_log(proxy, PH_LOG_WARNING,
                  "service '%s' is a table of function pointers, which cannot cross to an isolated plugin's process: "
                  "this plugin sees no '%s' (run it in-process to use it)", id, id);
        ph_wbuf_u64(reply, 0);
        return;
    }
    pthread_mutex_lock(&proxy->lock);
    size_t handle = 0;
    for (size_t i = 0; i < proxy->service_count; i++)
        if (proxy->services[i] == table) handle = i + 1;
    if (handle == 0) {
        if (proxy->service_count == proxy->service_capacity) {
            size_t grown = proxy->service_capacity ? proxy->service_capacity * 2 : 4;
            const void **bigger = realloc(proxy->services, grown * sizeof *bigger);
            if (bigger) { proxy->services = bigger; proxy->service_capacity = grown; }
        }
        if (proxy->service_count < proxy->service_capacity) {
            proxy->services[proxy->service_count++] = table;
            handle = proxy->service_count;
        }
    }
    pthread_mutex_unlock(&proxy->lock);
    ph_wbuf_u64(reply, handle);
}

static void service_call(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    uint64_t handle = ph_rbuf_u64(args);
    size_t length = 0;
    const uint8_t *request = ph_rbuf_bytes(args, &length);
    pthread_mutex_lock(&proxy->lock);
    const void *table = !args->failed && handle >= 1 && handle <= proxy->service_count ? proxy->services[handle - 1] : NULL;
    pthread_mutex_unlock(&proxy->lock);
    if (table == NULL) {
        ph_wbuf_status(reply, PH_ERR_NOT_FOUND, "no such service handle");
        ph_wbuf_bytes(reply, NULL, 0);
        return;
    }
    ph_message_service_t service;
    memcpy(&service, table, sizeof service);
    char text[1024] = {0};
    ph_message_t message = {text, sizeof text};
    ph_wbuf_t answer;
    ph_wbuf_init(&answer);
    ph_status_t status = service.call(service.context, request, length, ph_wbuf_sink, &answer, &message);
    ph_wbuf_status(reply, answer.failed ? PH_ERR_FAILED : status, text);
    ph_wbuf_bytes(reply, answer.data, answer.length);
    ph_wbuf_free(&answer);
}

void proxy_dispatch(ph_peer_t *peer, uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply) {
    ph_isolated_t *proxy = peer->context;
    const ph_host_t *host = proxy->host;
    switch (op) {
    case PH_HOP_LOG: {
        ph_log_level_t level = (ph_log_level_t)ph_rbuf_u32(args);
        const char *message = ph_rbuf_string(args);
        if (args->failed || !message) return;
        if (host) host->log(host, level, message);
        else fprintf(stderr, "[%s] %s\n", proxy->alias, message);
        return;
    }
    case PH_HOP_EVENT_ID: {
        const char *name = ph_rbuf_string(args);
        ph_wbuf_u32(reply, !args->failed && name && host ? host->event_id(host, name) : PH_EVENT_NONE);
        return;
    }
    case PH_HOP_SUBSCRIBE: subscribe(proxy, args, reply); return;
    case PH_HOP_PUBLISH: {
        ph_event_id_t id = ph_rbuf_u32(args);
        size_t length = 0;
        const uint8_t *payload = ph_rbuf_bytes(args, &length);
        ph_wbuf_u32(reply, !args->failed && host ? (uint32_t)host->publish(host, id, payload, length) : PH_ERR_INVALID);
        return;
    }
    case PH_HOP_CHECK: {
        ph_event_id_t id = ph_rbuf_u32(args);
        size_t length = 0;
        const uint8_t *payload = ph_rbuf_bytes(args, &length);
        char text[1024] = {0};
        ph_message_t reason = {text, sizeof text};
        ph_verdict_t verdict = !args->failed && host ? host->check(host, id, payload, length, &reason) : PH_DENY;
        ph_wbuf_status(reply, verdict, text);
        return;
    }
    case PH_HOP_PROVIDE_SERVICE: provide_service(proxy, args, reply); return;
    case PH_HOP_GET_SERVICE: get_service(proxy, args, reply); return;
    case PH_HOP_SERVICE_CALL: service_call(proxy, args, reply); return;
    case PH_HOP_CACHE_SET: {
        size_t key_length = 0, value_length = 0;
        const uint8_t *key = ph_rbuf_bytes(args, &key_length);
        const uint8_t *value = ph_rbuf_bytes(args, &value_length);
        uint64_t ttl = ph_rbuf_u64(args);
        ph_wbuf_u32(reply, !args->failed && host ? (uint32_t)host->cache_set(host, key, key_length, value, value_length, ttl) : PH_ERR_INVALID);
        return;
    }
    case PH_HOP_CACHE_GET: {
        size_t key_length = 0;
        const uint8_t *key = ph_rbuf_bytes(args, &key_length);
        uint64_t capacity = ph_rbuf_u64(args);
        if (args->failed || !host) { ph_wbuf_u32(reply, PH_ERR_INVALID); ph_wbuf_u64(reply, 0); ph_wbuf_bytes(reply, NULL, 0); return; }
        if (capacity > (1u << 20) + 1) capacity = (1u << 20) + 1;  /* no cached value is larger (see cache_set) */
        uint8_t *buffer = malloc(capacity ? capacity : 1);
        size_t length = 0;
        ph_status_t status = buffer ? host->cache_get(host, key, key_length, buffer, capacity, &length) : PH_ERR_FAILED;
        ph_wbuf_u32(reply, (uint32_t)status);
        ph_wbuf_u64(reply, length);
        ph_wbuf_bytes(reply, buffer, status == PH_OK ? length : 0);
        free(buffer);
        return;
    }
    case PH_HOP_CACHE_INVALIDATE: {
        size_t length = 0;
        const uint8_t *prefix = ph_rbuf_bytes(args, &length);
        ph_wbuf_u32(reply, !args->failed && host ? (uint32_t)host->cache_invalidate(host, prefix, length) : PH_ERR_INVALID);
        return;
    }
    case PH_HOP_REGISTER_ENDPOINT: proxy_register_endpoint(proxy, args, reply); return;
    case PH_HOP_REGISTER_TYPED: proxy_register_typed(proxy, args, reply); return;
    case PH_HOP_REGISTER_WRAPPER: proxy_register_wrapper(proxy, args, reply); return;
    case PH_HOP_REQUEST: proxy_request_dispatch(proxy, args, reply); return;
    default:
        proxy_log(proxy, PH_LOG_ERROR, "its plugin process asked for unknown operation %u", op);
    }
}
