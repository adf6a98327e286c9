/* The worker's side of an isolated plugin: endpoints, wrappers and requests that cross. */
#define _GNU_SOURCE
#include "proxy.h"

#include <stdio.h>
#include "ffi_types.h"

#include <stdlib.h>
#include <string.h>

/* ---- Requests the plugin process may touch ---------------------------------------------------------------- */

static void request_enter(ph_isolated_t *proxy, ph_http_request_t *request) {
    pthread_mutex_lock(&proxy->lock);
    for (size_t i = 0; i < proxy->request_count; i++)
        if (proxy->requests[i].request == request) { proxy->requests[i].active++; pthread_mutex_unlock(&proxy->lock); return; }
    if (proxy->request_count == proxy->request_capacity) {
        size_t grown = proxy->request_capacity ? proxy->request_capacity * 2 : 16;
        proxy_request_t *bigger = realloc(proxy->requests, grown * sizeof *bigger);
        if (bigger) { proxy->requests = bigger; proxy->request_capacity = grown; }
    }
    if (proxy->request_count < proxy->request_capacity)
        proxy->requests[proxy->request_count++] = (proxy_request_t){request, 1, 0, NULL};
    pthread_mutex_unlock(&proxy->lock);
}

/** The call about `request` ended with `status`; a deferred one stays touchable until its resume. */
static void request_leave(ph_isolated_t *proxy, ph_http_request_t *request, ph_status_t status) {
    pthread_mutex_lock(&proxy->lock);
    for (size_t i = 0; i < proxy->request_count; i++) {
        proxy_request_t *entry = &proxy->requests[i];
        if (entry->request != request) continue;
        entry->active--;
        if (status == PH_PENDING) entry->pending = 1;
        if (entry->active <= 0 && !entry->pending) {
            free(entry->cancel);
            proxy->requests[i] = proxy->requests[--proxy->request_count];
        }
        break;
    }
    pthread_mutex_unlock(&proxy->lock);
}

/** Whether the plugin process may touch `request` now. */
static int request_known(ph_isolated_t *proxy, ph_http_request_t *request) {
    pthread_mutex_lock(&proxy->lock);
    int known = 0;
    for (size_t i = 0; i < proxy->request_count && !known; i++) known = proxy->requests[i].request == request;
    pthread_mutex_unlock(&proxy->lock);
    return known;
}

static void request_resumed(ph_isolated_t *proxy, ph_http_request_t *request) {
    pthread_mutex_lock(&proxy->lock);
    for (size_t i = 0; i < proxy->request_count; i++) {
        proxy_request_t *entry = &proxy->requests[i];
        if (entry->request != request) continue;
        entry->pending = 0;
        /* After resume the host never calls the on_cancel callback: its record can go. */
        free(entry->cancel);
        entry->cancel = NULL;
        if (entry->active <= 0) proxy->requests[i] = proxy->requests[--proxy->request_count];
        break;
    }
    pthread_mutex_unlock(&proxy->lock);
}

/** Answers `request` with the failure the last call left (503 or 504 naming the plugin) as a JSON error. */
static void answer_failure(ph_isolated_t *proxy, ph_http_request_t *request, uint32_t status, const char *message) {
    const ph_http_t *http = proxy->http;
    if (!http) return;
    char body[768];
    char escaped[600];
    size_t n = 0;
    for (const char *c = message; *c && n + 2 < sizeof escaped; c++) {
        if (*c == '"' || *c == '\\') escaped[n++] = '\\';
        escaped[n++] = (*c >= 0x20) ? *c : ' ';
    }
    escaped[n] = 0;
    int length = snprintf(body, sizeof body, "{\"error\":\"%s\",\"plugin\":\"%s\",\"message\":\"%s\"}\n",
                          status == 504 ? "plugin timed out" : "plugin unavailable", proxy->alias, escaped);
    http->set_status(request, status);
    http->set_header(request, "content-type", "application/json");
    http->set_body(request, body, (size_t)(length > 0 ? length : 0));
}

