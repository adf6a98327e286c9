/* The plugin process: plughost.http/1 as the plugin sees it. Registrations and every request
 * function cross to the worker; what the worker hands back stays valid until the request ends. */
#define _GNU_SOURCE
#include "process.h"

#include "ffi_types.h"

#include <stdlib.h>
#include <string.h>

/* ---- What is kept for each request in flight --------------------------------------------------------- */

typedef struct request_arena {
    uint64_t request;
    int active;        /* calls into the plugin about it running now */
    int pending;       /* the plugin deferred it: kept until resume */
    uint8_t **frames;
    size_t count, capacity;
    struct request_arena *next;
} request_arena_t;

static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;
static request_arena_t *arenas;

static request_arena_t *arena_of(uint64_t request, int create) {
    for (request_arena_t *arena = arenas; arena; arena = arena->next)
        if (arena->request == request) return arena;
    if (!create) return NULL;
    request_arena_t *arena = calloc(1, sizeof *arena);
    if (!arena) return NULL;
    arena->request = request;
    arena->next = arenas;
    arenas = arena;
    return arena;
}

static void arena_free(request_arena_t *gone) {
    for (request_arena_t **link = &arenas; *link; link = &(*link)->next)
        if (*link == gone) { *link = gone->next; break; }
    for (size_t i = 0; i < gone->count; i++) free(gone->frames[i]);
    free(gone->frames);
    free(gone);
}

void process_request_enter(uint64_t request) {
    pthread_mutex_lock(&arenas_lock);
    request_arena_t *arena = arena_of(request, 1);
    if (arena) arena->active++;
    pthread_mutex_unlock(&arenas_lock);
}

void process_request_leave(uint64_t request, ph_status_t status) {
    pthread_mutex_lock(&arenas_lock);
    request_arena_t *arena = arena_of(request, 0);
    if (arena) {
        arena->active--;
        if (status == PH_PENDING) arena->pending = 1;
        if (arena->active <= 0 && !arena->pending) arena_free(arena);
    }
    pthread_mutex_unlock(&arenas_lock);
}

void process_request_keep(uint64_t request, uint8_t *frame) {
    pthread_mutex_lock(&arenas_lock);
    request_arena_t *arena = arena_of(request, 1);
    if (arena && arena->count == arena->capacity) {
        size_t grown = arena->capacity ? arena->capacity * 2 : 8;
        uint8_t **bigger = realloc(arena->frames, grown * sizeof *bigger);
        if (bigger) { arena->frames = bigger; arena->capacity = grown; }
    }
    if (arena && arena->count < arena->capacity) arena->frames[arena->count++] = frame;
    else free(frame); /* out of memory: the pointer handed out would dangle, so the caller got an error */
    pthread_mutex_unlock(&arenas_lock);
}

void process_request_finish(uint64_t request) {
    pthread_mutex_lock(&arenas_lock);
    request_arena_t *arena = arena_of(request, 0);
    if (arena) {
        arena->pending = 0;
        if (arena->active <= 0) arena_free(arena);
    }
    pthread_mutex_unlock(&arenas_lock);
}

/* ---- Registrations ------------------------------------------------------------------------------------- */

static ph_status_t answer(uint8_t *frame, ph_rbuf_t *reply, ph_message_t *error) {
    ph_status_t status = (ph_status_t)ph_rbuf_u32(reply);
    const char *message = ph_rbuf_string(reply);
    if (message && *message && error) ph_message_copy(error, message, strlen(message));
    free(frame);
    return reply->failed ? PH_ERR_FAILED : status;
}

static ph_status_t register_endpoint(const ph_host_t *host, const ph_endpoint_t *endpoint, ph_message_t *error) {
    (void)host;
    if (endpoint == NULL || endpoint->handler == NULL) {
        if (error) ph_message_printf(error, "endpoint without a handler");
        return PH_ERR_INVALID;
    }
    uint32_t flags = endpoint->struct_size >= offsetof(ph_endpoint_t, flags) + sizeof(uint32_t) ? endpoint->flags : 0;
    process_handler_t handler = {endpoint->handler, endpoint->user_data};
    int64_t token = process_table_add(&process.handlers, &handler);
    if (token < 0) return PH_ERR_FAILED;
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_string(&args, endpoint->method);
    ph_wbuf_string(&args, endpoint->path);
    ph_wbuf_u64(&args, (uint64_t)token);
    ph_wbuf_u32(&args, flags);
    ph_wbuf_u32(&args, endpoint->struct_size);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_REGISTER_ENDPOINT, &args, &reply);
    ph_wbuf_free(&args);
    return answer(frame, &reply, error);
}

#define TYPED_HAS(endpoint, member) ((endpoint)->struct_size >= offsetof(ph_typed_endpoint_t, member) + sizeof((endpoint)->member))

