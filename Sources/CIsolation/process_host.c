/* The plugin process: the ph_host_t and ph_config_t the plugin sees, each call forwarded to the worker. */
#define _GNU_SOURCE
#include "process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Config: a local copy, so reading it costs no crossing ------------------------------------------ */

typedef struct config_entry {
    const char *key;
    uint32_t kind;
    const char *text;   /* PH_CONFIG_STRING */
    size_t length;
    int64_t integer;    /* PH_CONFIG_INT, PH_CONFIG_BOOL */
    double number;      /* PH_CONFIG_DOUBLE, PH_CONFIG_INT */
} config_entry_t;

typedef struct config_copy {
    uint8_t *frame;     /* the bytes the entries point into */
    config_entry_t *entries;
    size_t count;
} config_copy_t;

/* Configs are kept for the life of the process: the plugin may hold pointers into any of them. */
static config_copy_t current;

static const config_entry_t *find(const ph_config_t *config, const char *key) {
    const config_copy_t *copy = config->host_data;
    if (key == NULL) return NULL;
    for (size_t i = 0; i < copy->count; i++)
        if (strcmp(copy->entries[i].key, key) == 0) return &copy->entries[i];
    return NULL;
}

static const char *key_at(const ph_config_t *config, size_t index) {
    const config_copy_t *copy = config->host_data;
    return index < copy->count ? copy->entries[index].key : NULL;
}

static ph_status_t get_string(const ph_config_t *config, const char *key, const char **value, size_t *length) {
    const config_entry_t *entry = find(config, key);
    if (!entry) return PH_ERR_NOT_FOUND;
    if (entry->kind != PH_CONFIG_STRING) return PH_ERR_TYPE;
    if (value) *value = entry->text;
    if (length) *length = entry->length;
    return PH_OK;
}

static ph_status_t get_int(const ph_config_t *config, const char *key, int64_t *value) {
    const config_entry_t *entry = find(config, key);
    if (!entry) return PH_ERR_NOT_FOUND;
    if (entry->kind != PH_CONFIG_INT) return PH_ERR_TYPE;
    if (value) *value = entry->integer;
    return PH_OK;
}

static ph_status_t get_double(const ph_config_t *config, const char *key, double *value) {
    const config_entry_t *entry = find(config, key);
    if (!entry) return PH_ERR_NOT_FOUND;
    if (entry->kind != PH_CONFIG_DOUBLE && entry->kind != PH_CONFIG_INT) return PH_ERR_TYPE;
    if (value) *value = entry->number;
    return PH_OK;
}

static ph_status_t get_bool(const ph_config_t *config, const char *key, bool *value) {
    const config_entry_t *entry = find(config, key);
    if (!entry) return PH_ERR_NOT_FOUND;
    if (entry->kind != PH_CONFIG_BOOL) return PH_ERR_TYPE;
    if (value) *value = entry->integer != 0;
    return PH_OK;
}

int process_read_config(ph_rbuf_t *args) {
    /* The frame outlives this call: the entries point into it. The caller's frame is the lane's; copy it. */
    size_t rest = args->length - args->offset;
    uint8_t *frame = malloc(rest + 1);
    if (!frame) return 0;
    memcpy(frame, args->data + args->offset, rest);
    args->offset = args->length;
    ph_rbuf_t in = {.data = frame, .length = rest};
    uint32_t count = ph_rbuf_u32(&in);
    if (count > 1u << 20) { free(frame); return 0; }
    config_entry_t *entries = calloc(count ? count : 1, sizeof *entries);
    if (!entries) { free(frame); return 0; }
    for (uint32_t i = 0; i < count && !in.failed; i++) {
        config_entry_t *entry = &entries[i];
        entry->key = ph_rbuf_string(&in);
        entry->kind = ph_rbuf_u32(&in);
        switch (entry->kind) {
        case PH_CONFIG_STRING: entry->text = (const char *)ph_rbuf_bytes(&in, &entry->length); break;
        case PH_CONFIG_INT: entry->integer = (int64_t)ph_rbuf_u64(&in); entry->number = (double)entry->integer; break;
        case PH_CONFIG_BOOL: entry->integer = ph_rbuf_u32(&in); break;
        case PH_CONFIG_DOUBLE: entry->number = ph_rbuf_f64(&in); break;
        case PH_CONFIG_OTHER: break;
        default: in.failed = 1;
        }
        if (!entry->key) in.failed = 1;
    }
    size_t json_length = 0;
    const char *json = (const char *)ph_rbuf_bytes(&in, &json_length);
    if (in.failed) { free(entries); free(frame); return 0; }
    current = (config_copy_t){frame, entries, count};
    config_copy_t *kept = malloc(sizeof *kept);
    if (!kept) return 0;
    *kept = current;
    process.config.host_data = kept;
    process.config.key_count = count;
    process.config.json = json;
    process.config.json_length = json_length;
    return 1;
}