void proxy_fail_pending(ph_isolated_t *proxy) {
    for (;;) {
        pthread_mutex_lock(&proxy->lock);
        ph_http_request_t *request = NULL;
        void *cancel = NULL;
        for (size_t i = 0; i < proxy->request_count && !request; i++) {
            if (proxy->requests[i].pending) {
                request = proxy->requests[i].request;
                cancel = proxy->requests[i].cancel;
                proxy->requests[i] = proxy->requests[--proxy->request_count];
            }
        }
        pthread_mutex_unlock(&proxy->lock);
        if (!request) return;
        char message[256];
        snprintf(message, sizeof message, "plugin process of '%s' ended while the request was deferred", proxy->alias);
        answer_failure(proxy, request, 503, message);
        if (proxy->http && proxy->http->resume) proxy->http->resume(request, PH_OK, NULL);
        free(cancel);
    }
}

/** A call about `request` failed: the thread's failure stays set for the host, which answers it
 *  (503, or 504 for a hang, naming the plugin); `error` says what happened. */
static ph_status_t failed(ph_isolated_t *proxy, ph_call_result_t result, ph_message_t *error) {
    if (error) ph_message_printf(error, "plugin process of '%s' failed: %s", proxy->alias, ph_call_result_name(result));
    return PH_ERR_FAILED;
}

/* ---- Endpoints ------------------------------------------------------------------------------------------------ */

/** A call about `request` (an endpoint's handler, a wrapper's call with its `state`): the plugin
 *  process may touch the request while it runs (and after, when it answers PH_PENDING). A failed
 *  call fails closed: nothing behind a wrapper that could not run runs either. */
static ph_status_t call_about_request(proxy_record_t *record, uint32_t op, const uint64_t *state, ph_http_request_t *request,
                                      ph_message_t *error) {
    ph_isolated_t *proxy = record->proxy;
    request_enter(proxy, request);
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    if (state) ph_wbuf_u64(&args, *state);
    ph_wbuf_u64(&args, (uint64_t)(uintptr_t)request);
    uint8_t *frame;
    ph_rbuf_t reply;
    ph_call_result_t result = proxy_call(proxy, op, &args, &frame, &reply);
    ph_wbuf_free(&args);
    if (result != PH_CALL_OK) {
        request_leave(proxy, request, PH_OK);
        return failed(proxy, result, error);
    }
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    const char *message = ph_rbuf_string(&reply);
    if (reply.failed) status = PH_ERR_FAILED;
    if (message && *message && error) ph_message_copy(error, message, strlen(message));
    free(frame);
    request_leave(proxy, request, status);
    return status;
}

static ph_status_t proxy_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    return call_about_request(user_data, PH_OP_HANDLER, NULL, request, error);
}

void proxy_register_endpoint(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    const char *method = ph_rbuf_string(args);
    const char *path = ph_rbuf_string(args);
    uint64_t token = ph_rbuf_u64(args);
    uint32_t flags = ph_rbuf_u32(args);
    uint32_t size = ph_rbuf_u32(args);
    if (args->failed || !proxy->http) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed registration"); return; }
    if (proxy->replaying) { ph_wbuf_status(reply, proxy_replay_check(proxy, REG_HANDLER, token), NULL); return; }
    if (token != proxy->registered[REG_HANDLER]) { ph_wbuf_status(reply, PH_ERR_INVALID, "out of order"); return; }
    proxy->registered[REG_HANDLER]++;
    proxy_record_t *record = proxy_record(proxy, token);
    if (!record) { ph_wbuf_status(reply, PH_ERR_FAILED, "out of memory"); return; }
    ph_endpoint_t endpoint = {
        .struct_size = size < sizeof endpoint ? size : (uint32_t)sizeof endpoint, .method = method, .path = path,
        .handler = proxy_handler, .user_data = record, .flags = flags,
    };
    char text[1024] = {0};
    ph_message_t error = {text, sizeof text};
    ph_status_t status = proxy->http->register_endpoint(proxy->host, &endpoint, &error);
    ph_wbuf_status(reply, status, text);
}