static ph_status_t register_typed_endpoint(const ph_host_t *host, const ph_typed_endpoint_t *endpoint, ph_message_t *error) {
    (void)host;
    if (endpoint == NULL || endpoint->struct_size < PH_TYPED_ENDPOINT_SIZE_1_0) {
        if (error) ph_message_printf(error, "typed endpoint struct_size is smaller than its ABI 1.0 part");
        return PH_ERR_INVALID;
    }
    if (endpoint->param_count > 16 || (endpoint->param_count && endpoint->params == NULL)) {
        if (error) ph_message_printf(error, "a typed endpoint takes at most 16 parameters");
        return PH_ERR_UNSUPPORTED;
    }
    ph_handler_fn handler = TYPED_HAS(endpoint, handler) ? endpoint->handler : NULL;
    int64_t token = -1;
    if (endpoint->function) {
        /* The function form: this process makes the libffi call the host would make. */
        process_typed_t *typed = calloc(1, sizeof *typed);
        if (!typed) return PH_ERR_FAILED;
        typed->function = endpoint->function;
        typed->param_count = endpoint->param_count;
        typed->result = endpoint->result;
        int ok = ph_ffi_type(endpoint->result) != NULL;
        for (size_t i = 0; i < endpoint->param_count && ok; i++) {
            ph_type_t type = endpoint->params[i].type;
            typed->params[i] = type;
            ffi_type *c = ph_ffi_type(type);
            ok = c != NULL && type != PH_TYPE_VOID;
            if (!ok) break;
            typed->arg_types[typed->arg_count++] = c;
            if (type == PH_TYPE_BYTES || type == PH_TYPE_JSON) typed->arg_types[typed->arg_count++] = &ffi_type_uint64;
        }
        if (ok) ok = ffi_prep_cif(&typed->cif, FFI_DEFAULT_ABI, (unsigned)typed->arg_count, ph_ffi_type(endpoint->result), typed->arg_types) == FFI_OK;
        if (!ok) {
            free(typed);
            if (error) ph_message_printf(error, "a parameter or result type the host cannot call");
            return PH_ERR_UNSUPPORTED;
        }
        token = process_table_add(&process.typed, &typed);
    } else if (handler) {
        process_handler_t entry = {handler, endpoint->user_data};
        token = process_table_add(&process.handlers, &entry);
    }
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, endpoint->struct_size);
    ph_wbuf_string(&args, endpoint->method);
    ph_wbuf_string(&args, endpoint->path);
    ph_wbuf_u32(&args, endpoint->function != NULL);
    ph_wbuf_u32(&args, handler != NULL);
    ph_wbuf_u64(&args, (uint64_t)token);
    ph_wbuf_u32(&args, (uint32_t)endpoint->param_count);
    for (size_t i = 0; i < endpoint->param_count; i++) {
        ph_wbuf_string(&args, endpoint->params[i].name);
        ph_wbuf_u32(&args, endpoint->params[i].source);
        ph_wbuf_u32(&args, endpoint->params[i].type);
    }
    ph_wbuf_u32(&args, endpoint->result);
    ph_wbuf_u32(&args, TYPED_HAS(endpoint, status) ? endpoint->status : 0);
    ph_wbuf_u32(&args, TYPED_HAS(endpoint, flags) ? endpoint->flags : 0);
    ph_wbuf_string(&args, TYPED_HAS(endpoint, content_type) ? endpoint->content_type : NULL);
    ph_wbuf_string(&args, TYPED_HAS(endpoint, body_schema) ? endpoint->body_schema : NULL);
    ph_wbuf_string(&args, TYPED_HAS(endpoint, result_schema) ? endpoint->result_schema : NULL);
    ph_wbuf_string(&args, TYPED_HAS(endpoint, summary) ? endpoint->summary : NULL);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_REGISTER_TYPED, &args, &reply);
    ph_wbuf_free(&args);
    return answer(frame, &reply, error);
}

#define WRAPPER_HAS(wrapper, member) ((wrapper)->struct_size >= offsetof(ph_wrapper_t, member) + sizeof((wrapper)->member))

