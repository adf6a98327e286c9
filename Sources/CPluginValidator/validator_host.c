/*
 * The validator's recording host: one ph_host_t per plugin instance, as plughost builds them.
 *
 * Contracts kept (plugin.h): the table handed to create stays valid for the life of the process
 * (tables live in a never-unmapped slab); after destroy it is retired: every call answers what the
 * real host's retired table answers (PH_ERR_STATE, NULL, nothing) and is recorded as a late call.
 * subscribe, subscribe_check and provide_service work only during create; publish and check only
 * between create and destroy; [thread-safe] functions take any thread. A plugin that is not
 * PH_PLUGIN_THREAD_SAFE has every call into it serialised by a per-instance recursive lock.
 * What the host records (subscriptions, services, endpoints, wrappers, the cache) is freed when the
 * table is retired, so the heap test sees only the plugin's own memory. Event names and delivery
 * are in validator_events.c, the cache in validator_cache.c.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { VH_PREPARED, VH_CREATING, VH_LIVE, VH_RETIRED };

#define VH_SLOTS 16384u
#define VH_LATE_NAMES 8u

typedef struct vh_service {
    char *id;
    const void *service;
} vh_service_t;

struct vh_host {
    ph_host_t table;                    /* first: what the plugin gets */
    const ph_plugin_t *plugin;
    bool serialised;                    /* not thread-safe: calls into it take plugin_lock */
    pthread_mutex_t plugin_lock;        /* recursive */
    pthread_mutex_t records_lock;
    atomic_int phase;
    atomic_int active;                  /* host calls running (retire waits for them) */
    char alias[64];
    /* records: freed by vh_retire */
    vh_subscription_t *subscriptions;
    size_t subscription_count, subscription_capacity;
    vh_service_t *services;
    size_t service_count, service_capacity;
    vh_endpoint_t *endpoints;
    size_t endpoint_count, endpoint_capacity;
    vh_wrapper_t *wrappers;
    size_t wrapper_count, wrapper_capacity;
    vh_cache_t cache;
    /* kept after retirement */
    atomic_uint late_calls;
    const char *_Atomic late_names[VH_LATE_NAMES];
    _Atomic uint64_t retired_ns;
    _Atomic uint64_t first_late_ns;
};

/* ---- the slab: tables are never freed, and a pointer the plugin passes back can be checked ---- */

static vh_host_t *slab;
static atomic_uint slab_used;
static pthread_once_t slab_once = PTHREAD_ONCE_INIT;