/* A function-form typed endpoint: the host calls a libffi closure with the C arguments it parsed;
 * the closure sends the values across and the plugin process makes the real call. */

/* A STRING/JSON result, valid until this thread's next typed call (freed with the thread). */
static pthread_key_t typed_text_key;
static pthread_once_t typed_text_once = PTHREAD_ONCE_INIT;
static void make_typed_text_key(void) { pthread_key_create(&typed_text_key, free); }

static void typed_trampoline(ffi_cif *cif, void *result, void **values, void *user_data) {
    (void)cif;
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    size_t slot = 0;
    for (size_t i = 0; i < record->param_count; i++) {
        void *value = values[slot++];
        switch (record->params[i]) {
        case PH_TYPE_BOOL: ph_wbuf_u32(&args, *(uint8_t *)value != 0); break;
        case PH_TYPE_INT32: ph_wbuf_u64(&args, (uint64_t)(int64_t)*(int32_t *)value); break;
        case PH_TYPE_INT64: case PH_TYPE_UINT64: ph_wbuf_u64(&args, *(uint64_t *)value); break;
        case PH_TYPE_DOUBLE: ph_wbuf_f64(&args, *(double *)value); break;
        case PH_TYPE_STRING: ph_wbuf_string(&args, *(const char **)value); break;
        case PH_TYPE_BYTES: case PH_TYPE_JSON: {
            const void *bytes = *(const void **)value;
            size_t length = *(size_t *)values[slot++];
            ph_wbuf_bytes(&args, bytes, length);
            break;
        }
        }
    }
    uint8_t *frame = NULL;
    ph_rbuf_t reply;
    ph_call_result_t outcome = proxy_call(record->proxy, PH_OP_TYPED_CALL, &args, &frame, &reply);
    ph_wbuf_free(&args);
    int ok = outcome == PH_CALL_OK && ph_rbuf_u32(&reply) == 1;
    pthread_once(&typed_text_once, make_typed_text_key);
    free(pthread_getspecific(typed_text_key));
    pthread_setspecific(typed_text_key, NULL);
    switch (record->result) {
    case PH_TYPE_VOID: break;
    case PH_TYPE_BOOL: *(ffi_arg *)result = ok ? (ffi_arg)(ph_rbuf_u32(&reply) != 0) : 0; break;
    case PH_TYPE_INT32: *(ffi_sarg *)result = ok ? (ffi_sarg)(int32_t)(int64_t)ph_rbuf_u64(&reply) : 0; break;
    case PH_TYPE_INT64: case PH_TYPE_UINT64: *(uint64_t *)result = ok ? ph_rbuf_u64(&reply) : 0; break;
    case PH_TYPE_DOUBLE: *(double *)result = ok ? ph_rbuf_f64(&reply) : 0; break;
    case PH_TYPE_STRING: case PH_TYPE_JSON: {
        const char *text = ok ? ph_rbuf_string(&reply) : NULL;
        char *kept = text ? strdup(text) : NULL;
        pthread_setspecific(typed_text_key, kept);
        *(const char **)result = kept;
        break;
    }
    }
    if (outcome == PH_CALL_OK && (!ok || reply.failed)) {
        /* The plugin process answered something malformed: treat it as a failure of the plugin. */
        proxy_set_failure(record->proxy, PH_CALL_MALFORMED);
    }
    free(frame);
}