static ph_status_t register_wrapper(const ph_host_t *host, const ph_wrapper_t *wrapper, ph_message_t *error) {
    (void)host;
    if (wrapper == NULL || !WRAPPER_HAS(wrapper, release) || wrapper->call == NULL) {
        if (error) ph_message_printf(error, "wrapper without a call function, or struct_size too small");
        return PH_ERR_INVALID;
    }
    ph_wrapper_t copy = {0};
    memcpy(&copy, wrapper, wrapper->struct_size < sizeof copy ? wrapper->struct_size : sizeof copy);
    int64_t token = process_table_add(&process.wrappers, &copy);
    if (token < 0) return PH_ERR_FAILED;
    uint32_t members = (copy.accepts ? PH_WRAP_HAS_ACCEPTS : 0) | (copy.prepare ? PH_WRAP_HAS_PREPARE : 0) |
                       (copy.release ? PH_WRAP_HAS_RELEASE : 0);
    ph_wbuf_t args;
    ph_wbuf_init(&args);
    ph_wbuf_u32(&args, wrapper->struct_size);
    ph_wbuf_u32(&args, copy.phase);
    ph_wbuf_string(&args, copy.name);
    ph_wbuf_string(&args, copy.match);
    ph_wbuf_u64(&args, (uint64_t)token);
    ph_wbuf_u32(&args, members);
    ph_wbuf_u32(&args, WRAPPER_HAS(wrapper, flags) ? copy.flags : 0);
    ph_rbuf_t reply;
    uint8_t *frame = process_call(PH_HOP_REGISTER_WRAPPER, &args, &reply);
    ph_wbuf_free(&args);
    return answer(frame, &reply, error);
}

/* ---- Request functions ----------------------------------------------------------------------------------- */

/** Starts a PH_HOP_REQUEST call: the request and the function. */
static void begin(ph_wbuf_t *args, ph_http_request_t *request, uint32_t function) {
    ph_wbuf_init(args);
    ph_wbuf_u64(args, (uint64_t)(uintptr_t)request);
    ph_wbuf_u32(args, function);
}

static uint8_t *request_call(ph_wbuf_t *args, ph_rbuf_t *reply) {
    uint8_t *frame = process_call(PH_HOP_REQUEST, args, reply);
    ph_wbuf_free(args);
    return frame;
}

/** A string answer kept until the request ends. */
static const char *text_answer(ph_http_request_t *request, uint32_t function) {
    ph_wbuf_t args;
    begin(&args, request, function);
    ph_rbuf_t reply;
    uint8_t *frame = request_call(&args, &reply);
    const char *text = ph_rbuf_string(&reply);
    if (reply.failed) { free(frame); return ""; }
    process_request_keep((uint64_t)(uintptr_t)request, frame);
    return text ? text : "";
}

static const char *request_method(ph_http_request_t *request) { return text_answer(request, PH_REQ_METHOD); }
static const char *request_path(ph_http_request_t *request) { return text_answer(request, PH_REQ_PATH); }

/** A (status, bytes) answer; the bytes kept until the request ends. */
static ph_status_t bytes_answer(ph_wbuf_t *args, ph_http_request_t *request, const void **value, size_t *length) {
    ph_rbuf_t reply;
    uint8_t *frame = request_call(args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    size_t count = 0;
    const uint8_t *bytes = status == PH_OK ? ph_rbuf_bytes(&reply, &count) : NULL;
    if (reply.failed) { free(frame); return PH_ERR_FAILED; }
    if (status != PH_OK) { free(frame); return status; }
    process_request_keep((uint64_t)(uintptr_t)request, frame);
    if (value) *value = bytes;
    if (length) *length = count;
    return PH_OK;
}

static ph_status_t named_value(ph_http_request_t *request, uint32_t function, const char *name, const char **value, size_t *length) {
    if (name == NULL) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, function);
    ph_wbuf_string(&args, name);
    return bytes_answer(&args, request, (const void **)value, length);
}

static ph_status_t path_param(ph_http_request_t *r, const char *name, const char **value, size_t *length) { return named_value(r, PH_REQ_PATH_PARAM, name, value, length); }
static ph_status_t query(ph_http_request_t *r, const char *name, const char **value, size_t *length) { return named_value(r, PH_REQ_QUERY, name, value, length); }
static ph_status_t header(ph_http_request_t *r, const char *name, const char **value, size_t *length) { return named_value(r, PH_REQ_HEADER, name, value, length); }

static ph_status_t body(ph_http_request_t *request, const void **data, size_t *length) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_BODY);
    return bytes_answer(&args, request, data, length);
}

static ph_status_t response_body(ph_http_request_t *request, const void **data, size_t *length) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_RESPONSE_BODY);
    return bytes_answer(&args, request, data, length);
}

static ph_status_t status_answer(ph_wbuf_t *args) {
    ph_rbuf_t reply;
    uint8_t *frame = request_call(args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    int failed = reply.failed;
    free(frame);
    return failed ? PH_ERR_FAILED : status;
}

static ph_status_t set_request_header(ph_http_request_t *request, const char *name, const char *value) {
    if (!name || !value) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_SET_REQUEST_HEADER);
    ph_wbuf_string(&args, name);
    ph_wbuf_string(&args, value);
    return status_answer(&args);
}