/* ---- The host API ---------------------------------------------------------------------------------------- */

static void host_log(const ph_host_t *host, ph_log_level_t level, const char *message) {
    (void)host;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, (uint32_t)level);
    ph_wbuf_string(&args, message ? message : "");
    ph_rbuf_t reply;
    free(process_call(PH_HOP_LOG, &args, &reply));
    ph_wbuf_free(&args);
}

static ph_event_id_t host_event_id(const ph_host_t *host, const char *name) {
    (void)host;
    if (name == NULL) return PH_EVENT_NONE;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_string(&args, name);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_EVENT_ID, &args, &reply);
    ph_event_id_t id = ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return id;
}

static ph_status_t subscribe(ph_event_id_t id, int32_t priority, ph_event_fn event, ph_check_fn check, void *user_data) {
    if (event == NULL && check == NULL) return PH_ERR_INVALID;
    process_subscription_t subscription = {event, check, user_data};
    int64_t token = process_table_add(&process.subscriptions, &subscription);
    if (token < 0) return PH_ERR_FAILED;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, id);
    ph_wbuf_u32(&args, (uint32_t)priority);
    ph_wbuf_u64(&args, (uint64_t)token);
    ph_wbuf_u32(&args, check != NULL);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_SUBSCRIBE, &args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static ph_status_t host_subscribe(const ph_host_t *host, ph_event_id_t id, int32_t priority, ph_event_fn callback, void *user_data) {
    (void)host;
    return subscribe(id, priority, callback, NULL, user_data);
}

static ph_status_t host_subscribe_check(const ph_host_t *host, ph_event_id_t id, int32_t priority, ph_check_fn callback, void *user_data) {
    (void)host;
    return subscribe(id, priority, NULL, callback, user_data);
}

static ph_status_t host_publish(const ph_host_t *host, ph_event_id_t id, const void *payload, size_t length) {
    (void)host;
    if (payload == NULL && length > 0) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, id);
    ph_wbuf_bytes(&args, payload, length);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_PUBLISH, &args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static ph_verdict_t host_check(const ph_host_t *host, ph_event_id_t id, const void *payload, size_t length, ph_message_t *reason) {
    (void)host;
    if (payload == NULL && length > 0) return PH_DENY;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, id);
    ph_wbuf_bytes(&args, payload, length);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_CHECK, &args, &reply);
    ph_verdict_t verdict = (ph_verdict_t)ph_rbuf_u32(&reply);
    const char *text = ph_rbuf_string(&reply);
    if (reason && text) ph_message_copy(reason, text, strlen(text));
    free(frame);
    ph_wbuf_free(&args);
    return reply.failed ? PH_DENY : verdict;
}

/* ---- Services: message services cross, tables of function pointers cannot --------------------------------- */

