/* A plugin that answers later (ABI 1.2 deferred completion), for the tests:
 *   GET /d/wait?id=X&ms=N   answers "id X build B" after N ms (default 0), from the
 *                           plugin's own thread, which resumes the requests due
 *                           in random order
 *   GET /d/twice            resumes once, then again (the second must be refused)
 *   GET /d/late?ms=N        resumes after N ms whatever happened meanwhile
 *   GET /d/gated            behind wrapper "later", which defers, continues the
 *                           chain from the plugin's thread and then resumes
 *   GET /d/status           what the second and the late resume answered, and
 *                           how many requests wait ("queued=N")
 *   GET /d/undeclared       answers PH_PENDING without declaring PH_MAY_DEFER
 *                           (and keeps nothing): the host must answer 500
 *   GET /d/now, GET /d/sync the same answer, deferred and resumed at once, or
 *                           synchronous (the bench compares their cost)
 * Built twice (see the Makefile): build "b" differs only in FIXTURE_BUILD. */
#include <plughost/http.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef FIXTURE_BUILD
#define FIXTURE_BUILD "a"
#endif

enum job_kind { JOB_WAIT, JOB_TWICE, JOB_LATE, JOB_GATE };

typedef struct job {
    enum job_kind kind;
    ph_http_request_t *request;
    long id;
    struct timespec due;
    struct job *next;
} job_t;

static const ph_http_t *http;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static job_t *queue;
static atomic_size_t queued;
static pthread_t worker;
static atomic_int running;
static atomic_int second_status = -1, late_status = -1;

static void due_in(struct timespec *due, long ms) {
    clock_gettime(CLOCK_MONOTONIC, due);
    due->tv_sec += ms / 1000;
    due->tv_nsec += (ms % 1000) * 1000000L;
    if (due->tv_nsec >= 1000000000L) { due->tv_sec += 1; due->tv_nsec -= 1000000000L; }
}

static int is_due(const struct timespec *due) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

static ph_status_t enqueue(enum job_kind kind, ph_http_request_t *request, long id, long ms) {
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL) return PH_ERR_FAILED;
    job->kind = kind;
    job->request = request;
    job->id = id;
    due_in(&job->due, ms);
    pthread_mutex_lock(&lock);
    job->next = queue;
    queue = job;
    queued++;
    pthread_mutex_unlock(&lock);
    return PH_PENDING;
}

static long query_long(ph_http_request_t *request, const char *name, long fallback) {
    const char *text;
    return http->query(request, name, &text, NULL) == PH_OK ? strtol(text, NULL, 10) : fallback;
}

static void finish(job_t *job) {
    char text[96];
    switch (job->kind) {
    case JOB_WAIT: {
        int length = snprintf(text, sizeof text, "id %ld build " FIXTURE_BUILD, job->id);
        http->set_body(job->request, text, (size_t)length);
        http->resume(job->request, PH_OK, NULL);
        break;
    }
    case JOB_TWICE:
        http->set_body(job->request, "once", 4);
        http->resume(job->request, PH_OK, NULL);
        atomic_store(&second_status, http->resume(job->request, PH_OK, NULL));
        break;
    case JOB_LATE:
        atomic_store(&late_status, http->resume(job->request, PH_OK, NULL));
        break;
    case JOB_GATE: {
        ph_status_t status = http->call_next(job->request);
        http->set_header(job->request, "X-Gate", "later");
        http->resume(job->request, status, status == PH_OK ? NULL : "the chain failed");
        break;
    }
    }
    free(job);
}