static void slab_map(void) {
    void *pages = mmap(NULL, VH_SLOTS * sizeof(vh_host_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == MAP_FAILED) abort();
    slab = pages;
}

static vh_host_t *host_of(const ph_host_t *table) {
    if (table == NULL || slab == NULL) return NULL;
    uintptr_t at = (uintptr_t)table, base = (uintptr_t)slab;
    if (at < base) return NULL;
    uintptr_t offset = at - base;
    if (offset % sizeof(vh_host_t) != 0 || offset / sizeof(vh_host_t) >= atomic_load(&slab_used)) return NULL;
    return (vh_host_t *)table;
}

/* ---- the guard ---- */

static void note_late(vh_host_t *host, const char *function) {
    unsigned index = atomic_fetch_add(&host->late_calls, 1);
    if (index == 0) atomic_store(&host->first_late_ns, vt_now_ns());
    if (index >= VH_LATE_NAMES) return;   /* a thread that keeps calling is told once per name slot, not per call */
    atomic_store(&host->late_names[index], function);
    char line[160];
    snprintf(line, sizeof line, "%s called %s after destroy", host->alias, function);
    vt_progress("late call", line);
}

vh_host_t *vh_enter(const ph_host_t *table, const char *function) {
    if (table == NULL) {
        vt_misuse("called %s with a NULL ph_host_t", function);
        return NULL;
    }
    vh_host_t *host = host_of(table);
    if (host == NULL) {
        vt_misuse("called %s with a ph_host_t the host never handed out", function);
        return NULL;
    }
    atomic_fetch_add(&host->active, 1);
    if (atomic_load(&host->phase) == VH_RETIRED) {
        atomic_fetch_sub(&host->active, 1);
        note_late(host, function);
        return NULL;
    }
    return host;
}

void vh_leave(vh_host_t *host) {
    if (host != NULL) atomic_fetch_sub(&host->active, 1);
}

bool vh_creating(vh_host_t *host) { return atomic_load(&host->phase) == VH_CREATING; }

static bool live(vh_host_t *host) { return atomic_load(&host->phase) == VH_LIVE; }

/* ---- records ---- */

/* Grows `*items` (of `size`-byte elements) to hold one more; false when out of memory. */
static bool grow(void **items, size_t *capacity, size_t count, size_t size) {
    if (count < *capacity) return true;
    size_t more = *capacity ? *capacity * 2 : 8;
    void *bigger = realloc(*items, more * size);
    if (bigger == NULL) return false;
    *items = bigger;
    *capacity = more;
    return true;
}

void vh_add_endpoint(vh_host_t *host, const vh_endpoint_t *endpoint) {
    pthread_mutex_lock(&host->records_lock);
    if (grow((void **)&host->endpoints, &host->endpoint_capacity, host->endpoint_count, sizeof *endpoint)) {
        host->endpoints[host->endpoint_count++] = *endpoint;
    } else {
        vh_endpoint_t copy = *endpoint;
        vh_endpoint_free(&copy);
    }
    pthread_mutex_unlock(&host->records_lock);
}

void vh_add_wrapper(vh_host_t *host, const vh_wrapper_t *wrapper) {
    pthread_mutex_lock(&host->records_lock);
    if (grow((void **)&host->wrappers, &host->wrapper_capacity, host->wrapper_count, sizeof *wrapper)) {
        host->wrappers[host->wrapper_count++] = *wrapper;
    } else {
        vh_wrapper_t copy = *wrapper;
        vh_wrapper_free(&copy);
    }
    pthread_mutex_unlock(&host->records_lock);
}

size_t vh_subscription_count(vh_host_t *host) { return host->subscription_count; }
const vh_subscription_t *vh_subscription(vh_host_t *host, size_t index) { return &host->subscriptions[index]; }
size_t vh_endpoint_count(vh_host_t *host) { return host->endpoint_count; }
const vh_endpoint_t *vh_endpoint(vh_host_t *host, size_t index) { return &host->endpoints[index]; }
size_t vh_wrapper_count(vh_host_t *host) { return host->wrapper_count; }
const vh_wrapper_t *vh_wrapper(vh_host_t *host, size_t index) { return &host->wrappers[index]; }

unsigned vh_late_calls(vh_host_t *host, char *names, size_t capacity, uint64_t *first_after_ns) {
    unsigned count = atomic_load(&host->late_calls);
    if (names != NULL && capacity > 0) {
        names[0] = 0;
        size_t used = 0;
        for (unsigned i = 0; i < count && i < VH_LATE_NAMES; i++) {
            const char *name = atomic_load(&host->late_names[i]);
            if (name == NULL || strstr(names, name) != NULL) continue;   /* each name once */
            int n = snprintf(names + used, capacity - used, "%s%s", used ? ", " : "", name);
            if (n < 0 || (size_t)n >= capacity - used) break;
            used += (size_t)n;
        }
    }
    if (first_after_ns != NULL) {
        uint64_t first = atomic_load(&host->first_late_ns), retired = atomic_load(&host->retired_ns);
        *first_after_ns = count && first > retired ? first - retired : 0;
    }
    return count;
}

/* ---- the plugin lock ---- */

void vh_plugin_enter(vh_host_t *host) {
    if (host->serialised) pthread_mutex_lock(&host->plugin_lock);
}

void vh_plugin_leave(vh_host_t *host) {
    if (host->serialised) pthread_mutex_unlock(&host->plugin_lock);
}

/* The subscribers of `id` (events or checks), in the host's order: priority, then subscription order. */
static size_t subscribers_of(vh_host_t *host, ph_event_id_t id, bool checks, vh_subscription_t **out) {
    pthread_mutex_lock(&host->records_lock);
    size_t count = 0;
    vh_subscription_t *found = malloc((host->subscription_count + 1) * sizeof *found);
    for (size_t i = 0; found != NULL && i < host->subscription_count; i++) {
        const vh_subscription_t *s = &host->subscriptions[i];
        if (s->id == id && (checks ? s->check != NULL : s->event != NULL)) found[count++] = *s;
    }
    pthread_mutex_unlock(&host->records_lock);
    for (size_t i = 1; i < count; i++) {   /* insertion sort: stable, lists are short */
        vh_subscription_t key = found[i];
        size_t j = i;
        while (j > 0 && found[j - 1].priority > key.priority) { found[j] = found[j - 1]; j--; }
        found[j] = key;
    }
    *out = found;
    return count;
}

/* ---- ph_host_t ---- */

static void h_log(const ph_host_t *table, ph_log_level_t level, const char *message) {
    vh_host_t *host = vh_enter(table, "log");
    if (host == NULL) return;
    static const char *const levels[] = {"trace", "debug", "info", "warning", "error"};
    char line[1200];
    snprintf(line, sizeof line, "%s: %s: %.1100s", host->alias, level >= 0 && level <= 4 ? levels[level] : "error",
             message != NULL ? message : "(NULL)");
    vt_progress("log", line);
    vh_leave(host);
}

static ph_event_id_t h_event_id(const ph_host_t *table, const char *name) {
    vh_host_t *host = vh_enter(table, "event_id");
    vh_leave(host);
    if (table == NULL) return PH_EVENT_NONE;
    return vh_event_id(name);   /* process-wide: the host answers even after destroy */
}

static ph_status_t subscribe_any(const ph_host_t *table, const char *function, ph_event_id_t id, int32_t priority,
                                 ph_event_fn event, ph_check_fn check, void *user_data) {
    vh_host_t *host = vh_enter(table, function);
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = PH_OK;
    if ((event == NULL && check == NULL) || id == PH_EVENT_NONE) status = PH_ERR_INVALID;
    else if (!vh_creating(host)) status = PH_ERR_STATE;
    else if (vh_event_name(id) == NULL) status = PH_ERR_NOT_FOUND;
    else {
        pthread_mutex_lock(&host->records_lock);
        if (grow((void **)&host->subscriptions, &host->subscription_capacity, host->subscription_count,
                 sizeof *host->subscriptions)) {
            host->subscriptions[host->subscription_count] =
                (vh_subscription_t){id, priority, (unsigned)host->subscription_count, event, check, user_data};
            host->subscription_count++;
        } else {
            status = PH_ERR_FAILED;
        }
        pthread_mutex_unlock(&host->records_lock);
    }
    vh_leave(host);
    return status;
}

static ph_status_t h_subscribe(const ph_host_t *table, ph_event_id_t id, int32_t priority, ph_event_fn callback, void *user_data) {
    if (callback == NULL) {
        vh_leave(vh_enter(table, "subscribe"));
        return PH_ERR_INVALID;
    }
    return subscribe_any(table, "subscribe", id, priority, callback, NULL, user_data);
}

static ph_status_t h_subscribe_check(const ph_host_t *table, ph_event_id_t id, int32_t priority, ph_check_fn callback,
                                     void *user_data) {
    if (callback == NULL) {
        vh_leave(vh_enter(table, "subscribe_check"));
        return PH_ERR_INVALID;
    }
    return subscribe_any(table, "subscribe_check", id, priority, NULL, callback, user_data);
}

static ph_status_t h_publish(const ph_host_t *table, ph_event_id_t id, const void *payload, size_t length) {
    vh_host_t *host = vh_enter(table, "publish");
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = PH_OK;
    if (id < PH_EVENT_FIRST_CUSTOM || (payload == NULL && length > 0)) status = PH_ERR_INVALID;
    else if (!live(host)) status = PH_ERR_STATE;
    else {
        vh_subscription_t *subscribers;
        size_t count = subscribers_of(host, id, false, &subscribers);
        const char *name = vh_event_name(id);
        ph_event_t event = {sizeof(ph_event_t), id, name != NULL ? name : "?", host->alias, length ? payload : NULL, length};
        for (size_t i = 0; i < count; i++) {
            vh_plugin_enter(host);
            subscribers[i].event(subscribers[i].user_data, &event);
            vh_plugin_leave(host);
        }
        free(subscribers);
    }
    vh_leave(host);
    return status;
}

static ph_verdict_t h_check(const ph_host_t *table, ph_event_id_t id, const void *payload, size_t length, ph_message_t *reason) {
    vh_host_t *host = vh_enter(table, "check");
    if (host == NULL) return PH_ABSTAIN;
    ph_verdict_t verdict = PH_ABSTAIN;
    if (id != PH_EVENT_NONE && live(host) && (payload != NULL || length == 0)) {
        vh_subscription_t *subscribers;
        size_t count = subscribers_of(host, id, true, &subscribers);
        const char *name = vh_event_name(id);
        ph_event_t event = {sizeof(ph_event_t), id, name != NULL ? name : "?", host->alias, length ? payload : NULL, length};
        vt_message_t shared;   /* one buffer for all subscribers, not emptied between them */
        vt_message_init(&shared);
        for (size_t i = 0; i < count && verdict != PH_DENY; i++) {
            vh_plugin_enter(host);
            ph_verdict_t answer = subscribers[i].check(subscribers[i].user_data, &event, &shared.message);
            vh_plugin_leave(host);
            if (answer == PH_DENY) verdict = PH_DENY;
            else if (answer == PH_ALLOW) verdict = PH_ALLOW;
        }
        free(subscribers);
        if (reason != NULL && reason->data != NULL && reason->capacity > 0) {
            ph_message_copy(reason, vt_message_text(&shared), strlen(vt_message_text(&shared)));
        }
    }
    vh_leave(host);
    return verdict;
}

static ph_status_t h_provide_service(const ph_host_t *table, const char *id, const void *service) {
    vh_host_t *host = vh_enter(table, "provide_service");
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = PH_OK;
    if (id == NULL || service == NULL) status = PH_ERR_INVALID;
    else if (!vh_creating(host)) status = PH_ERR_STATE;
    else {
        pthread_mutex_lock(&host->records_lock);
        for (size_t i = 0; i < host->service_count; i++) {
            if (strcmp(host->services[i].id, id) == 0) status = PH_ERR_STATE;   /* already provided */
        }
        if (status == PH_OK) {
            char *copy = strdup(id);
            if (copy != NULL && grow((void **)&host->services, &host->service_capacity, host->service_count, sizeof *host->services)) {
                host->services[host->service_count++] = (vh_service_t){copy, service};
            } else {
                free(copy);
                status = PH_ERR_FAILED;
            }
        }
        pthread_mutex_unlock(&host->records_lock);
    }
    vh_leave(host);
    return status;
}

/* From start on, the only provider this host knows is the plugin itself. */
static const void *h_get_service(const ph_host_t *table, const char *id) {
    vh_host_t *host = vh_enter(table, "get_service");
    if (host == NULL) return NULL;
    const void *found = NULL;
    if (id != NULL && live(host)) {
        pthread_mutex_lock(&host->records_lock);
        for (size_t i = 0; i < host->service_count; i++) {
            if (strcmp(host->services[i].id, id) == 0) found = host->services[i].service;
        }
        pthread_mutex_unlock(&host->records_lock);
    }
    vh_leave(host);
    return found;
}

/* ---- the cache (validator_cache.c), per instance ---- */

static ph_status_t h_cache_set(const ph_host_t *table, const void *key, size_t key_length, const void *value,
                               size_t value_length, uint64_t ttl_ms) {
    vh_host_t *host = vh_enter(table, "cache_set");
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = vh_cache_set(&host->cache, key, key_length, value, value_length, ttl_ms);
    vh_leave(host);
    return status;
}

static ph_status_t h_cache_get(const ph_host_t *table, const void *key, size_t key_length, void *buffer, size_t capacity,
                               size_t *length) {
    vh_host_t *host = vh_enter(table, "cache_get");
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = vh_cache_get(&host->cache, key, key_length, buffer, capacity, length);
    vh_leave(host);
    return status;
}

static ph_status_t h_cache_invalidate(const ph_host_t *table, const void *prefix, size_t length) {
    vh_host_t *host = vh_enter(table, "cache_invalidate");
    if (host == NULL) return table == NULL ? PH_ERR_INVALID : PH_ERR_STATE;
    ph_status_t status = vh_cache_invalidate(&host->cache, prefix, length);
    vh_leave(host);
    return status;
}

static const void *h_get_extension(const ph_host_t *table, const char *id) {
    vh_host_t *host = vh_enter(table, "get_extension");
    if (host == NULL) return NULL;
    const void *extension = id != NULL && strcmp(id, PH_EXT_HTTP) == 0 ? vh_http_table() : NULL;
    vh_leave(host);
    return extension;
}

/* ---- life of a table ---- */

vh_host_t *vh_host_new(const ph_plugin_t *plugin, const char *alias, const ph_config_t *config) {
    pthread_once(&slab_once, slab_map);
    unsigned index = atomic_fetch_add(&slab_used, 1);
    if (index >= VH_SLOTS) {
        fprintf(stderr, "validate: more than %u plugin instances in one process\n", VH_SLOTS);
        abort();
    }
    vh_host_t *host = &slab[index];
    host->plugin = plugin;
    host->serialised = (plugin->flags & PH_PLUGIN_THREAD_SAFE) == 0;
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&host->plugin_lock, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_mutex_init(&host->records_lock, NULL);
    vh_cache_init(&host->cache);
    snprintf(host->alias, sizeof host->alias, "%s", alias);
    atomic_store(&host->phase, VH_PREPARED);
    host->table = (ph_host_t){
        .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_host_t), .reserved = 0,
        .host_data = NULL, .alias = host->alias, .host_version = "plughost-validator", .config = config,
        .log = h_log, .event_id = h_event_id, .subscribe = h_subscribe, .subscribe_check = h_subscribe_check,
        .publish = h_publish, .check = h_check, .provide_service = h_provide_service, .get_service = h_get_service,
        .cache_set = h_cache_set, .cache_get = h_cache_get, .cache_invalidate = h_cache_invalidate,
        .get_extension = h_get_extension,
    };
    return host;
}

