/*
 * What the validator's files share; not part of the public API (see include/plugin_validator.h).
 *
 *   validator.c                the test registry and ph_validation_run: loading, the run's reason
 *   validator_support.c        memory kept for the life of the process, time, threads, heap, random bytes
 *   validator_host.c           the recording ph_host_t (one per instance), its guard and its records
 *   validator_events.c         the event name table, and delivering one event as the host would
 *   validator_cache.c          one instance's cache namespace
 *   validator_http.c           the ph_http_t: registrations checked and copied as the host does (ABI 1.3)
 *   validator_config.c         the ph_config_t: a table of dotted leaves, its JSON, the keys asked for
 *   validator_instance.c       calls into the plugin: lifecycle in the host's order, message rules, state
 *   validator_descriptor.c     tests descriptor and entry
 *   validator_lifecycle.c      tests heap, lifecycle, stray-threads and late-calls
 *   validator_configs.c        test config: generated configs
 *   validator_threads.c        test threads: concurrent events, checks and typed calls
 *   validator_state.c          test state: the state handoff
 *   validator_typed.c          test typed: typed endpoints through libffi with boundary values
 *   validator_wrappers.c       test wrappers: accepts, prepare and release on every endpoint
 *   validator_json.c           the host's strict JSON well-formedness check
 *   validator_json_example.c   a document made to satisfy a body_schema
 *   validator_request.c        a request handed to an endpoint: its life, resume, on_cancel, giving up
 *                              (its struct in validator_request.h, shared with validator_accessors.c only)
 *   validator_accessors.c      the ph_http_t request accessors on those requests
 *   validator_generate.c       the requests generated for an endpoint
 *   validator_settle.c         waiting for deferred requests, giving up on them, reporting what requests found
 *   validator_endpoints.c      test endpoints: raw and handler-form typed endpoints with generated requests
 *   validator_async.c          test async: deferring endpoints resume once, after cancellation too, leave nothing
 *   validator_stacks.c         whether a thread runs the plugin's code (a sample of its stack)
 */
#pragma once

#include "plugin_validator.h"

#include <plughost/http.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Everything below stays inside the library: linked into plughost (whose symbols a plugin could
 * otherwise bind to), only ph_validation_* are visible. */
#pragma GCC visibility push(hidden)

/* ------------------------------------------------------------------------ */
/* A run: one test against one plugin (validator.c)                         */
/* ------------------------------------------------------------------------ */

#define VT_TEXT 1024

typedef struct vt_run {
    const char *library;
    const char *symbol;
    ph_entry_fn entry;
    const ph_plugin_t *plugin;          /* what entry(PH_ABI_MAJOR, PH_ABI_MINOR) returned */
    char alias[64];                     /* the alias the host table shows */
    ph_validation_outcome_t outcome;    /* PASS until something fails or skips */
    unsigned failures;                  /* failures recorded; the first is the reason */
    char result[VT_TEXT];               /* the reason (or the pass note) */
    char *reason;                       /* the caller's buffer: the step in progress while running */
    size_t capacity;
} vt_run_t;