/* Takes the due jobs, shuffles them and finishes them: resumes come in random order. */
static void *work(void *unused) {
    (void)unused;
    unsigned seed = (unsigned)time(NULL);
    while (atomic_load(&running) || queued > 0) {
        job_t *due[4096];
        size_t count = 0;
        pthread_mutex_lock(&lock);
        for (job_t **link = &queue; *link != NULL && count < 4096;) {
            if (is_due(&(*link)->due) || !atomic_load(&running)) {
                due[count++] = *link;
                *link = (*link)->next;
                queued--;
            } else {
                link = &(*link)->next;
            }
        }
        pthread_mutex_unlock(&lock);
        for (size_t index = count; index > 1; index--) {
            size_t other = (size_t)rand_r(&seed) % index;
            job_t *swap = due[index - 1];
            due[index - 1] = due[other];
            due[other] = swap;
        }
        for (size_t index = 0; index < count; index++) finish(due[index]);
        if (count == 0) usleep(2000);
    }
    return NULL;
}

static ph_status_t wait_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return enqueue(JOB_WAIT, request, query_long(request, "id", -1), query_long(request, "ms", 0));
}

static ph_status_t twice_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return enqueue(JOB_TWICE, request, 0, 0);
}

static ph_status_t late_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return enqueue(JOB_LATE, request, 0, query_long(request, "ms", 500));
}

static ph_status_t gated_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return http->set_body(request, "gated ok", 8);
}

static ph_status_t status_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    char text[96];
    int length = snprintf(text, sizeof text, "second=%d late=%d queued=%zu", atomic_load(&second_status), atomic_load(&late_status),
                          atomic_load(&queued));
    return http->set_body(request, text, (size_t)length);
}

static ph_status_t now_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    http->set_body(request, "now", 3);
    http->resume(request, PH_OK, NULL);
    return PH_PENDING;
}

static ph_status_t undeclared_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request; (void)error;
    return PH_PENDING;
}

static ph_status_t sync_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return http->set_body(request, "now", 3);
}

static ph_status_t later(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    return enqueue(JOB_GATE, request, 0, 5);
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL || http->struct_size < sizeof(ph_http_t)) {
        ph_message_printf(error, "needs a host with deferred completion (ABI 1.2)");
        return PH_ERR_UNSUPPORTED;
    }
    const ph_endpoint_t endpoints[] = {
        {sizeof(ph_endpoint_t), "GET", "/d/wait", wait_handler, NULL, PH_MAY_DEFER},
        {sizeof(ph_endpoint_t), "GET", "/d/twice", twice_handler, NULL, PH_MAY_DEFER},
        {sizeof(ph_endpoint_t), "GET", "/d/late", late_handler, NULL, PH_MAY_DEFER},
        {sizeof(ph_endpoint_t), "GET", "/d/gated", gated_handler, NULL},
        {sizeof(ph_endpoint_t), "GET", "/d/status", status_handler, NULL},
        {sizeof(ph_endpoint_t), "GET", "/d/now", now_handler, NULL, PH_MAY_DEFER},
        {sizeof(ph_endpoint_t), "GET", "/d/sync", sync_handler, NULL},
        {sizeof(ph_endpoint_t), "GET", "/d/undeclared", undeclared_handler, NULL},
    };
    for (size_t index = 0; index < sizeof endpoints / sizeof endpoints[0]; index++) {
        ph_status_t status = http->register_endpoint(host, &endpoints[index], error);
        if (status != PH_OK) return status;
    }
    const ph_wrapper_t wrapper = {.struct_size = sizeof(ph_wrapper_t), .name = "later", .match = "GET /d/gated",
                                  .phase = PH_WRAP_PRE, .call = later, .flags = PH_MAY_DEFER};
    ph_status_t status = http->register_wrapper(host, &wrapper, error);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static ph_status_t start(void *instance, ph_message_t *error) {
    (void)instance;
    atomic_store(&running, 1);
    if (pthread_create(&worker, NULL, work, NULL) != 0) {
        ph_message_printf(error, "cannot start the worker thread");
        return PH_ERR_FAILED;
    }
    return PH_OK;
}

/* The host drains deferred requests before stop; what is left is finished now. */
static ph_status_t stop(void *instance, ph_message_t *error) {
    (void)instance; (void)error;
    atomic_store(&running, 0);
    pthread_join(worker, NULL);
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS, .id = "test.deferred", .version = "1.0.0",
    .create = create, .start = start, .stop = stop, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *deferred_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : NULL;
}