/** Builds the closure the host will call for a function-form typed endpoint. */
static int make_closure(proxy_record_t *record) {
    size_t count = 0;
    for (size_t i = 0; i < record->param_count; i++) {
        ffi_type *type = ph_ffi_type(record->params[i]);
        if (!type || record->params[i] == PH_TYPE_VOID) return 0;
        record->arg_types[count++] = type;
        if (record->params[i] == PH_TYPE_BYTES || record->params[i] == PH_TYPE_JSON) record->arg_types[count++] = &ffi_type_uint64;
    }
    ffi_type *result = ph_ffi_type(record->result);
    if (!result) return 0;
    if (ffi_prep_cif(&record->cif, FFI_DEFAULT_ABI, (unsigned)count, result, record->arg_types) != FFI_OK) return 0;
    record->closure = ffi_closure_alloc(sizeof(ffi_closure), &record->code);
    if (!record->closure) return 0;
    return ffi_prep_closure_loc(record->closure, &record->cif, typed_trampoline, record, record->code) == FFI_OK;
}

void proxy_register_typed(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    ph_typed_endpoint_t endpoint;
    memset(&endpoint, 0, sizeof endpoint);
    uint32_t size = ph_rbuf_u32(args);
    endpoint.struct_size = size < sizeof endpoint ? size : (uint32_t)sizeof endpoint;
    endpoint.method = ph_rbuf_string(args);
    endpoint.path = ph_rbuf_string(args);
    int has_function = ph_rbuf_u32(args) != 0;
    int has_handler = ph_rbuf_u32(args) != 0;
    uint64_t token = ph_rbuf_u64(args);
    uint32_t count = ph_rbuf_u32(args);
    ph_param_t params[16];
    if (count > 16) { ph_wbuf_status(reply, PH_ERR_UNSUPPORTED, "a typed endpoint takes at most 16 parameters"); return; }
    for (uint32_t i = 0; i < count; i++) {
        params[i].name = ph_rbuf_string(args);
        params[i].source = ph_rbuf_u32(args);
        params[i].type = ph_rbuf_u32(args);
    }
    endpoint.params = count ? params : NULL;
    endpoint.param_count = count;
    endpoint.result = ph_rbuf_u32(args);
    endpoint.status = ph_rbuf_u32(args);
    endpoint.flags = ph_rbuf_u32(args);
    endpoint.content_type = ph_rbuf_string(args);
    endpoint.body_schema = ph_rbuf_string(args);
    endpoint.result_schema = ph_rbuf_string(args);
    endpoint.summary = ph_rbuf_string(args);
    if (args->failed || !proxy->http) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed registration"); return; }
    /* Which table the token indexes: typed functions or handlers. */
    int kind = has_function ? REG_TYPED : REG_HANDLER;
    if (has_function || has_handler) {
        if (proxy->replaying) { ph_wbuf_status(reply, proxy_replay_check(proxy, kind, token), NULL); return; }
        if (token != proxy->registered[kind]) { ph_wbuf_status(reply, PH_ERR_INVALID, "out of order"); return; }
        proxy->registered[kind]++;
    } else if (proxy->replaying) {
        ph_wbuf_status(reply, PH_OK, NULL);
        return;
    }
    proxy_record_t *record = proxy_record(proxy, token);
    if (!record) { ph_wbuf_status(reply, PH_ERR_FAILED, "out of memory"); return; }
    if (has_function) {
        record->param_count = count;
        for (uint32_t i = 0; i < count; i++) record->params[i] = params[i].type;
        record->result = endpoint.result;
        if (!make_closure(record)) {
            ph_wbuf_status(reply, PH_ERR_UNSUPPORTED, "a parameter or result type the host cannot call");
            return;
        }
        endpoint.function = (void (*)(void))record->code;
    } else if (has_handler) {
        endpoint.handler = proxy_handler;
        endpoint.user_data = record;
    }
    char text[1024] = {0};
    ph_message_t error = {text, sizeof text};
    ph_status_t status = proxy->http->register_typed_endpoint(proxy->host, &endpoint, &error);
    ph_wbuf_status(reply, status, text);
}

/* ---- Wrappers ------------------------------------------------------------------------------------------------- */

