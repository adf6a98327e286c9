/*
 * Validator fixture `good` (alias good): breaks NO rule. Every `plughost validate`
 * test must pass on it; a test that fails here has a false positive.
 *
 * It uses every part of the ABI a test looks at:
 *   descriptor  ABI 1.3 (PH_ABI_MINOR), struct_size = sizeof(ph_plugin_t), PH_PLUGIN_THREAD_SAFE
 *   entry       NULL for a foreign major, the same static descriptor every time
 *   config      one key, `level` (string: debug | info | warning | error); any
 *               other key, a wrong type or an unknown level is refused with a status
 *   lifecycle   create (frees all it allocates in destroy), start (a worker
 *               thread, joined in stop, and in destroy if stop never came), stop, destroy
 *   events      one subscriber to the custom event "good.ping", counting with atomics
 *   state       save_state writes 40 bytes; restore_state takes exactly those back
 *               (a second save is byte-identical) and refuses anything else
 *   HTTP        raw      GET /good/echo/:word
 *               raw      GET /good/later (PH_MAY_DEFER): the worker thread resumes it ~2 ms later,
 *                        at once when the host gives up on it (on_cancel), and at stop whatever is left
 *               typed    GET /good/describe/:count?text=&scale=&loud=
 *                        string describe(int64 count, string text, double scale, bool loud)
 *               typed    POST /good/measure   json measure(json body): {"bytes": N}, any JSON body
 *               typed    POST /good/sum       handler form, json body checked against a body_schema
 *                        ({"values": [integers]}), answers {"count": N, "sum": S} with set_body
 *               wrapper  "good-tag" (pre, match "*") with accepts, prepare, call, release
 * No host call after destroy, no thread left after destroy.
 */
#define _GNU_SOURCE
#include <plughost/http.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_MAGIC "GOODST01"          /* 8 bytes, no NUL stored */
#define STATE_FORMAT 1u
#define STATE_SIZE 40u                  /* magic 8 + format 4 + reserved 4 + 3 x uint64 */

static const char *const levels[] = {"debug", "info", "warning", "error"};

typedef struct good {
    const ph_host_t *host;
    const ph_http_t *http;              /* NULL when the host offers no HTTP */
    int level;                          /* index into levels */
    _Atomic uint64_t events;            /* "good.ping" events seen */
    _Atomic uint64_t payload_bytes;     /* their payload bytes */
    _Atomic uint64_t requests;          /* raw endpoint calls */
    pthread_t worker;
    bool worker_running;                /* [control] only */
    atomic_bool stopping;
    pthread_mutex_t jobs_lock;          /* the deferred requests of GET /good/later */
    struct job *jobs;
} good_t;

/* A deferred request of GET /good/later, until the worker resumes it. */
typedef struct job {
    good_t *self;
    ph_http_request_t *request;
    uint64_t due_ns;
    atomic_bool cancelled;              /* the host gave up: resume at once */
    struct job *next;
} job_t;

static uint64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int level_index(const char *text, size_t length) {
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
        if (strlen(levels[i]) == length && memcmp(levels[i], text, length) == 0) return (int)i;
    }
    return -1;
}

/* ---- config ---- */

static ph_status_t good_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        if (key == NULL || strcmp(key, "level") != 0) {
            ph_message_printf(error, "unknown key '%s' (this plugin takes only 'level')", key ? key : "?");
            return PH_ERR_INVALID;
        }
    }
    const char *value = NULL;
    size_t length = 0;
    ph_status_t status = config->get_string(config, "level", &value, &length);
    if (status == PH_ERR_NOT_FOUND) return PH_OK;             /* default: info */
    if (status == PH_ERR_TYPE) {
        ph_message_printf(error, "level: expected a string (debug, info, warning or error)");
        return PH_ERR_TYPE;
    }
    if (status != PH_OK) {
        ph_message_printf(error, "level: cannot be read (status %d)", status);
        return status;
    }
    if (value == NULL || level_index(value, length) < 0) {
        ph_message_printf(error, "level: expected debug, info, warning or error");
        return PH_ERR_INVALID;
    }
    return PH_OK;
}

/* ---- events ---- */

static void on_ping(void *user_data, const ph_event_t *event) {
    good_t *self = user_data;
    atomic_fetch_add(&self->events, 1);
    atomic_fetch_add(&self->payload_bytes, event != NULL ? event->payload_length : 0);
}

/* ---- HTTP ---- */

