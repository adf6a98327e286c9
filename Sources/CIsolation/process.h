/*
 * The plugin process: the state it keeps for the one plugin it hosts, shared
 * by its files (process.c: start-up, descriptor and lifecycle; process_host.c:
 * the ph_host_t it hands the plugin; process_http.c: the plughost.http/1 it
 * hands the plugin; process_calls.c: the plugin's callbacks the worker calls).
 */
#pragma once

#include "lane.h"
#include "protocol.h"

#include <ffi.h>
#include <plughost/http.h>

/** One typed endpoint of the function form: what the libffi call needs. */
typedef struct process_typed {
    void (*function)(void);
    ph_type_t params[16];
    size_t param_count;
    ph_type_t result;
    ffi_cif cif;
    ffi_type *arg_types[32];
    size_t arg_count;
} process_typed_t;

/** A growable array of plugin-side things, indexed by token. */
typedef struct process_table {
    void *items;
    size_t count, capacity, item_size;
} process_table_t;

/** A subscription's callback. */
typedef struct process_subscription { ph_event_fn event; ph_check_fn check; void *user_data; } process_subscription_t;
/** A raw or handler-form endpoint's handler. */
typedef struct process_handler { ph_handler_fn handler; void *user_data; } process_handler_t;
/** A service the plugin provides (a message service table). */
typedef struct process_service { const void *table; } process_service_t;
/** An on_cancel callback. */
typedef struct process_cancel { void (*cancelled)(void *); void *user_data; } process_cancel_t;

/** Everything the plugin process holds. One plugin per process. */
typedef struct plugin_process {
    ph_peer_t peer;                /**< The connection to the worker. */
    const char *alias;             /**< The plugin's alias. */
    const char *library;           /**< The path dlopen opens. */
    const char *entry;             /**< The entry symbol. */
    void *image;                   /**< dlopen's handle. */
    const ph_plugin_t *plugin;     /**< The plugin's descriptor. */
    void *instance;                /**< The instance create made. */
    ph_host_t host;                /**< The host API handed to the plugin. */
    ph_http_t http;                /**< plughost.http/1 as the plugin sees it. */
    ph_config_t config;            /**< The plugin's config, copied from the worker. */
    pthread_mutex_t lock;          /**< Guards the tables below. */
    process_table_t subscriptions; /**< process_subscription_t by token. */
    process_table_t handlers;      /**< process_handler_t by token. */
    process_table_t typed;         /**< process_typed_t * by token. */
    process_table_t wrappers;      /**< ph_wrapper_t by token. */
    process_table_t services;      /**< process_service_t by token. */
    process_table_t cancels;       /**< process_cancel_t by token. */
    char sandbox[512];             /**< What the sandbox applied, as one line (ph_sandbox_summary). */
    char refusal[512];             /**< Why the last thing the plugin offered was refused (added to a failing create's message). */
} plugin_process_t;

/** The process's one instance. */
extern plugin_process_t process;

/** Appends `item` (of the table's item size) and returns its token, or -1. Takes the lock. */
int64_t process_table_add(process_table_t *table, const void *item);
/** A copy of item `token` into `out`; 0 when there is none. Takes the lock. */
int process_table_get(process_table_t *table, uint64_t token, void *out);

/** Calls `op` on the worker. Answers NULL (and logs to stderr) when the worker is gone. */
uint8_t *process_call(uint32_t op, const ph_wbuf_t *args, ph_rbuf_t *reply);

/** Builds `process.host` and `process.config` (empty until a config arrives). */
void process_host_init(void);
/** Replaces the config with the one in `args`. 0 on a malformed one. */
int process_read_config(ph_rbuf_t *args);
/** Builds `process.http`. */
void process_http_init(void);
/** The plugin's callbacks: runs PH_OP_EVENT and the later operations. */
void process_dispatch_callback(uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply);
/** Request bookkeeping: a call into the plugin about `request` begins / ends (with its status). */
void process_request_enter(uint64_t request);
void process_request_leave(uint64_t request, ph_status_t status);
/** Keeps `frame` until `request` ends (pointers into it were handed to the plugin). */
void process_request_keep(uint64_t request, uint8_t *frame);
/** `request` was resumed: frees what was kept for it. */
void process_request_finish(uint64_t request);
