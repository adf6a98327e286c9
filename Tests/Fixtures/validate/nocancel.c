/*
 * Validator fixture `nocancel` (alias no-cancel). Breaks ONE rule: every deferred request must be
 * resumed exactly once, also after the host gave up on it (resume then answers PH_ERR_CANCELLED).
 * GET /nocancel/wait (PH_MAY_DEFER) hands the request to a worker thread that resumes it 20 ms
 * later; its on_cancel callback marks the job cancelled, and the worker then drops it without
 * resuming it. The worker is joined in stop (no thread is left), and it resumes every request the
 * host did not give up on (the endpoints test passes).
 *
 * Must fail:  async   reason "never resumed after cancellation", naming GET /nocancel/wait.
 */
#define _GNU_SOURCE
#include <plughost/http.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct job {
    ph_http_request_t *request;
    struct timespec due;
    atomic_bool cancelled;
    struct job *next;
} job_t;

typedef struct nocancel {
    const ph_http_t *http;
    pthread_mutex_t lock;
    job_t *jobs;
    pthread_t worker;
    bool running;
    atomic_bool stopping;
} nocancel_t;

static bool is_due(const struct timespec *due) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec);
}

static void cancelled(void *user_data) {
    job_t *job = user_data;
    atomic_store(&job->cancelled, true);
}

static ph_status_t wait_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    nocancel_t *self = user_data;
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    job->request = request;
    clock_gettime(CLOCK_MONOTONIC, &job->due);
    job->due.tv_nsec += 20 * 1000 * 1000;
    if (job->due.tv_nsec >= 1000000000L) { job->due.tv_sec += 1; job->due.tv_nsec -= 1000000000L; }
    self->http->on_cancel(request, cancelled, job);
    pthread_mutex_lock(&self->lock);
    job->next = self->jobs;
    self->jobs = job;
    pthread_mutex_unlock(&self->lock);
    return PH_PENDING;
}

static void *work(void *argument) {
    nocancel_t *self = argument;
    while (!atomic_load(&self->stopping)) {
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
        job_t *jobs = NULL;
        pthread_mutex_lock(&self->lock);
        for (job_t **link = &self->jobs; *link != NULL;) {
            job_t *job = *link;
            if (atomic_load(&job->cancelled) || is_due(&job->due)) {
                *link = job->next;
                job->next = jobs;
                jobs = job;
            } else {
                link = &job->next;
            }
        }
        pthread_mutex_unlock(&self->lock);
        while (jobs != NULL) {
            job_t *next = jobs->next;
            if (!atomic_load(&jobs->cancelled)) {   /* THE BUG: a cancelled job is dropped, never resumed */
                self->http->set_body(jobs->request, "done", 4);
                self->http->resume(jobs->request, PH_OK, NULL);
            }
            free(jobs);
            jobs = next;
        }
    }
    return NULL;
}

static ph_status_t nocancel_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL || http->struct_size < sizeof(ph_http_t)) {
        ph_message_printf(error, "needs a host with deferred completion (ABI 1.2)");
        return PH_ERR_UNSUPPORTED;
    }
    nocancel_t *self = calloc(1, sizeof *self);
    if (self == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    self->http = http;
    pthread_mutex_init(&self->lock, NULL);
    const ph_endpoint_t endpoint = {sizeof(ph_endpoint_t), "GET", "/nocancel/wait", wait_handler, self, PH_MAY_DEFER};
    ph_status_t status = http->register_endpoint(host, &endpoint, error);
    if (status != PH_OK) {
        pthread_mutex_destroy(&self->lock);
        free(self);
        return status;
    }
    *instance = self;
    return PH_OK;
}

static ph_status_t nocancel_start(void *instance, ph_message_t *error) {
    nocancel_t *self = instance;
    atomic_store(&self->stopping, false);
    if (pthread_create(&self->worker, NULL, work, self) != 0) {
        ph_message_printf(error, "cannot start the worker thread");
        return PH_ERR_FAILED;
    }
    self->running = true;
    return PH_OK;
}

static void join_worker(nocancel_t *self) {
    if (!self->running) return;
    atomic_store(&self->stopping, true);
    pthread_join(self->worker, NULL);
    self->running = false;
}

static ph_status_t nocancel_stop(void *instance, ph_message_t *error) {
    (void)error;
    join_worker(instance);
    return PH_OK;
}

static void nocancel_destroy(void *instance) {
    nocancel_t *self = instance;
    join_worker(self);
    while (self->jobs != NULL) {   /* requests never seen by the worker: none once the host drained them */
        job_t *next = self->jobs->next;
        free(self->jobs);
        self->jobs = next;
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.nocancel", .version = "1.0.0",
    .create = nocancel_create, .start = nocancel_start, .stop = nocancel_stop, .destroy = nocancel_destroy,
};

PH_EXPORT const ph_plugin_t *nocancel_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