static ph_status_t echo_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    good_t *self = user_data;
    (void)error;
    atomic_fetch_add(&self->requests, 1);
    const char *word = NULL;
    size_t length = 0;
    if (self->http->path_param(request, "word", &word, &length) != PH_OK || word == NULL) {
        self->http->set_status(request, 400);
        return self->http->set_body(request, "missing word", 12);
    }
    char body[256];
    size_t used = 6;
    memcpy(body, "echo: ", used);
    if (length > sizeof body - used) length = sizeof body - used;
    memcpy(body + used, word, length);                         /* may hold NULs: copied by length */
    return self->http->set_body(request, body, used + length);
}

/* The host gave up on a deferred request: the worker resumes it at once (it must not block here). */
static void later_cancelled(void *user_data) {
    job_t *job = user_data;
    atomic_store(&job->cancelled, true);
}

static ph_status_t later_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    good_t *self = user_data;
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    job->self = self;
    job->request = request;
    job->due_ns = now_ns() + 2000000u;
    self->http->set_header(request, "Content-Type", "text/plain");
    /* Registered before the worker can see the job: it never runs after the job's resume. */
    self->http->on_cancel(request, later_cancelled, job);
    pthread_mutex_lock(&self->jobs_lock);
    job->next = self->jobs;
    self->jobs = job;
    pthread_mutex_unlock(&self->jobs_lock);
    return PH_PENDING;
}

/* Resumes the jobs that are due (all of them when `all`), then frees them. */
static void finish_jobs(good_t *self, bool all) {
    pthread_mutex_lock(&self->jobs_lock);
    job_t *due = NULL;
    for (job_t **link = &self->jobs; *link != NULL;) {
        job_t *job = *link;
        if (all || atomic_load(&job->cancelled) || now_ns() >= job->due_ns) {
            *link = job->next;
            job->next = due;
            due = job;
        } else {
            link = &job->next;
        }
    }
    pthread_mutex_unlock(&self->jobs_lock);
    while (due != NULL) {
        job_t *next = due->next;
        if (!atomic_load(&due->cancelled)) self->http->set_body(due->request, "later", 5);
        /* PH_ERR_CANCELLED when the host gave up: nothing else to do. Exactly one resume per job. */
        self->http->resume(due->request, all ? PH_ERR_FAILED : PH_OK, all ? "stopping" : NULL);
        free(due);
        due = next;
    }
}

/* Plugin-owned result, valid until this thread calls into the plugin again. */
static _Thread_local char described[512];

/* Any JSON body: its size, as a JSON document (thread-local, like a string result). */
static _Thread_local char measured[64];

static const char *measure(const char *json, size_t length) {
    (void)json;
    snprintf(measured, sizeof measured, "{\"bytes\":%zu}", length);
    return measured;
}

/* Handler form: the host checked the body against SUM_SCHEMA; reads it with `param`. */
static ph_status_t sum_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    good_t *self = user_data;
    ph_type_t type;
    const void *value;
    size_t length;
    if (self->http->param(request, "body", &type, &value, &length) != PH_OK || type != PH_TYPE_JSON) {
        ph_message_printf(error, "no JSON body parameter");
        return PH_ERR_FAILED;
    }
    /* Counts the integers of "values" without a JSON library: digits runs after the first '['. */
    const char *text = value, *end = text + length, *at = memchr(text, '[', length);
    long long count = 0, sum = 0;
    while (at != NULL && at < end && *at != ']') {
        char *stop;
        long long number = strtoll(at + 1, &stop, 10);
        if (stop == at + 1) { at++; continue; }
        count++;
        sum += number;          /* the schema bounds them: no overflow */
        at = stop;
    }
    char answer[96];
    int written = snprintf(answer, sizeof answer, "{\"count\":%lld,\"sum\":%lld}", count, sum);
    return self->http->set_body(request, answer, (size_t)written);
}

/* Every value of every type is fine: no arithmetic on count, text cut at a UTF-8 boundary. */
static const char *describe(int64_t count, const char *text, double scale, bool loud) {
    size_t length = text != NULL ? strlen(text) : 0;
    size_t shown = length < 64 ? length : 64;
    while (shown > 0 && shown < length && ((unsigned char)text[shown] & 0xC0) == 0x80) shown--;
    snprintf(described, sizeof described, "count=%lld scale=%g loud=%s length=%zu text=%.*s",
             (long long)count, scale, loud ? "true" : "false", length, (int)shown, text != NULL ? text : "");
    return described;
}

static bool tag_accepts(void *user_data, const ph_endpoint_info_t *endpoint) {
    (void)user_data;
    return endpoint != NULL;                                   /* wraps raw and typed endpoints alike */
}