static void write_endpoint(ph_wbuf_t *args, const ph_endpoint_info_t *info) {
    ph_wbuf_u32(args, info->kind);
    ph_wbuf_string(args, info->method ? info->method : "");
    ph_wbuf_string(args, info->path ? info->path : "");
    ph_wbuf_string(args, info->owner ? info->owner : "");
    uint32_t count = info->params && info->param_count <= 16 ? (uint32_t)info->param_count : 0;
    ph_wbuf_u32(args, count);
    for (uint32_t i = 0; i < count; i++) {
        ph_wbuf_string(args, info->params[i].name ? info->params[i].name : "");
        ph_wbuf_u32(args, info->params[i].source);
        ph_wbuf_u32(args, info->params[i].type);
    }
    ph_wbuf_u32(args, info->result);
}

/** Keeps what prepare made for `endpoint`, to make it again in a restarted plugin process. */
static void remember_prepared(proxy_record_t *record, uint64_t value, const ph_endpoint_info_t *endpoint) {
    proxy_prepared_t entry = {.host_state = value, .state = value};
    ph_wbuf_init(&entry.endpoint);
    write_endpoint(&entry.endpoint, endpoint);
    pthread_mutex_lock(&record->proxy->lock);
    if (record->prepared_count == record->prepared_capacity) {
        size_t grown = record->prepared_capacity ? record->prepared_capacity * 2 : 8;
        proxy_prepared_t *bigger = realloc(record->prepared, grown * sizeof *bigger);
        if (bigger) { record->prepared = bigger; record->prepared_capacity = grown; }
    }
    if (record->prepared_count < record->prepared_capacity) record->prepared[record->prepared_count++] = entry;
    else ph_wbuf_free(&entry.endpoint);
    pthread_mutex_unlock(&record->proxy->lock);
}

static bool proxy_accepts(void *user_data, const ph_endpoint_info_t *endpoint) {
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    write_endpoint(&args, endpoint);
    uint8_t *frame;
    ph_rbuf_t reply;
    ph_call_result_t result = proxy_call(record->proxy, PH_OP_WRAP_ACCEPTS, &args, &frame, &reply);
    ph_wbuf_free(&args);
    if (result != PH_CALL_OK) {
        ph_isolation_take_failure(NULL, NULL, 0);
        return true;  /* wrap it: the wrapper's call then fails closed with a 503 */
    }
    bool accepts = ph_rbuf_u32(&reply) != 0;
    free(frame);
    return accepts;
}

static ph_status_t proxy_prepare(void *user_data, const ph_endpoint_info_t *endpoint, void **state, ph_message_t *error) {
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    write_endpoint(&args, endpoint);
    uint8_t *frame;
    ph_rbuf_t reply;
    ph_call_result_t result = proxy_call(record->proxy, PH_OP_WRAP_PREPARE, &args, &frame, &reply);
    ph_wbuf_free(&args);
    if (result != PH_CALL_OK) {
        ph_isolation_take_failure(NULL, NULL, 0);
        if (error) ph_message_printf(error, "plugin process of '%s' failed: %s", record->proxy->alias, ph_call_result_name(result));
        return PH_ERR_FAILED;
    }
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    const char *message = ph_rbuf_string(&reply);
    uint64_t value = ph_rbuf_u64(&reply);
    if (reply.failed) status = PH_ERR_FAILED;
    if (message && *message && error) ph_message_copy(error, message, strlen(message));
    *state = (void *)(uintptr_t)value;
    free(frame);
    if (status == PH_OK) remember_prepared(record, value, endpoint);
    return status;
}

/** The state in the plugin process now for the state `host_state` the host holds. */
static uint64_t current_state(proxy_record_t *record, void *host_state) {
    uint64_t value = (uint64_t)(uintptr_t)host_state;
    pthread_mutex_lock(&record->proxy->lock);
    for (size_t i = 0; i < record->prepared_count; i++)
        if (record->prepared[i].host_state == value) { value = record->prepared[i].state; break; }
    pthread_mutex_unlock(&record->proxy->lock);
    return value;
}