/** Says what the test does now: into the caller's reason buffer and the progress descriptor. */
void vt_step(vt_run_t *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
/** Records a failure: the first one is the reason, later ones are counted ("and N more"). Thread-safe. */
void vt_fail(vt_run_t *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
/** Records why the test cannot run (ignored after a failure). */
void vt_skip(vt_run_t *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
/** The note of a pass (ignored after a failure or a skip). */
void vt_note(vt_run_t *run, const char *format, ...) __attribute__((format(printf, 2, 3)));
/** Whether a failure was recorded. */
bool vt_failed(const vt_run_t *run);
/** Whether the run is decided (failed or skipped): the test should stop. */
bool vt_decided(const vt_run_t *run);
/** Writes "validate: KIND: TEXT" to the progress descriptor, if there is one. */
void vt_progress(const char *kind, const char *text);
/** Records a misuse of the ABI that no single instance owns (a request never handed out, a
 *  ph_host_t that is not one of ours, a state sink used after its call); reported by the run. */
void vt_misuse(const char *format, ...) __attribute__((format(printf, 1, 2)));

/** "PH_ERR_INVALID", … for messages. */
const char *vt_status_name(ph_status_t status);

/* Descriptor members, read only when they lie inside struct_size (absent otherwise). */
#define VT_HAS(plugin, member) ((plugin)->struct_size >= offsetof(ph_plugin_t, member) + sizeof((plugin)->member))
#define VT_MEMBER(plugin, member) (VT_HAS(plugin, member) ? (plugin)->member : NULL)
/* save_state and restore_state exist from ABI 1.1, as the host reads them. */
#define VT_STATE_MEMBER(plugin, member) ((plugin)->abi_minor >= 1 ? VT_MEMBER(plugin, member) : NULL)

/** Whether the host could call this descriptor at all; `why` says what is missing when not. */
bool vt_descriptor_usable(const ph_plugin_t *plugin, char *why, size_t capacity);

/* The tests (one function each; the registry is in validator.c). */
void vt_test_descriptor(vt_run_t *run);
void vt_test_entry(vt_run_t *run);
void vt_test_heap(vt_run_t *run);
void vt_test_lifecycle(vt_run_t *run);
void vt_test_config(vt_run_t *run);
void vt_test_threads(vt_run_t *run);
void vt_test_state(vt_run_t *run);
void vt_test_typed(vt_run_t *run);
void vt_test_wrappers(vt_run_t *run);
void vt_test_endpoints(vt_run_t *run);
void vt_test_async(vt_run_t *run);
void vt_test_stray_threads(vt_run_t *run);
void vt_test_late_calls(vt_run_t *run);

/* ------------------------------------------------------------------------ */
/* Support (validator_support.c)                                            */
/* ------------------------------------------------------------------------ */

/** Zeroed memory that lives as long as the process, outside the malloc heap (the heap test does
 *  not see it, and a plugin that keeps a pointer into it never reads freed memory). */
void *vt_keep(size_t size);
/** A kept copy of `length` bytes plus a NUL. */
char *vt_keep_bytes(const void *bytes, size_t length);
/** Monotonic nanoseconds. */
uint64_t vt_now_ns(void);
void vt_sleep_ms(unsigned milliseconds);
/** Bytes the malloc heap holds in use (mallinfo2: arenas and mmap'ed blocks). */
size_t vt_heap_bytes(void);
/** The thread ids of this process (/proc/self/task), at most `capacity`. */
size_t vt_tasks(pid_t *tids, size_t capacity);
/** A thread's name (/proc/self/task/TID/comm), "?" when it is gone. */
void vt_task_name(pid_t tid, char *name, size_t capacity);
/** Deterministic pseudo-random bytes. */
void vt_random_bytes(void *bytes, size_t length, uint64_t seed);

/* ------------------------------------------------------------------------ */
/* The recording host (validator_host.c, validator_http.c)                  */
/* ------------------------------------------------------------------------ */

typedef struct vh_host vh_host_t;

/** One subscription made during create: an event callback or a check callback. */
typedef struct vh_subscription {
    ph_event_id_t id;
    int32_t priority;
    unsigned order;           /* subscription order, for equal priorities */
    ph_event_fn event;        /* set for subscribe */
    ph_check_fn check;        /* set for subscribe_check */
    void *user_data;
} vh_subscription_t;

#define VH_MAX_PARAMS 16

/** An endpoint registered during create, with copies of its strings. */
typedef struct vh_endpoint {
    uint32_t kind;            /* PH_ENDPOINT_RAW or PH_ENDPOINT_TYPED */
    char *method;
    char *path;
    ph_handler_fn handler;    /* raw, and typed in the handler form (ABI 1.3) */
    void *user_data;          /* with handler */
    uint32_t flags;           /* PH_MAY_DEFER: raw from ABI 1.2, handler-form typed from 1.3 */
    void (*function)(void);   /* typed, the function form */
    ph_param_t params[VH_MAX_PARAMS]; /* typed; names are copies */
    size_t param_count;
    ph_type_t result;
    uint32_t status;          /* typed: the status of a successful answer (200 when 0 was given) */
    char *body_schema;        /* typed, ABI 1.3: copies, or NULL */
    char *result_schema;
    char *body_example;       /* a document made from body_schema (vt_json_example), or NULL */
} vh_endpoint_t;

/** Whether the host hands `endpoint` a request: a raw endpoint, or a typed one in the handler form. */
#define VH_HANDLES(endpoint) ((endpoint)->handler != NULL)
/** Whether it may answer PH_PENDING. */
#define VH_DEFERS(endpoint) (((endpoint)->flags & PH_MAY_DEFER) != 0)

/** A wrapper registered during create; `raw.name` and `raw.match` point at copies. */
typedef struct vh_wrapper {
    ph_wrapper_t raw;
} vh_wrapper_t;

/** One cached entry, and a cache namespace (validator_cache.c). */
typedef struct vh_cache_entry {
    unsigned char *key;
    size_t key_length;
    unsigned char *value;
    size_t value_length;
    uint64_t expires_ns;      /* 0: never */
} vh_cache_entry_t;

typedef struct vh_cache {
    pthread_mutex_t lock;
    vh_cache_entry_t *entries;   /* oldest first */
    size_t count, capacity;
} vh_cache_t;

void vh_cache_init(vh_cache_t *cache);
ph_status_t vh_cache_set(vh_cache_t *cache, const void *key, size_t key_length, const void *value, size_t value_length,
                         uint64_t ttl_ms);
ph_status_t vh_cache_get(vh_cache_t *cache, const void *key, size_t key_length, void *buffer, size_t capacity, size_t *length);
ph_status_t vh_cache_invalidate(vh_cache_t *cache, const void *prefix, size_t length);
/** Frees every entry (the host clears a plugin's cache when it is unloaded). */
void vh_cache_clear(vh_cache_t *cache);

/** A new host table for one instance of `plugin`, never freed (see vh_retire). */
vh_host_t *vh_host_new(const ph_plugin_t *plugin, const char *alias, const ph_config_t *config);
/** What the plugin gets. */
const ph_host_t *vh_table(vh_host_t *host);
/** The alias the table shows, and the descriptor of its plugin. */
const char *vh_alias(vh_host_t *host);
const ph_plugin_t *vh_plugin(vh_host_t *host);
/** The instance's create runs (registrations open) / has returned successfully. */
void vh_begin_create(vh_host_t *host);
void vh_end_create(vh_host_t *host);
/** After destroy (or a failed create): frees what the host recorded; any later call is a late call. */
void vh_retire(vh_host_t *host);
/** Around every call into the plugin: its per-instance recursive lock when it is not thread-safe. */
void vh_plugin_enter(vh_host_t *host);
void vh_plugin_leave(vh_host_t *host);

/* Recorded registrations (valid until vh_retire). */
size_t vh_subscription_count(vh_host_t *host);
const vh_subscription_t *vh_subscription(vh_host_t *host, size_t index);
size_t vh_endpoint_count(vh_host_t *host);
const vh_endpoint_t *vh_endpoint(vh_host_t *host, size_t index);
size_t vh_wrapper_count(vh_host_t *host);
const vh_wrapper_t *vh_wrapper(vh_host_t *host, size_t index);

/** Calls into the host after vh_retire: their number, the names of the first few ("log, publish")
 *  and how long after the retirement the first came. */
unsigned vh_late_calls(vh_host_t *host, char *names, size_t capacity, uint64_t *first_after_ns);
/** Records a call into the host by name; NULL when the table is NULL, not ours or retired
 *  (then the call is recorded as a misuse or a late call and the caller answers as the host does). */
vh_host_t *vh_enter(const ph_host_t *table, const char *function);
void vh_leave(vh_host_t *host);
/** Whether the instance's create is running (registration functions work only then). */
bool vh_creating(vh_host_t *host);
/** Adds a checked registration (copies already made by the caller; the host frees them). */
void vh_add_endpoint(vh_host_t *host, const vh_endpoint_t *endpoint);
void vh_add_wrapper(vh_host_t *host, const vh_wrapper_t *wrapper);

/** The process-wide event name of `id`, or NULL when no event has it. */
const char *vh_event_name(ph_event_id_t id);
/** The id of event `name`, registering a custom one; PH_EVENT_NONE for an invalid name. */
ph_event_id_t vh_event_id(const char *name);
/** Whether the host fires `id` many times, from many threads (custom, connection and request
 *  events), so a test may deliver it that way; lifecycle events fire once. */
bool vh_event_repeats(ph_event_id_t id);
/** Delivers one event to `subscription` (a check gets a fresh reason buffer): what the host does
 *  when `id` fires, with its payload; under the plugin lock. Returns the check's verdict. */
ph_verdict_t vh_deliver(vt_run_t *run, vh_host_t *host, const vh_subscription_t *subscription);

/** The ph_http_t every host table offers (validator_http.c). */
const ph_http_t *vh_http_table(void);
/** Frees the copies an endpoint or wrapper record holds. */
void vh_endpoint_free(vh_endpoint_t *endpoint);
void vh_wrapper_free(vh_wrapper_t *wrapper);
/** Checks a path pattern as the host does; NULL when valid, else why (static or into `why`). */
const char *vh_pattern_problem(const char *path, char *why, size_t capacity);
/** The shape of a pattern ("/a/:/c"), as the host compares them, into `shape`. */
void vh_pattern_shape(const char *path, char *shape, size_t capacity);
/** Whether wrapper match `match` (NULL: "*") covers METHOD PATH, as the host decides. */
bool vh_match_covers(const char *match, const char *method, const char *path);
/** "int64", "string", … */
const char *vh_type_name(ph_type_t type);

/* ------------------------------------------------------------------------ */
/* The config (validator_config.c)                                          */
/* ------------------------------------------------------------------------ */

typedef enum { VC_STRING, VC_INTEGER, VC_DOUBLE, VC_BOOL, VC_ARRAY, VC_TABLE } vc_kind_t;

/** A TOML value as the host's config holds it. */
typedef struct vc_value {
    vc_kind_t kind;
    const char *text;                 /* VC_STRING: `length` bytes (NULs allowed) and a NUL after them */
    size_t length;
    int64_t integer;
    double number;
    bool flag;
    const struct vc_value *items;     /* VC_ARRAY elements, VC_TABLE values */
    const char *const *names;         /* VC_TABLE keys, one per item */
    size_t count;
    const char *toml;                 /* how it is written in TOML, for messages */
} vc_value_t;

/** A config of `count` top-level keys (dotted keys nest tables) and their values, kept for the
 *  life of the process (values and keys must be static or kept). count 0: the empty config. */
const ph_config_t *vc_config_new(const char *const *keys, const vc_value_t *values, size_t count);
/** The instance whose host this config belongs to: calls after its retirement are late calls. */
void vc_config_attach(const ph_config_t *config, vh_host_t *host);
/** The keys the plugin asked for through get_string/get_int/get_double/get_bool that the config lacks. */
size_t vc_config_asked(const ph_config_t *config, char keys[][64], size_t capacity);

/* ------------------------------------------------------------------------ */
/* Calling the plugin (validator_instance.c)                                */
/* ------------------------------------------------------------------------ */

#define VT_MESSAGE_CAPACITY 1023u
#define VT_MESSAGE_CANARY 64u

/** A host-owned message buffer as the host makes them (capacity 1023, the last byte the host's
 *  NUL) with guard bytes behind it, so a plugin that writes past its capacity is caught. */
typedef struct vt_message {
    ph_message_t message;
    char buffer[VT_MESSAGE_CAPACITY + 1 + VT_MESSAGE_CANARY];
} vt_message_t;

void vt_message_init(vt_message_t *message);
/** The text the plugin wrote (up to the first NUL). */
const char *vt_message_text(const vt_message_t *message);
/** After `what` returned `status`: fails the run, and answers false, when the plugin wrote past
 *  the capacity, or failed without a message while `needs_text`. */
bool vt_message_check(vt_run_t *run, const vt_message_t *message, const char *what, ph_status_t status, bool needs_text);

typedef enum { VI_NEW, VI_REFUSED, VI_CREATED, VI_STARTED, VI_START_FAILED, VI_STOPPED, VI_DESTROYED } vi_state_t;

/** One instance of the plugin and where it is in its lifecycle. */
typedef struct vi_instance {
    vt_run_t *run;
    const ph_config_t *config;
    vh_host_t *host;          /* from create on */
    void *handle;             /* what create stored */
    vi_state_t state;
    char context[200];        /* said with each step: "with level = 1" */
    char refusal[VT_TEXT];    /* why parse_config or create refused, or start failed */
} vi_instance_t;

void vi_init(vi_instance_t *instance, vt_run_t *run, const ph_config_t *config);
/** parse_config (or the host's own refusal of keys when there is none). */
bool vi_parse_config(vi_instance_t *instance);
bool vi_create(vi_instance_t *instance);
bool vi_start(vi_instance_t *instance);
void vi_stop(vi_instance_t *instance);
/** stop when it started, destroy when it was created, then retire its host table. */
void vi_destroy(vi_instance_t *instance);
/** parse_config and create; on a refusal, false with `refusal` set and no failure recorded. */
bool vi_open(vi_instance_t *instance);
/** vi_open with the empty config, then start when `start`: false, with the run skipped (or failed),
 *  when there is no instance to test. */
bool vi_open_for_test(vi_instance_t *instance, vt_run_t *run, bool start);

/** Bytes a save_state wrote. */
typedef struct vt_bytes {
    unsigned char *data;
    size_t length;
} vt_bytes_t;

/** save_state on a started instance: its status (PH_ERR_NOT_FOUND: nothing to hand over). */
ph_status_t vi_save_state(vi_instance_t *instance, vt_bytes_t *bytes, char *why, size_t capacity);
/** restore_state on a created instance, before start, with a malloc'ed copy of the bytes. */
ph_status_t vi_restore_state(vi_instance_t *instance, const char *from_version, const void *bytes, size_t length,
                             char *why, size_t capacity);

/* ------------------------------------------------------------------------ */
/* Typed calls (validator_typed.c), also used by the threads test           */
/* ------------------------------------------------------------------------ */

/** Calls typed `endpoint` (the function form) once with every parameter at its neutral value (1,
 *  true, "validator", a JSON document); a malformed JSON result fails `run`. */
void vt_typed_call_neutral(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint);

/* ------------------------------------------------------------------------ */
/* JSON (validator_json.c, validator_json_example.c)                        */
/* ------------------------------------------------------------------------ */

/** NULL when `length` bytes at `text` are one well-formed JSON document as the host reads them
 *  (RFC 8259, UTF-8, nested at most PH_JSON_MAX_DEPTH deep, no key twice in an object, no escaped
 *  lone surrogate); else why ("duplicate key \"a\" at bytes 1 and 9"), written into `why`. */
const char *vt_json_problem(const void *text, size_t length, char *why, size_t capacity);
/** The length of the well-formed UTF-8 sequence of 2 to 4 bytes at `p` (before `end`), or 0 (ASCII
 *  included: check it first). */
size_t vt_utf8_sequence(const unsigned char *p, const unsigned char *end);
/** A document (malloc'ed, NUL-terminated) made to satisfy JSON Schema `schema`; NULL for NULL. */
char *vt_json_example(const char *schema);

/* ------------------------------------------------------------------------ */
/* Requests handed to endpoints (validator_request.c, validator_accessors.c) */
/* ------------------------------------------------------------------------ */

/** A request the validator hands an endpoint's handler, as the host's ph_http_request_t: never
 *  freed (a plugin that keeps it past its end is caught, not handed freed memory). */
typedef struct vq_request vq_request_t;

/** What a request's plugin did wrong, found while it ran (bits of vq_request_problems). */
#define VQ_PENDING_UNDECLARED (1u << 0)  /* answered PH_PENDING without PH_MAY_DEFER */
#define VQ_RESUMED_TWICE (1u << 1)       /* a second resume (answered PH_ERR_STATE) */
#define VQ_RESUME_UNDEFERRED (1u << 2)   /* resume on a request of an endpoint without PH_MAY_DEFER */
#define VQ_RESUMED_NOT_PENDING (1u << 3) /* resumed, then returned something other than PH_PENDING */
#define VQ_USED_AFTER_END (1u << 4)      /* a request function after the request finished */
#define VQ_BAD_ANSWER (1u << 5)          /* a handler-form typed endpoint answered no or malformed JSON */

/** A new request for `endpoint` of `host`'s instance, described as `label` in messages. */
vq_request_t *vq_new(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, const char *label);
/** Building it, before the call (copies): the path as sent; a capture's decoded value; the query
 *  without '?'; a request header; the body; a parsed typed parameter (the `param` encoding); a
 *  request property. */
void vq_set_path(vq_request_t *request, const char *path);
void vq_add_capture(vq_request_t *request, const char *name, const void *value, size_t length);
void vq_set_query(vq_request_t *request, const char *query);
void vq_add_header(vq_request_t *request, const char *name, const char *value);
void vq_set_body(vq_request_t *request, const void *body, size_t length);
void vq_add_param(vq_request_t *request, const char *name, ph_type_t type, const void *value, size_t length);
void vq_add_property(vq_request_t *request, const char *name, ph_type_t type, const void *value, size_t length);

/** Calls the endpoint's handler with it (under the plugin lock) and answers what it returned. */
ph_status_t vq_call(vq_request_t *request);
/** The host gives up on a deferred request: its on_cancel callback runs (at once, or when it is
 *  registered), a later resume answers PH_ERR_CANCELLED. False when it had finished already. */
bool vq_cancel(vq_request_t *request);
/** Whether the handler answered PH_PENDING (and the request was kept); resumed; cancelled. */
bool vq_deferred(const vq_request_t *request);
bool vq_resumed(const vq_request_t *request);
bool vq_cancelled(const vq_request_t *request);
/** Whether the plugin registered an on_cancel callback for it. */
bool vq_asked_cancel(const vq_request_t *request);
/** Waits until every deferred request of `requests` that `cancelled_too` covers (only those not
 *  cancelled when false) resumed, or until `deadline_ns` (vt_now_ns); true when they all did. */
bool vq_wait(vq_request_t *const *requests, size_t count, bool cancelled_too, uint64_t deadline_ns);
/** Its problems (VQ_* bits), and the text of one of them ("" when it has not that one). */
unsigned vq_problems(const vq_request_t *request);
void vq_problem_text(const vq_request_t *request, unsigned bit, char *text, size_t capacity);
/** The endpoint ("GET /a/:b") and the request ("with an empty body") it was made for. */
const char *vq_endpoint_name(const vq_request_t *request);
const char *vq_label(const vq_request_t *request);
/** The end of the test: frees its memory; any later call from the plugin is answered without it. */
void vq_release(vq_request_t *request);

/* Used by the accessors (validator_accessors.c): the request behind a handle, locked (NULL, with
 * the misuse recorded, when it is not one or has ended), and its problem recorder. */
vq_request_t *vq_enter(ph_http_request_t *handle, const char *function);
void vq_leave(vq_request_t *request);
ph_status_t vq_resume(ph_http_request_t *handle, ph_status_t status, const char *message);
ph_status_t vq_on_cancel(ph_http_request_t *handle, void (*cancelled)(void *), void *user_data);

/** The request accessors of the validator's ph_http_t (validator_accessors.c). */
void vq_fill_accessors(ph_http_t *table);

/* ------------------------------------------------------------------------ */
/* Generated requests (validator_generate.c)                                */
/* ------------------------------------------------------------------------ */

/** At most this many requests per endpoint. */
#define VG_VARIANTS 6

/** The requests the validator sends `endpoint` (raw: no query and an empty body, a query with JSON
 *  headers and body, percent-escapes and UTF-8, random bytes, long values; typed handler form:
 *  neutral, edge and large parameter values), at most VG_VARIANTS, into `out`; their number. */
size_t vg_requests(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, vq_request_t **out, size_t capacity);

/* ------------------------------------------------------------------------ */
/* Requests sent by a test (validator_settle.c)                             */
/* ------------------------------------------------------------------------ */

/** How long a deferred request may take to resume, and to resume after the host gave up on it. */
#define VT_RESUME_MS 4000
#define VT_CANCEL_MS 4000

/** A request a test sent, and what the test did with it. */
typedef struct vt_sent {
    vq_request_t *request;
    bool cancelled_at_once;   /* the test gave up on it as soon as the handler answered PH_PENDING */
    bool given_up;            /* it had not resumed within VT_RESUME_MS: the host gave up on it then */
} vt_sent_t;

/** Waits until every deferred request resumed: VT_RESUME_MS (from the call), then the host gives up
 *  on those left (their on_cancel callbacks run) and waits VT_CANCEL_MS more. */
void vt_settle(vt_run_t *run, vt_sent_t *sent, size_t count);
/** Fails `run` once per endpoint and kind of problem its requests showed (VQ_* bits, deferred
 *  requests never resumed, or never resumed after cancellation); counts into `tally`. */
typedef struct vt_tally {
    unsigned answered;        /* answered during the call */
    unsigned resumed;         /* deferred, then resumed (not given up on) */
    unsigned cancelled;       /* given up on, then resumed (PH_ERR_CANCELLED) */
    unsigned unresumed;       /* deferred and never resumed */
} vt_tally_t;
void vt_report_sent(vt_run_t *run, const vt_sent_t *sent, size_t count, vt_tally_t *tally);
/** vq_release on each. */
void vt_release_sent(vt_sent_t *sent, size_t count);

/* ------------------------------------------------------------------------ */
/* Stacks (validator_stacks.c)                                              */
/* ------------------------------------------------------------------------ */

/** Loads the unwinder and installs the sampling handler (SIGPROF): before the plugin runs. */
void vt_stacks_prepare(void);
/** Whether thread `tid` is running code of the library holding `anchor` (a frame of it on its
 *  stack): 1 with the innermost such frame's function in `where`, 0 when not, -1 when it cannot be
 *  looked at (it blocks SIGPROF, or did not answer within 300 ms). */
int vt_stack_in_library(pid_t tid, const void *anchor, char *where, size_t capacity);

#pragma GCC visibility pop