static ph_status_t tag_prepare(void *user_data, const ph_endpoint_info_t *endpoint, void **state, ph_message_t *error) {
    (void)user_data;
    char *label = malloc(256);
    if (label == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    /* params is NULL for raw endpoints, method and path are read as given. */
    snprintf(label, 256, "%s %s %s/%zu", endpoint->method ? endpoint->method : "?", endpoint->path ? endpoint->path : "?",
             endpoint->kind == PH_ENDPOINT_TYPED ? "typed" : "raw", endpoint->params != NULL ? endpoint->param_count : 0);
    *state = label;
    return PH_OK;
}

static ph_status_t tag_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    const good_t *self = user_data;
    (void)error;
    ph_status_t status = self->http->call_next(request);
    if (status == PH_PENDING) return PH_PENDING;
    self->http->set_header(request, "X-Good-Wrapped", state != NULL ? (const char *)state : "-");
    return status;
}

static void tag_release(void *user_data, void *state) {
    (void)user_data;
    free(state);
}

#define SUM_SCHEMA "{\"type\":\"object\",\"required\":[\"values\"],\"properties\":{\"values\":{\"type\":\"array\"," \
                   "\"items\":{\"type\":\"integer\",\"minimum\":-1000000,\"maximum\":1000000},\"maxItems\":100}}}"

static const ph_param_t body_params[] = {{"body", PH_SOURCE_BODY, PH_TYPE_JSON}};

static const ph_param_t describe_params[] = {
    {"count", PH_SOURCE_PATH, PH_TYPE_INT64},
    {"text", PH_SOURCE_QUERY, PH_TYPE_STRING},
    {"scale", PH_SOURCE_QUERY, PH_TYPE_DOUBLE},
    {"loud", PH_SOURCE_QUERY, PH_TYPE_BOOL},
};

static ph_status_t register_http(good_t *self, ph_message_t *error) {
    const ph_host_t *host = self->host;
    const ph_endpoint_t echo = {.struct_size = sizeof(ph_endpoint_t), .method = "GET", .path = "/good/echo/:word",
                                .handler = echo_handler, .user_data = self, .flags = 0};
    const ph_typed_endpoint_t typed = {.struct_size = sizeof(ph_typed_endpoint_t), .method = "GET",
                                       .path = "/good/describe/:count", .function = (void (*)(void))describe,
                                       .params = describe_params,
                                       .param_count = sizeof describe_params / sizeof *describe_params,
                                       .result = PH_TYPE_STRING};
    const ph_endpoint_t later = {.struct_size = sizeof(ph_endpoint_t), .method = "GET", .path = "/good/later",
                                 .handler = later_handler, .user_data = self, .flags = PH_MAY_DEFER};
    const ph_typed_endpoint_t measured_endpoint = {.struct_size = sizeof(ph_typed_endpoint_t), .method = "POST",
                                                   .path = "/good/measure", .function = (void (*)(void))measure,
                                                   .params = body_params, .param_count = 1, .result = PH_TYPE_JSON};
    const ph_typed_endpoint_t sum = {.struct_size = sizeof(ph_typed_endpoint_t), .method = "POST", .path = "/good/sum",
                                     .params = body_params, .param_count = 1, .result = PH_TYPE_JSON,
                                     .body_schema = SUM_SCHEMA, .handler = sum_handler, .user_data = self};
    const ph_wrapper_t tag = {.struct_size = sizeof(ph_wrapper_t), .phase = PH_WRAP_PRE, .name = "good-tag",
                              .match = "*", .user_data = self, .accepts = tag_accepts, .prepare = tag_prepare,
                              .call = tag_call, .release = tag_release, .flags = 0};
    ph_status_t status = self->http->register_endpoint(host, &echo, error);
    if (status == PH_OK) status = self->http->register_endpoint(host, &later, error);
    if (status == PH_OK) status = self->http->register_typed_endpoint(host, &typed, error);
    if (status == PH_OK) status = self->http->register_typed_endpoint(host, &measured_endpoint, error);
    if (status == PH_OK) status = self->http->register_typed_endpoint(host, &sum, error);
    if (status == PH_OK) status = self->http->register_wrapper(host, &tag, error);
    return status;
}

/* ---- lifecycle ---- */

