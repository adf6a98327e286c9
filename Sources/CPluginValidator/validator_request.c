/*
 * A request handed to an endpoint's handler, and its life as the host runs it (http.h):
 *   - valid during the handler call; kept past it only when the handler answers PH_PENDING, which
 *     needs PH_MAY_DEFER (else the host answers 500 and the request ends with the call);
 *   - a deferred request ends with the first `resume` (from any thread; possibly before the handler
 *     returned); a second answers PH_ERR_STATE, and so does a resume on a request of an endpoint
 *     without PH_MAY_DEFER;
 *   - the host may give up first (vq_cancel): the plugin's on_cancel callback runs at once, and
 *     resume then answers PH_ERR_CANCELLED; a callback registered after that runs at registration.
 *     A resume from another thread waits for a running callback (as the host's lock makes it), so
 *     the callback never runs after resume returned; the other request functions do not wait
 *     (the host takes no lock for them either);
 *   - a handler-form typed endpoint's answer is checked as the host checks it once it finished
 *     successfully: a 2xx status (other than 204) with a JSON result needs a well-formed document.
 * What the plugin does wrong is noted on the request (VQ_* bits, with a text each) for the test to
 * report once per endpoint. Requests live in a never-unmapped slab: a plugin that uses one after
 * its end (or after the test) is answered from the slab, never from freed memory.
 */
#define _GNU_SOURCE
#include "validator_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#define VQ_SLOTS 4096u

static vq_request_t *slab;
static atomic_uint slab_used;
static pthread_once_t slab_once = PTHREAD_ONCE_INIT;

/* Resumes wake the test waiting for them. */
static pthread_mutex_t changed_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static void slab_map(void) {
    void *pages = mmap(NULL, VQ_SLOTS * sizeof(vq_request_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == MAP_FAILED) abort();
    slab = pages;
}

static vq_request_t *request_of(ph_http_request_t *handle) {
    if (handle == NULL || slab == NULL) return NULL;
    uintptr_t at = (uintptr_t)handle, base = (uintptr_t)slab;
    if (at < base) return NULL;
    uintptr_t offset = at - base;
    if (offset % sizeof(vq_request_t) != 0 || offset / sizeof(vq_request_t) >= atomic_load(&slab_used)) return NULL;
    return (vq_request_t *)handle;
}

static void notify(void) {
    pthread_mutex_lock(&changed_lock);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&changed_lock);
}

/* ---- building ---- */

static char *copy_text(const char *text) {
    return text != NULL ? strdup(text) : NULL;
}

vq_request_t *vq_new(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, const char *label) {
    pthread_once(&slab_once, slab_map);
    unsigned index = atomic_fetch_add(&slab_used, 1);
    if (index >= VQ_SLOTS) {
        fprintf(stderr, "validate: more than %u requests in one process\n", VQ_SLOTS);
        abort();
    }
    vq_request_t *request = &slab[index];
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&request->lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    request->run = run;
    request->host = host;
    request->handler = endpoint->handler;
    request->user_data = endpoint->user_data;
    request->may_defer = VH_DEFERS(endpoint);
    request->typed = endpoint->kind == PH_ENDPOINT_TYPED;
    request->result = endpoint->result;
    request->declared_status = endpoint->status != 0 ? endpoint->status : 200;
    snprintf(request->endpoint_name, sizeof request->endpoint_name, "%.16s %.170s", endpoint->method, endpoint->path);
    snprintf(request->label, sizeof request->label, "%s", label);
    request->method = copy_text(endpoint->method);
    request->path = copy_text("/");
    request->status = 200;
    request->phase = VQ_BUILDING;
    return request;
}

void vq_set_path(vq_request_t *request, const char *path) {
    free(request->path);
    request->path = copy_text(path);
}

void vq_add_capture(vq_request_t *request, const char *name, const void *value, size_t length) {
    vq_list_set(&request->captures, name, false, PH_TYPE_STRING, value, length);
}

