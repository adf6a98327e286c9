/*
 * The worker's side of an isolated plugin: the proxy, shared by its files
 * (proxy.c: the plugin process's life and the proxy descriptor; proxy_host.c:
 * the host API the plugin process calls; proxy_http.c: endpoints, wrappers
 * and requests that cross).
 */
#pragma once

#include "include/isolation.h"
#include "lane.h"
#include "protocol.h"

#include <ffi.h>
#include <plughost/http.h>

/** Lifecycle states of the proxied instance. */
enum { PROXY_OPEN, PROXY_CREATED, PROXY_STARTED, PROXY_STOPPED, PROXY_DESTROYED, PROXY_CLOSED };

/** A per-endpoint state a wrapper's prepare made: the value the host holds (from the first
 *  plugin process), the value in the plugin process now, and the endpoint it was made for
 *  (prepare runs again in a restarted plugin process). */
typedef struct proxy_prepared {
    uint64_t host_state;
    uint64_t state;
    ph_wbuf_t endpoint;
} proxy_prepared_t;

/** Something of the plugin's that the worker registered: the callback context handed to the host. */
typedef struct proxy_record {
    struct ph_isolated *proxy;
    uint64_t token;
    uint32_t members;            /**< Wrappers: which optional functions the plugin set. */
    /* A function-form typed endpoint's closure. */
    ffi_closure *closure;
    void *code;
    ffi_cif cif;
    ffi_type *arg_types[32];
    ph_type_t params[16];
    size_t param_count;
    ph_type_t result;
    /* A provided message service: the table the host holds (as long as the record). */
    void *service_table;
    /* A wrapper's prepared states (guarded by the proxy's lock). */
    proxy_prepared_t *prepared;
    size_t prepared_count, prepared_capacity;
    struct proxy_record *next;
} proxy_record_t;

/** A request the plugin process may touch now: during a call about it, or while it is deferred. */
typedef struct proxy_request {
    ph_http_request_t *request;
    int active;
    int pending;
    void *cancel;                /**< The on_cancel record handed to the host for it (freed when it ends), or NULL. */
} proxy_request_t;

struct ph_isolated {
    ph_plugin_t descriptor;      /**< First: the host sees this. */
    /* What it was started with (owned copies). */
    char *alias, *library_path, *entry, *executable, *state_dir;
    char **read_paths;
    size_t read_path_count;
    int library_fd, strict, timeout_ms;
    uint64_t memory_mb, open_files;
    /* What the plugin declared. */
    char *id, *version, *description;
    char *sandbox;               /**< What the plugin process's sandbox applied (its last start). */
    uint32_t members;
    /* The plugin process now. */
    pthread_mutex_t lock;
    pthread_cond_t changed;      /**< Signalled when the process is replaced or the proxy closes. */
    ph_peer_t *peer;             /**< NULL while none runs. */
    ph_peer_t *retired_peers;    /**< Peers of plugin processes that ended: kept for the life of the worker, as their
                                      threads may still be unwinding (a few hundred bytes per restart). */
    struct ph_isolated *next_proxy; /**< Every proxy this worker made (never freed: the host may hold their strings and records). */
    ph_peer_t *ready_peer;       /**< The peer other threads call: NULL while a restarted process is being set up. */
    pid_t pid;
    int report_fd;               /**< Read end of what the process reports before dying. */
    int hang;                    /**< The worker killed it for a hang. */
    uint32_t restarts;
    int state;
    /* The host the instance was created with. */
    const ph_host_t *host;
    const ph_http_t *http;
    int replaying;               /**< A restarted process's create: registrations are checked, not registered again. */
    uint64_t registered[6];      /**< How many of each kind the first create registered (subscriptions, handlers, typed, wrappers, services, spare). */
    uint64_t replayed[6];
    ph_wbuf_t config;            /**< The config create was given, for a restart. */
    proxy_record_t *records;
    /* Message services the plugin looked up, by handle - 1. */
    const void **services;
    size_t service_count, service_capacity;
    /* Requests the plugin process may touch. */
    proxy_request_t *requests;
    size_t request_count, request_capacity;
};

/** Kinds of registrations, as indexes of `registered`. */
enum { REG_SUBSCRIPTION, REG_HANDLER, REG_TYPED, REG_WRAPPER, REG_SERVICE };

/** Calls `op` on the plugin process. On failure: PH_CALL_* other than OK; the thread's failure is
 *  set (503/504 naming the plugin) and, for a hang, the process is killed. */
ph_call_result_t proxy_call(struct ph_isolated *proxy, uint32_t op, const ph_wbuf_t *args, uint8_t **frame, ph_rbuf_t *reply);
/** Runs a call of the plugin process (the host API). */
void proxy_dispatch(ph_peer_t *peer, uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply);
/** Runs a PH_HOP_REQUEST. */
void proxy_request_dispatch(struct ph_isolated *proxy, ph_rbuf_t *args, ph_wbuf_t *reply);
/** Registrations from the plugin process (proxy_http.c). */
void proxy_register_endpoint(struct ph_isolated *proxy, ph_rbuf_t *args, ph_wbuf_t *reply);
void proxy_register_typed(struct ph_isolated *proxy, ph_rbuf_t *args, ph_wbuf_t *reply);
void proxy_register_wrapper(struct ph_isolated *proxy, ph_rbuf_t *args, ph_wbuf_t *reply);
/** A new record (kept until the proxy is closed). */
proxy_record_t *proxy_record(struct ph_isolated *proxy, uint64_t token);
/** During a replay: checks that `token` names a registration of `kind` the first create made. Answers PH_OK or PH_ERR_STATE. */
ph_status_t proxy_replay_check(struct ph_isolated *proxy, int kind, uint64_t token);
/** In a restarted plugin process: runs every wrapper's prepare again for the endpoints it
 *  prepared before, so the host's state values map to the new process's. 0, or -1 with a reason. */
int proxy_replay_prepares(struct ph_isolated *proxy, char *error, size_t capacity);
/** Answers every deferred request of the plugin with a 503 (its process is gone). */
void proxy_fail_pending(struct ph_isolated *proxy);
/** Sets this thread's failure for the host to answer. */
void proxy_set_failure(struct ph_isolated *proxy, ph_call_result_t result);
/** Logs through the host when there is one, else to stderr. */
void proxy_log(struct ph_isolated *proxy, ph_log_level_t level, const char *format, ...) __attribute__((format(printf, 3, 4)));