const ph_host_t *vh_table(vh_host_t *host) { return &host->table; }

const char *vh_alias(vh_host_t *host) { return host->alias; }

const ph_plugin_t *vh_plugin(vh_host_t *host) { return host->plugin; }

void vh_begin_create(vh_host_t *host) { atomic_store(&host->phase, VH_CREATING); }

void vh_end_create(vh_host_t *host) { atomic_store(&host->phase, VH_LIVE); }

void vh_retire(vh_host_t *host) {
    if (atomic_exchange(&host->phase, VH_RETIRED) == VH_RETIRED) return;
    atomic_store(&host->retired_ns, vt_now_ns());
    while (atomic_load(&host->active) > 0) vt_sleep_ms(1);   /* calls already inside finish first */
    pthread_mutex_lock(&host->records_lock);
    free(host->subscriptions);
    host->subscriptions = NULL;
    host->subscription_count = host->subscription_capacity = 0;
    for (size_t i = 0; i < host->service_count; i++) free(host->services[i].id);
    free(host->services);
    host->services = NULL;
    host->service_count = host->service_capacity = 0;
    for (size_t i = 0; i < host->endpoint_count; i++) vh_endpoint_free(&host->endpoints[i]);
    free(host->endpoints);
    host->endpoints = NULL;
    host->endpoint_count = host->endpoint_capacity = 0;
    for (size_t i = 0; i < host->wrapper_count; i++) vh_wrapper_free(&host->wrappers[i]);
    free(host->wrappers);
    host->wrappers = NULL;
    host->wrapper_count = host->wrapper_capacity = 0;
    pthread_mutex_unlock(&host->records_lock);
    vh_cache_clear(&host->cache);
}