void vq_set_query(vq_request_t *request, const char *query) {
    free(request->query);
    request->query = copy_text(query);
}

void vq_add_header(vq_request_t *request, const char *name, const char *value) {
    /* Appended (a request may repeat a field); `header` answers the first. */
    vq_list_t *list = &request->headers;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 8;
        vq_field_t *bigger = realloc(list->items, capacity * sizeof *bigger);
        if (bigger == NULL) return;
        list->items = bigger;
        list->capacity = capacity;
    }
    size_t length = strlen(value);
    unsigned char *copy = malloc(length + 1);
    if (copy == NULL) return;
    memcpy(copy, value, length + 1);
    list->items[list->count++] = (vq_field_t){strdup(name), PH_TYPE_STRING, copy, length};
}

void vq_set_body(vq_request_t *request, const void *body, size_t length) {
    free(request->body);
    request->body = malloc(length + 1);
    if (request->body == NULL) {
        request->body_length = 0;
        return;
    }
    if (length > 0) memcpy(request->body, body, length);
    request->body[length] = 0;
    request->body_length = length;
}

void vq_add_param(vq_request_t *request, const char *name, ph_type_t type, const void *value, size_t length) {
    vq_list_set(&request->params, name, false, type, value, length);
}

void vq_add_property(vq_request_t *request, const char *name, ph_type_t type, const void *value, size_t length) {
    vq_list_set(&request->properties, name, false, type, value, length);
}

/* ---- lists and handed memory ---- */

const vq_field_t *vq_list_find(const vq_list_t *list, const char *name, bool fold) {
    for (size_t i = 0; i < list->count; i++) {
        if (fold ? strcasecmp(list->items[i].name, name) == 0 : strcmp(list->items[i].name, name) == 0) return &list->items[i];
    }
    return NULL;
}

void vq_list_set(vq_list_t *list, const char *name, bool fold, ph_type_t type, const void *value, size_t length) {
    unsigned char *copy = malloc(length + 1);
    if (copy == NULL) return;
    if (length > 0) memcpy(copy, value, length);
    copy[length] = 0;
    vq_field_t *found = (vq_field_t *)vq_list_find(list, name, fold);
    if (found != NULL) {
        free(found->value);   /* what was handed out of it is a separate copy (vq_hand) */
        *found = (vq_field_t){found->name, type, copy, length};
        return;
    }
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 8;
        vq_field_t *bigger = realloc(list->items, capacity * sizeof *bigger);
        if (bigger == NULL) {
            free(copy);
            return;
        }
        list->items = bigger;
        list->capacity = capacity;
    }
    list->items[list->count++] = (vq_field_t){strdup(name), type, copy, length};
}

static void list_free(vq_list_t *list) {
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].value);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

unsigned char *vq_hand(vq_request_t *request, const void *bytes, size_t length) {
    if (request->handed_count == request->handed_capacity) {
        size_t capacity = request->handed_capacity ? request->handed_capacity * 2 : 16;
        void **bigger = realloc(request->handed, capacity * sizeof *bigger);
        if (bigger == NULL) return NULL;
        request->handed = bigger;
        request->handed_capacity = capacity;
    }
    unsigned char *copy = malloc(length + 1);   /* malloc's alignment is at least 8 */
    if (copy == NULL) return NULL;
    if (length > 0) memcpy(copy, bytes, length);
    copy[length] = 0;
    request->handed[request->handed_count++] = copy;
    return copy;
}

/* ---- problems ---- */

static unsigned kind_of(unsigned bit) {
    unsigned kind = 0;
    while (bit > 1 && kind < VQ_PROBLEM_KINDS - 1) { bit >>= 1; kind++; }
    return kind;
}

void vq_note(vq_request_t *request, unsigned bit, const char *format, ...) {
    if (request->run == NULL || (request->problems & bit) != 0) return;
    request->problems |= bit;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(request->texts[kind_of(bit)], sizeof request->texts[0], format, arguments);
    va_end(arguments);
    char line[400];
    snprintf(line, sizeof line, "%s: %s", request->endpoint_name, request->texts[kind_of(bit)]);
    vt_progress("problem", line);
}