static ph_status_t good_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    good_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    self->host = host;
    self->level = 1;
    pthread_mutex_init(&self->jobs_lock, NULL);
    const char *value = NULL;
    size_t length = 0;
    if (host->config != NULL && host->config->get_string(host->config, "level", &value, &length) == PH_OK && value != NULL) {
        int index = level_index(value, length);
        if (index >= 0) self->level = index;
    }
    ph_event_id_t ping = host->event_id(host, "good.ping");
    ph_status_t status = ping == PH_EVENT_NONE ? PH_ERR_FAILED : host->subscribe(host, ping, PH_PRIORITY_DEFAULT, on_ping, self);
    if (status != PH_OK) {
        ph_message_printf(error, "cannot subscribe to good.ping (status %d)", status);
        free(self);
        return PH_ERR_FAILED;
    }
    if (host->get_extension != NULL) self->http = host->get_extension(host, PH_EXT_HTTP);
    if (self->http != NULL && (status = register_http(self, error)) != PH_OK) {
        free(self);
        return status;
    }
    *instance = self;
    return PH_OK;
}

static void *worker_main(void *argument) {
    good_t *self = argument;
    pthread_setname_np(pthread_self(), "good-worker");
    self->host->log(self->host, PH_LOG_DEBUG, "worker running");   /* a host call while alive: allowed */
    while (!atomic_load(&self->stopping)) {
        struct timespec pause = {0, 1 * 1000 * 1000};
        nanosleep(&pause, NULL);
        if (self->http != NULL) finish_jobs(self, false);
    }
    if (self->http != NULL) finish_jobs(self, true);   /* what is left is finished before the thread ends */
    return NULL;
}

static ph_status_t good_start(void *instance, ph_message_t *error) {
    good_t *self = instance;
    atomic_store(&self->stopping, false);
    int failed = pthread_create(&self->worker, NULL, worker_main, self);
    if (failed != 0) {
        ph_message_printf(error, "cannot start the worker thread (error %d)", failed);
        return PH_ERR_FAILED;
    }
    self->worker_running = true;
    char line[64];
    snprintf(line, sizeof line, "started, level %s", levels[self->level]);
    self->host->log(self->host, PH_LOG_INFO, line);
    return PH_OK;
}

static void join_worker(good_t *self) {
    if (!self->worker_running) return;
    atomic_store(&self->stopping, true);
    pthread_join(self->worker, NULL);
    self->worker_running = false;
}

static ph_status_t good_stop(void *instance, ph_message_t *error) {
    (void)error;
    join_worker(instance);
    return PH_OK;
}

static void good_destroy(void *instance) {
    good_t *self = instance;
    join_worker(self);                                         /* no thread outlives the instance */
    pthread_mutex_destroy(&self->jobs_lock);
    free(self);
}

/* ---- state (ABI 1.1) ---- */

static ph_status_t good_save_state(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error) {
    good_t *self = instance;
    (void)error;
    unsigned char bytes[STATE_SIZE];
    uint32_t format = STATE_FORMAT, reserved = 0;
    uint64_t values[3] = {atomic_load(&self->events), atomic_load(&self->payload_bytes), atomic_load(&self->requests)};
    memcpy(bytes, STATE_MAGIC, 8);
    memcpy(bytes + 8, &format, 4);
    memcpy(bytes + 12, &reserved, 4);
    memcpy(bytes + 16, values, sizeof values);
    return write(sink, bytes, sizeof bytes);
}

static ph_status_t good_restore_state(void *instance, const char *from_version, const void *bytes, size_t length,
                                      ph_message_t *error) {
    good_t *self = instance;
    if (length != STATE_SIZE || bytes == NULL) {
        ph_message_printf(error, "expected %u bytes of state from version %s, got %zu", STATE_SIZE,
                          from_version ? from_version : "?", length);
        return PH_ERR_INVALID;
    }
    const unsigned char *at = bytes;
    uint32_t format, reserved;
    memcpy(&format, at + 8, 4);
    memcpy(&reserved, at + 12, 4);
    if (memcmp(at, STATE_MAGIC, 8) != 0 || format != STATE_FORMAT || reserved != 0) {
        ph_message_printf(error, "not a state this plugin wrote (bad magic or format)");
        return PH_ERR_INVALID;
    }
    uint64_t values[3];
    memcpy(values, at + 16, sizeof values);
    atomic_store(&self->events, values[0]);
    atomic_store(&self->payload_bytes, values[1]);
    atomic_store(&self->requests, values[2]);
    return PH_OK;
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.good", .version = "1.0.0",
    .description = "validator fixture: breaks no rule",
    .parse_config = good_parse_config, .create = good_create, .start = good_start, .stop = good_stop,
    .destroy = good_destroy, .get_extension = NULL,
    .save_state = good_save_state, .restore_state = good_restore_state,
};

PH_EXPORT const ph_plugin_t *good_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