static ph_status_t host_provide_service(const ph_host_t *host, const char *id, const void *service) {
    if (id == NULL || service == NULL) return PH_ERR_INVALID;
    if (!ph_is_message_service(service)) {
        char line[512];
        snprintf(line, sizeof line,
                 "service '%s' is a table of function pointers, which cannot cross the plugin process's boundary: "
                 "an isolated plugin can provide only message services (run this plugin in-process to provide it)", id);
        host_log(host, PH_LOG_ERROR, line);
        snprintf(process.refusal, sizeof process.refusal, "%s", line);
        return PH_ERR_UNSUPPORTED;
    }
    process_service_t entry = {service};
    int64_t token = process_table_add(&process.services, &entry);
    if (token < 0) return PH_ERR_FAILED;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_string(&args, id);
    ph_wbuf_u64(&args, (uint64_t)token);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_PROVIDE_SERVICE, &args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

/** A message service the worker found for this plugin: a local table whose call crosses. */
typedef struct remote_service {
    ph_message_service_t table;  /**< First: what get_service hands the plugin. */
    uint64_t handle;
    char *id;
    struct remote_service *next;
} remote_service_t;

static remote_service_t *remote_services;

static ph_status_t call_remote_service(void *context, const void *request, size_t length, ph_state_write_fn write, void *sink,
                                       ph_message_t *error) {
    remote_service_t *service = context;
    if (request == NULL && length > 0) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, service->handle);
    ph_wbuf_bytes(&args, request, length);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_SERVICE_CALL, &args, &reply);
    ph_status_t status = ph_read_service_answer(&reply, write, sink, error);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static const void *host_get_service(const ph_host_t *host, const char *id) {
    (void)host;
    if (id == NULL) return NULL;
    pthread_mutex_lock(&process.lock);
    for (remote_service_t *known = remote_services; known; known = known->next)
        if (strcmp(known->id, id) == 0) { pthread_mutex_unlock(&process.lock); return known; }
    pthread_mutex_unlock(&process.lock);
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_string(&args, id);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_GET_SERVICE, &args, &reply);
    uint64_t handle = ph_rbuf_u64(&reply);
    free(frame);
    ph_wbuf_free(&args);
    if (handle == 0) return NULL;
    remote_service_t *service = calloc(1, sizeof *service);
    if (!service || !(service->id = strdup(id))) { free(service); return NULL; }
    service->table = (ph_message_service_t){PH_MESSAGE_SERVICE_SIZE, PH_MESSAGE_SERVICE_MAGIC, service, call_remote_service};
    service->handle = handle;
    pthread_mutex_lock(&process.lock);
    service->next = remote_services;
    remote_services = service;
    pthread_mutex_unlock(&process.lock);
    return service;
}

/* ---- Cache --------------------------------------------------------------------------------------------- */

static ph_status_t host_cache_set(const ph_host_t *host, const void *key, size_t key_length, const void *value, size_t value_length,
                                  uint64_t ttl_ms) {
    (void)host;
    if ((key == NULL && key_length) || (value == NULL && value_length)) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_bytes(&args, key, key_length);
    ph_wbuf_bytes(&args, value, value_length);
    ph_wbuf_u64(&args, ttl_ms);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_CACHE_SET, &args, &reply);
    ph_status_t status = args.failed ? PH_ERR_TOO_SMALL : (ph_status_t)ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static ph_status_t host_cache_get(const ph_host_t *host, const void *key, size_t key_length, void *buffer, size_t capacity, size_t *length) {
    (void)host;
    if (key == NULL && key_length) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_bytes(&args, key, key_length);
    ph_wbuf_u64(&args, capacity);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_CACHE_GET, &args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    uint64_t found = ph_rbuf_u64(&reply);
    size_t got = 0;
    const uint8_t *bytes = ph_rbuf_bytes(&reply, &got);
    if (reply.failed) status = PH_ERR_FAILED;
    if (length && (status == PH_OK || status == PH_ERR_TOO_SMALL)) *length = (size_t)found;
    if (status == PH_OK && buffer && got <= capacity) memcpy(buffer, bytes, got);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static ph_status_t host_cache_invalidate(const ph_host_t *host, const void *prefix, size_t length) {
    (void)host;
    if (prefix == NULL && length) return PH_ERR_INVALID;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_bytes(&args, prefix, length);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_CACHE_INVALIDATE, &args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    free(frame);
    ph_wbuf_free(&args);
    return status;
}

static const void *host_get_extension(const ph_host_t *host, const char *id) {
    (void)host;
    if (id && strcmp(id, PH_EXT_HTTP) == 0) return &process.http;
    return NULL;
}

void process_host_init(void) {
    static config_copy_t empty;
    process.config = (ph_config_t){
        .struct_size = sizeof(ph_config_t), .host_data = &empty, .key_at = key_at, .get_string = get_string,
        .get_int = get_int, .get_double = get_double, .get_bool = get_bool, .json = "{}", .json_length = 2,
    };
    process.host = (ph_host_t){
        .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_host_t),
        .alias = process.alias, .host_version = "plughost (plugin process)", .config = &process.config,
        .log = host_log, .event_id = host_event_id, .subscribe = host_subscribe, .subscribe_check = host_subscribe_check,
        .publish = host_publish, .check = host_check, .provide_service = host_provide_service, .get_service = host_get_service,
        .cache_set = host_cache_set, .cache_get = host_cache_get, .cache_invalidate = host_cache_invalidate,
        .get_extension = host_get_extension,
    };
}