unsigned vq_problems(const vq_request_t *request) {
    vq_request_t *mutable = (vq_request_t *)request;
    pthread_mutex_lock(&mutable->lock);
    unsigned problems = request->problems;
    pthread_mutex_unlock(&mutable->lock);
    return problems;
}

void vq_problem_text(const vq_request_t *request, unsigned bit, char *text, size_t capacity) {
    vq_request_t *mutable = (vq_request_t *)request;
    pthread_mutex_lock(&mutable->lock);
    snprintf(text, capacity, "%s", (request->problems & bit) ? request->texts[kind_of(bit)] : "");
    pthread_mutex_unlock(&mutable->lock);
}

/* Once it finished well, a handler-form typed endpoint's answer as the host checks it. */
static void check_answer(vq_request_t *request) {
    if (!request->typed || request->result != PH_TYPE_JSON) return;
    bool succeeded = request->resumed ? request->resume_status == PH_OK && !request->cancelled : request->returned == PH_OK;
    if (!succeeded) return;
    uint32_t status = request->status == 200 ? request->declared_status : request->status;
    if (status < 200 || status > 299 || status == 204) return;
    if (request->response_length == 0) {
        vq_note(request, VQ_BAD_ANSWER, "answered status %u with an empty body (%s): a json result must be a JSON "
                "document; answer errors with a 4xx or 5xx status", status, request->label);
        return;
    }
    char why[200];
    if (vt_json_problem(request->response_body, request->response_length, why, sizeof why) != NULL) {
        vq_note(request, VQ_BAD_ANSWER, "answered malformed JSON with status %u (%s): %s: the host answers 500 instead",
                status, request->label, why);
    }
}

/* ---- the call, resume, on_cancel, giving up ---- */

ph_status_t vq_call(vq_request_t *request) {
    pthread_mutex_lock(&request->lock);
    request->phase = VQ_CALLING;
    pthread_mutex_unlock(&request->lock);
    vt_message_t error;
    vt_message_init(&error);
    vh_plugin_enter(request->host);
    ph_status_t status = request->handler(request->user_data, (ph_http_request_t *)request, &error.message);
    vh_plugin_leave(request->host);
    char what[420];
    snprintf(what, sizeof what, "%s (%s)", request->endpoint_name, request->label);
    vt_message_check(request->run, &error, what, status, false);   /* a failure's message is optional here */
    pthread_mutex_lock(&request->lock);
    request->returned = status;
    if (status == PH_PENDING && !request->may_defer) {
        vq_note(request, VQ_PENDING_UNDECLARED, "answered PH_PENDING without declaring PH_MAY_DEFER (%s): the host "
                "answers 500 and the request ends with the call; set PH_MAY_DEFER in the endpoint's flags", request->label);
        request->phase = VQ_DONE;
        request->ended = "its handler returned";
    } else if (status == PH_PENDING) {
        request->phase = request->resumed ? VQ_DONE : VQ_PENDING;
        request->ended = "resume";
        if (request->resumed) check_answer(request);
    } else {
        if (request->resumed) {
            vq_note(request, VQ_RESUMED_NOT_PENDING, "called resume, then its handler returned %s instead of PH_PENDING "
                    "(%s): resume finishes only a request the handler answered PH_PENDING for", vt_status_name(status),
                    request->label);
        }
        request->phase = VQ_DONE;
        request->ended = "its handler returned";
        if (!request->resumed) check_answer(request);
    }
    pthread_mutex_unlock(&request->lock);
    notify();
    return status;
}

/* Runs the on_cancel callback outside the lock (taken on entry and on return), marked as running. */
static void run_cancel_callback(vq_request_t *request, void (*callback)(void *), void *user_data) {
    request->cancelling = true;
    request->canceller = pthread_self();
    pthread_mutex_unlock(&request->lock);
    callback(user_data);
    pthread_mutex_lock(&request->lock);
    request->cancelling = false;
}