int proxy_replay_prepares(ph_isolated_t *proxy, char *error, size_t capacity) {
    for (proxy_record_t *record = proxy->records; record; record = record->next) {
        if (!(record->members & PH_WRAP_HAS_PREPARE)) continue;
        for (size_t i = 0;; i++) {
            pthread_mutex_lock(&proxy->lock);
            int more = i < record->prepared_count;
            ph_wbuf_t args;
            ph_wbuf_init(&args);
            if (more) {
                ph_wbuf_u64(&args, record->token);
                ph_wbuf_raw(&args, record->prepared[i].endpoint.data, record->prepared[i].endpoint.length);
            }
            pthread_mutex_unlock(&proxy->lock);
            if (!more) { ph_wbuf_free(&args); break; }
            uint8_t *frame;
            ph_rbuf_t reply;
            ph_call_result_t result = proxy_call(proxy, PH_OP_WRAP_PREPARE, &args, &frame, &reply);
            ph_wbuf_free(&args);
            if (result != PH_CALL_OK) {
                ph_isolation_take_failure(NULL, NULL, 0);
                snprintf(error, capacity, "a wrapper's prepare: %s", ph_call_result_name(result));
                return -1;
            }
            ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
            const char *message = ph_rbuf_string(&reply);
            uint64_t value = ph_rbuf_u64(&reply);
            if (reply.failed || status != PH_OK) {
                snprintf(error, capacity, "a wrapper's prepare failed again: %s", message ? message : "malformed answer");
                free(frame);
                return -1;
            }
            free(frame);
            pthread_mutex_lock(&proxy->lock);
            record->prepared[i].state = value;
            pthread_mutex_unlock(&proxy->lock);
        }
    }
    return 0;
}

static ph_status_t proxy_wrapper_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    uint64_t current = current_state(user_data, state);
    return call_about_request(user_data, PH_OP_WRAP_CALL, &current, request, error);
}

static void proxy_release(void *user_data, void *state) {
    proxy_record_t *record = user_data;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, record->token);
    ph_wbuf_u64(&args, current_state(record, state));
    uint8_t *frame;
    ph_rbuf_t reply;
    if (proxy_call(record->proxy, PH_OP_WRAP_RELEASE, &args, &frame, &reply) == PH_CALL_OK) free(frame);
    else ph_isolation_take_failure(NULL, NULL, 0);
    ph_wbuf_free(&args);
}

void proxy_register_wrapper(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    uint32_t size = ph_rbuf_u32(args);
    ph_wrapper_t wrapper;
    memset(&wrapper, 0, sizeof wrapper);
    wrapper.struct_size = size < sizeof wrapper ? size : (uint32_t)sizeof wrapper;
    wrapper.phase = ph_rbuf_u32(args);
    wrapper.name = ph_rbuf_string(args);
    wrapper.match = ph_rbuf_string(args);
    uint64_t token = ph_rbuf_u64(args);
    uint32_t members = ph_rbuf_u32(args);
    wrapper.flags = ph_rbuf_u32(args);
    if (args->failed || !proxy->http) { ph_wbuf_status(reply, PH_ERR_INVALID, "malformed registration"); return; }
    if (proxy->replaying) { ph_wbuf_status(reply, proxy_replay_check(proxy, REG_WRAPPER, token), NULL); return; }
    if (token != proxy->registered[REG_WRAPPER]) { ph_wbuf_status(reply, PH_ERR_INVALID, "out of order"); return; }
    proxy->registered[REG_WRAPPER]++;
    proxy_record_t *record = proxy_record(proxy, token);
    if (!record) { ph_wbuf_status(reply, PH_ERR_FAILED, "out of memory"); return; }
    record->members = members;
    wrapper.user_data = record;
    wrapper.accepts = members & PH_WRAP_HAS_ACCEPTS ? proxy_accepts : NULL;
    wrapper.prepare = members & PH_WRAP_HAS_PREPARE ? proxy_prepare : NULL;
    wrapper.call = proxy_wrapper_call;
    wrapper.release = members & PH_WRAP_HAS_RELEASE ? proxy_release : NULL;
    char text[1024] = {0};
    ph_message_t error = {text, sizeof text};
    ph_status_t status = proxy->http->register_wrapper(proxy->host, &wrapper, &error);
    ph_wbuf_status(reply, status, text);
}