static uint32_t response_status(ph_http_request_t *request) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_STATUS);
    return (uint32_t)status_answer(&args);
}

static ph_status_t set_status(ph_http_request_t *request, uint32_t status) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_SET_STATUS);
    ph_wbuf_u32(&args, status);
    return status_answer(&args);
}

static ph_status_t set_header(ph_http_request_t *request, const char *name, const char *value) {
    if (!name || !value) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_SET_HEADER);
    ph_wbuf_string(&args, name);
    ph_wbuf_string(&args, value);
    return status_answer(&args);
}

static ph_status_t set_body(ph_http_request_t *request, const void *data, size_t length) {
    if (data == NULL && length) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_SET_BODY);
    ph_wbuf_bytes(&args, data, length);
    if (args.failed) { ph_wbuf_free(&args); return PH_ERR_TOO_SMALL; }
    return status_answer(&args);
}

static ph_status_t call_next(ph_http_request_t *request) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_CALL_NEXT);
    return status_answer(&args);
}

static ph_status_t set_property(ph_http_request_t *request, const char *key, ph_type_t type, const void *value, size_t length) {
    if (!key || (value == NULL && length)) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_SET_PROPERTY);
    ph_wbuf_string(&args, key);
    ph_wbuf_u32(&args, type);
    ph_wbuf_bytes(&args, value, length);
    return status_answer(&args);
}

/** A typed value answer (get_property, param): the bytes are copied 8-byte aligned and kept. */
static ph_status_t typed_answer(ph_wbuf_t *args, ph_http_request_t *request, ph_type_t *type, const void **value, size_t *length) {
    ph_rbuf_t reply;
    uint8_t *frame = request_call(args, &reply);
    ph_status_t status = (ph_status_t)ph_rbuf_u32(&reply);
    ph_type_t kind = status == PH_OK ? ph_rbuf_u32(&reply) : 0;
    size_t count = 0;
    const uint8_t *bytes = status == PH_OK ? ph_rbuf_bytes(&reply, &count) : NULL;
    if (reply.failed || status != PH_OK) { free(frame); return reply.failed ? PH_ERR_FAILED : status; }
    uint8_t *aligned = aligned_alloc(8, (count + 1 + 7) / 8 * 8);
    if (!aligned) { free(frame); return PH_ERR_FAILED; }
    memcpy(aligned, bytes, count);
    aligned[count] = 0;
    free(frame);
    process_request_keep((uint64_t)(uintptr_t)request, aligned);
    if (type) *type = kind;
    if (value) *value = aligned;
    if (length) *length = count;
    return PH_OK;
}

static ph_status_t get_property(ph_http_request_t *request, const char *key, ph_type_t *type, const void **value, size_t *length) {
    if (!key) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_GET_PROPERTY);
    ph_wbuf_string(&args, key);
    return typed_answer(&args, request, type, value, length);
}

static ph_status_t param(ph_http_request_t *request, const char *name, ph_type_t *type, const void **value, size_t *length) {
    if (!name) return PH_ERR_INVALID;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_PARAM);
    ph_wbuf_string(&args, name);
    return typed_answer(&args, request, type, value, length);
}

static ph_status_t resume(ph_http_request_t *request, ph_status_t status, const char *message) {
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_RESUME);
    ph_wbuf_u32(&args, (uint32_t)status);
    ph_wbuf_string(&args, message);
    ph_status_t answered = status_answer(&args);
    if (answered == PH_OK || answered == PH_ERR_CANCELLED) process_request_finish((uint64_t)(uintptr_t)request);
    return answered;
}

static ph_status_t on_cancel(ph_http_request_t *request, void (*cancelled)(void *), void *user_data) {
    if (cancelled == NULL) return PH_ERR_INVALID;
    process_cancel_t entry = {cancelled, user_data};
    int64_t token = process_table_add(&process.cancels, &entry);
    if (token < 0) return PH_ERR_FAILED;
    ph_wbuf_t args;
    begin(&args, request, PH_REQ_ON_CANCEL);
    ph_wbuf_u64(&args, (uint64_t)token);
    return status_answer(&args);
}

void process_http_init(void) {
    process.http = (ph_http_t){
        .struct_size = sizeof(ph_http_t), .register_endpoint = register_endpoint, .register_typed_endpoint = register_typed_endpoint,
        .register_wrapper = register_wrapper, .method = request_method, .path = request_path, .path_param = path_param,
        .query = query, .header = header, .body = body, .set_request_header = set_request_header, .status = response_status,
        .set_status = set_status, .set_header = set_header, .response_body = response_body, .set_body = set_body,
        .call_next = call_next, .set_property = set_property, .get_property = get_property, .param = param,
        .resume = resume, .on_cancel = on_cancel,
    };
}