ph_status_t vq_resume(ph_http_request_t *handle, ph_status_t status, const char *message) {
    (void)message;
    vq_request_t *request = request_of(handle);
    if (request == NULL) {
        vt_misuse("called ph_http_t.resume with a request the host never handed out");
        return PH_ERR_STATE;
    }
    pthread_mutex_lock(&request->lock);
    while (request->cancelling && !pthread_equal(request->canceller, pthread_self())) {
        pthread_mutex_unlock(&request->lock);   /* the callback runs on another thread: after it */
        vt_sleep_ms(1);
        pthread_mutex_lock(&request->lock);
    }
    ph_status_t answer = PH_OK;
    if (request->phase == VQ_RELEASED || request->phase == VQ_BUILDING) {
        answer = PH_ERR_STATE;
    } else if (!request->may_defer) {
        vq_note(request, VQ_RESUME_UNDEFERRED, "called resume on a request of an endpoint without PH_MAY_DEFER (%s; "
                "answered PH_ERR_STATE)", request->label);
        answer = PH_ERR_STATE;
    } else if (request->resumed) {
        vq_note(request, VQ_RESUMED_TWICE, "resumed a request twice (%s; the second resume was answered PH_ERR_STATE): "
                "call resume exactly once per deferred request", request->label);
        answer = PH_ERR_STATE;
    } else if (request->phase == VQ_DONE) {
        vq_note(request, VQ_RESUMED_NOT_PENDING, "called resume after its handler returned %s, not PH_PENDING (%s; "
                "answered PH_ERR_STATE)", vt_status_name(request->returned), request->label);
        answer = PH_ERR_STATE;
    } else {
        request->resumed = true;
        request->resume_status = status;
        request->cancel_fn = NULL;   /* never called after resume */
        if (request->phase == VQ_PENDING) {
            request->phase = VQ_DONE;
            if (!request->cancelled) check_answer(request);
        }
        if (request->cancelled) answer = PH_ERR_CANCELLED;
    }
    pthread_mutex_unlock(&request->lock);
    notify();
    return answer;
}

ph_status_t vq_on_cancel(ph_http_request_t *handle, void (*cancelled)(void *), void *user_data) {
    if (cancelled == NULL) return PH_ERR_INVALID;
    vq_request_t *request = request_of(handle);
    if (request == NULL) {
        vt_misuse("called ph_http_t.on_cancel with a request the host never handed out");
        return PH_ERR_STATE;
    }
    pthread_mutex_lock(&request->lock);
    ph_status_t answer = PH_OK;
    if (request->phase == VQ_RELEASED || request->phase == VQ_BUILDING || !request->may_defer) {
        answer = PH_ERR_STATE;
    } else if (request->phase == VQ_DONE) {
        vq_note(request, VQ_USED_AFTER_END, "called ph_http_t.on_cancel on a request after it finished (after %s; %s)",
                request->ended != NULL ? request->ended : "its end", request->label);
        answer = PH_ERR_STATE;
    } else if (request->resumed) {
        request->asked_cancel = true;   /* resumed before the handler returned: kept, never called */
    } else if (request->cancelled) {
        request->asked_cancel = true;
        run_cancel_callback(request, cancelled, user_data);   /* the host gave up before the plugin asked: at once */
    } else {
        request->asked_cancel = true;
        request->cancel_fn = cancelled;
        request->cancel_data = user_data;
    }
    pthread_mutex_unlock(&request->lock);
    return answer;
}

bool vq_cancel(vq_request_t *request) {
    pthread_mutex_lock(&request->lock);
    bool gave_up = request->phase == VQ_PENDING && !request->resumed && !request->cancelled;
    if (gave_up) {
        request->cancelled = true;
        void (*callback)(void *) = request->cancel_fn;
        request->cancel_fn = NULL;
        if (callback != NULL) run_cancel_callback(request, callback, request->cancel_data);
    }
    pthread_mutex_unlock(&request->lock);
    return gave_up;
}