/* ---- Request functions, called by the plugin process ----------------------------------------------------------- */

static void proxy_cancelled(void *user_data);

typedef struct cancel_record { ph_isolated_t *proxy; uint64_t token; } cancel_record_t;

static void proxy_cancelled(void *user_data) {
    cancel_record_t *cancel = user_data;
    /* It fires once: its request no longer owns the record. */
    pthread_mutex_lock(&cancel->proxy->lock);
    for (size_t i = 0; i < cancel->proxy->request_count; i++)
        if (cancel->proxy->requests[i].cancel == cancel) cancel->proxy->requests[i].cancel = NULL;
    pthread_mutex_unlock(&cancel->proxy->lock);
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u64(&args, cancel->token);
    uint8_t *frame;
    ph_rbuf_t reply;
    if (proxy_call(cancel->proxy, PH_OP_CANCELLED, &args, &frame, &reply) == PH_CALL_OK) free(frame);
    else ph_isolation_take_failure(NULL, NULL, 0);
    ph_wbuf_free(&args);
    free(cancel);
}

static void bytes_reply(ph_wbuf_t *reply, ph_status_t status, const void *bytes, size_t length) {
    ph_wbuf_u32(reply, (uint32_t)status);
    if (status == PH_OK) ph_wbuf_bytes(reply, bytes, length);
}

static void typed_reply(ph_wbuf_t *reply, ph_status_t status, ph_type_t type, const void *bytes, size_t length) {
    ph_wbuf_u32(reply, (uint32_t)status);
    if (status != PH_OK) return;
    ph_wbuf_u32(reply, type);
    ph_wbuf_bytes(reply, bytes, length);
}

