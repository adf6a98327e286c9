/* Example: an endpoint that answers after an asynchronous wait (ABI 1.2).
 *
 *   GET /later?ms=N   answers "waited N ms" after N milliseconds (default 20,
 *                     at most 10000), without holding a host thread meanwhile.
 *
 * The handler answers PH_PENDING and hands the request to the plugin's own
 * timer thread, which finishes it with `http->resume` when it is due. This is
 * the shape of any plugin that waits for I/O: register the request with your
 * event loop or client library, answer PH_PENDING, and resume from its
 * callback. If the host gives up first (the request's deadline, the client
 * leaving), `resume` answers PH_ERR_CANCELLED and the request is simply dropped.
 *
 * The handler itself never blocks, so the plugin sets PH_PLUGIN_NEVER_BLOCKS:
 * its requests do not even visit the host's blocking pool. */
#include <plughost/http.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct waiting {
    ph_http_request_t *request;
    struct timespec due;
    long ms;
    struct waiting *next;
} waiting_t;

typedef struct {
    const ph_http_t *http;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    waiting_t *queue;       /* sorted by due time */
    waiting_t *last;        /* its last entry: with one delay for all, new ones go there */
    bool stopping;
    pthread_t timer;
} later_t;

static bool before(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Millisecond ticks, as libuv's timers have: the requests due within one
 * millisecond finish in one wake of the timer thread (never early). */
static void round_up_to_millisecond(struct timespec *time) {
    long rest = time->tv_nsec % 1000000L;
    if (rest == 0) return;
    time->tv_nsec += 1000000L - rest;
    if (time->tv_nsec >= 1000000000L) { time->tv_sec += 1; time->tv_nsec -= 1000000000L; }
}

static void finish(later_t *self, waiting_t *entry, ph_status_t status) {
    char text[48];
    int length = snprintf(text, sizeof text, "waited %ld ms", entry->ms);
    if (status == PH_OK) self->http->set_body(entry->request, text, (size_t)length);
    /* PH_ERR_CANCELLED here means the host answered already (504): nothing to do. */
    self->http->resume(entry->request, status, status == PH_OK ? NULL : "the plugin stopped");
    free(entry);
}

/* Sleeps until the millisecond tick at or after the earliest request's due time,
 * finishes every request due by then (one wake-up for them all), repeats. */
static void *run_timer(void *argument) {
    later_t *self = argument;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        if (self->queue == NULL) {
            pthread_cond_wait(&self->changed, &self->lock);
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (before(&now, &self->queue->due)) {
            struct timespec tick = self->queue->due;
            round_up_to_millisecond(&tick);
            pthread_cond_timedwait(&self->changed, &self->lock, &tick);
            continue;
        }
        waiting_t *due = self->queue;
        self->queue = due->next;
        if (self->queue == NULL) self->last = NULL;
        pthread_mutex_unlock(&self->lock);
        finish(self, due, PH_OK);
        pthread_mutex_lock(&self->lock);
    }
    /* Stopping: finish what is left (the host drains deferred requests before stop, so normally nothing). */
    waiting_t *left = self->queue;
    self->queue = self->last = NULL;
    pthread_mutex_unlock(&self->lock);
    while (left != NULL) {
        waiting_t *next = left->next;
        finish(self, left, PH_ERR_FAILED);
        left = next;
    }
    return NULL;
}

static ph_status_t later(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    later_t *self = user_data;
    const char *text;
    long ms = self->http->query(request, "ms", &text, NULL) == PH_OK ? strtol(text, NULL, 10) : 20;
    if (ms < 0 || ms > 10000) {
        ph_message_printf(error, "ms must be 0 to 10000");
        return PH_ERR_INVALID;
    }
    waiting_t *entry = calloc(1, sizeof *entry);
    if (entry == NULL) return PH_ERR_FAILED;
    entry->request = request;
    entry->ms = ms;
    clock_gettime(CLOCK_REALTIME, &entry->due);
    entry->due.tv_sec += ms / 1000;
    entry->due.tv_nsec += (ms % 1000) * 1000000L;
    if (entry->due.tv_nsec >= 1000000000L) { entry->due.tv_sec += 1; entry->due.tv_nsec -= 1000000000L; }

    pthread_mutex_lock(&self->lock);
    waiting_t **link = &self->queue;
    if (self->last != NULL && !before(&entry->due, &self->last->due)) {
        link = &self->last->next;  /* due last: no walk */
    } else {
        while (*link != NULL && !before(&entry->due, &(*link)->due)) link = &(*link)->next;
    }
    entry->next = *link;
    *link = entry;
    if (entry->next == NULL) self->last = entry;
    /* The timer sleeps until the earliest entry: it needs waking only when that changed. */
    if (link == &self->queue) pthread_cond_signal(&self->changed);
    pthread_mutex_unlock(&self->lock);
    return PH_PENDING;  /* the timer thread resumes it */
}

static ph_status_t later_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) return PH_OK;  /* a host without HTTP: nothing to serve */
    if (http->struct_size < sizeof(ph_http_t)) {
        ph_message_printf(error, "this host cannot finish deferred requests (needs ABI 1.2)");
        return PH_ERR_UNSUPPORTED;
    }
    later_t *self = calloc(1, sizeof *self);
    if (self == NULL) return PH_ERR_FAILED;
    self->http = http;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->changed, NULL);
    /* PH_MAY_DEFER: this handler answers PH_PENDING, so the host keeps its requests where they outlive the call. */
    ph_endpoint_t endpoint = {sizeof(ph_endpoint_t), "GET", "/later", later, self, PH_MAY_DEFER};
    ph_status_t status = http->register_endpoint(host, &endpoint, error);
    if (status != PH_OK) {
        free(self);
        return status;
    }
    *instance = self;
    return PH_OK;
}

static ph_status_t later_start(void *instance, ph_message_t *error) {
    later_t *self = instance;
    if (self == NULL) return PH_OK;
    if (pthread_create(&self->timer, NULL, run_timer, self) != 0) {
        ph_message_printf(error, "cannot start the timer thread");
        return PH_ERR_FAILED;
    }
    return PH_OK;
}

/* The timer thread ends before stop returns: no thread outlives the plugin. */
static ph_status_t later_stop(void *instance, ph_message_t *error) {
    (void)error;
    later_t *self = instance;
    if (self == NULL) return PH_OK;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_signal(&self->changed);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->timer, NULL);
    return PH_OK;
}

static void later_destroy(void *instance) {
    later_t *self = instance;
    if (self == NULL) return;
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->changed);
    free(self);
}

static const ph_plugin_t later_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS,
    .id = "dev.plughost.examples.later", .version = "1.0.0",
    .description = "Answers GET /later?ms=N after an asynchronous wait, holding no host thread",
    .create = later_create, .start = later_start, .stop = later_stop, .destroy = later_destroy,
};

PH_EXPORT const ph_plugin_t *later_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &later_plugin : NULL;
}