static bool read_flag(const vq_request_t *request, const bool *flag) {
    vq_request_t *mutable = (vq_request_t *)request;
    pthread_mutex_lock(&mutable->lock);
    bool value = *flag;
    pthread_mutex_unlock(&mutable->lock);
    return value;
}

bool vq_deferred(const vq_request_t *request) {
    vq_request_t *mutable = (vq_request_t *)request;
    pthread_mutex_lock(&mutable->lock);
    bool deferred = request->may_defer && request->returned == PH_PENDING && request->phase != VQ_CALLING;
    pthread_mutex_unlock(&mutable->lock);
    return deferred;
}

bool vq_resumed(const vq_request_t *request) { return read_flag(request, &request->resumed); }
bool vq_cancelled(const vq_request_t *request) { return read_flag(request, &request->cancelled); }
bool vq_asked_cancel(const vq_request_t *request) { return read_flag(request, &request->asked_cancel); }

const char *vq_endpoint_name(const vq_request_t *request) { return request->endpoint_name; }
const char *vq_label(const vq_request_t *request) { return request->label; }

bool vq_wait(vq_request_t *const *requests, size_t count, bool cancelled_too, uint64_t deadline_ns) {
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < count && all; i++) {
            if (!vq_deferred(requests[i]) || (!cancelled_too && vq_cancelled(requests[i]))) continue;
            all = vq_resumed(requests[i]);
        }
        if (all) return true;
        uint64_t now = vt_now_ns();
        if (now >= deadline_ns) return false;
        uint64_t until = now + 20000000u < deadline_ns ? now + 20000000u : deadline_ns;
        struct timespec wake;
        clock_gettime(CLOCK_REALTIME, &wake);
        uint64_t nanoseconds = (uint64_t)wake.tv_nsec + (until - now);
        wake.tv_sec += (time_t)(nanoseconds / 1000000000u);
        wake.tv_nsec = (long)(nanoseconds % 1000000000u);
        pthread_mutex_lock(&changed_lock);
        pthread_cond_timedwait(&changed, &changed_lock, &wake);
        pthread_mutex_unlock(&changed_lock);
    }
}

void vq_release(vq_request_t *request) {
    pthread_mutex_lock(&request->lock);
    request->phase = VQ_RELEASED;
    request->run = NULL;
    request->cancel_fn = NULL;
    free(request->method);
    free(request->path);
    free(request->query);
    free(request->body);
    free(request->response_body);
    request->method = request->path = request->query = NULL;
    request->body = request->response_body = NULL;
    list_free(&request->captures);
    list_free(&request->headers);
    list_free(&request->params);
    list_free(&request->properties);
    list_free(&request->response_headers);
    for (size_t i = 0; i < request->handed_count; i++) free(request->handed[i]);
    free(request->handed);
    request->handed = NULL;
    request->handed_count = request->handed_capacity = 0;
    pthread_mutex_unlock(&request->lock);
}

/* ---- for the accessors ---- */

vq_request_t *vq_enter(ph_http_request_t *handle, const char *function) {
    vq_request_t *request = request_of(handle);
    if (request == NULL) {
        vt_misuse("called ph_http_t.%s with a request the host never handed out", function);
        return NULL;
    }
    pthread_mutex_lock(&request->lock);
    if (request->phase == VQ_CALLING || request->phase == VQ_PENDING) return request;
    if (request->phase == VQ_DONE) {
        vq_note(request, VQ_USED_AFTER_END, "called ph_http_t.%s on a request after it finished (after %s; %s): a "
                "request is valid during the handler call, or until resume when the handler answered PH_PENDING",
                function, request->ended != NULL ? request->ended : "its end", request->label);
    }
    pthread_mutex_unlock(&request->lock);
    return NULL;
}

void vq_leave(vq_request_t *request) { pthread_mutex_unlock(&request->lock); }