void proxy_request_dispatch(ph_isolated_t *proxy, ph_rbuf_t *args, ph_wbuf_t *reply) {
    ph_http_request_t *request = (ph_http_request_t *)(uintptr_t)ph_rbuf_u64(args);
    uint32_t function = ph_rbuf_u32(args);
    const ph_http_t *http = proxy->http;
    if (args->failed || !http || !request_known(proxy, request)) {
        /* Not a request this plugin may touch now (a forged or stale handle): refused, never dereferenced. */
        if (function == PH_REQ_METHOD || function == PH_REQ_PATH) ph_wbuf_string(reply, "");
        else ph_wbuf_u32(reply, PH_ERR_STATE);
        return;
    }
    switch (function) {
    case PH_REQ_METHOD: ph_wbuf_string(reply, http->method(request)); return;
    case PH_REQ_PATH: ph_wbuf_string(reply, http->path(request)); return;
    case PH_REQ_PATH_PARAM: case PH_REQ_QUERY: case PH_REQ_HEADER: {
        const char *name = ph_rbuf_string(args);
        const char *value = NULL;
        size_t length = 0;
        ph_status_t status = PH_ERR_INVALID;
        if (name) {
            if (function == PH_REQ_PATH_PARAM) status = http->path_param(request, name, &value, &length);
            else if (function == PH_REQ_QUERY) status = http->query(request, name, &value, &length);
            else status = http->header(request, name, &value, &length);
        }
        bytes_reply(reply, status, value, length);
        return;
    }
    case PH_REQ_BODY: case PH_REQ_RESPONSE_BODY: {
        const void *data = NULL;
        size_t length = 0;
        ph_status_t status = function == PH_REQ_BODY ? http->body(request, &data, &length) : http->response_body(request, &data, &length);
        bytes_reply(reply, status, data, length);
        return;
    }
    case PH_REQ_SET_REQUEST_HEADER: case PH_REQ_SET_HEADER: {
        const char *name = ph_rbuf_string(args);
        const char *value = ph_rbuf_string(args);
        ph_status_t status = PH_ERR_INVALID;
        if (name && value)
            status = function == PH_REQ_SET_HEADER ? http->set_header(request, name, value) : http->set_request_header(request, name, value);
        ph_wbuf_u32(reply, (uint32_t)status);
        return;
    }
    case PH_REQ_STATUS: ph_wbuf_u32(reply, http->status(request)); return;
    case PH_REQ_SET_STATUS: {
        uint32_t status = ph_rbuf_u32(args);
        ph_wbuf_u32(reply, args->failed ? PH_ERR_INVALID : (uint32_t)http->set_status(request, status));
        return;
    }
    case PH_REQ_SET_BODY: {
        size_t length = 0;
        const uint8_t *bytes = ph_rbuf_bytes(args, &length);
        ph_wbuf_u32(reply, args->failed ? PH_ERR_INVALID : (uint32_t)http->set_body(request, bytes, length));
        return;
    }
    case PH_REQ_CALL_NEXT: ph_wbuf_u32(reply, (uint32_t)http->call_next(request)); return;
    case PH_REQ_SET_PROPERTY: {
        const char *key = ph_rbuf_string(args);
        ph_type_t type = ph_rbuf_u32(args);
        size_t length = 0;
        const uint8_t *bytes = ph_rbuf_bytes(args, &length);
        ph_wbuf_u32(reply, args->failed || !key ? PH_ERR_INVALID : (uint32_t)http->set_property(request, key, type, bytes, length));
        return;
    }
    case PH_REQ_GET_PROPERTY: case PH_REQ_PARAM: {
        const char *name = ph_rbuf_string(args);
        ph_type_t type = 0;
        const void *value = NULL;
        size_t length = 0;
        ph_status_t status = PH_ERR_INVALID;
        if (name)
            status = function == PH_REQ_PARAM ? http->param(request, name, &type, &value, &length)
                                              : http->get_property(request, name, &type, &value, &length);
        typed_reply(reply, status, type, value, length);
        return;
    }
    case PH_REQ_RESUME: {
        ph_status_t status = (ph_status_t)ph_rbuf_u32(args);
        const char *message = ph_rbuf_string(args);
        if (args->failed) { ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
        ph_status_t answered = http->resume ? http->resume(request, status, message) : PH_ERR_UNSUPPORTED;
        if (answered == PH_OK || answered == PH_ERR_CANCELLED) request_resumed(proxy, request);
        ph_wbuf_u32(reply, (uint32_t)answered);
        return;
    }
    case PH_REQ_ON_CANCEL: {
        uint64_t token = ph_rbuf_u64(args);
        cancel_record_t *cancel = malloc(sizeof *cancel);
        if (args->failed || !cancel || !http->on_cancel) { free(cancel); ph_wbuf_u32(reply, PH_ERR_INVALID); return; }
        *cancel = (cancel_record_t){proxy, token};
        ph_status_t status = http->on_cancel(request, proxy_cancelled, cancel);
        if (status != PH_OK) {
            free(cancel);
        } else {
            /* The request owns it now (a later on_cancel replaces the callback and its record). */
            pthread_mutex_lock(&proxy->lock);
            for (size_t i = 0; i < proxy->request_count; i++) {
                if (proxy->requests[i].request != request) continue;
                free(proxy->requests[i].cancel);
                proxy->requests[i].cancel = cancel;
                break;
            }
            pthread_mutex_unlock(&proxy->lock);
        }
        ph_wbuf_u32(reply, (uint32_t)status);
        return;
    }
    default:
        ph_wbuf_u32(reply, PH_ERR_UNSUPPORTED);
    }
}
