/*
 * plughost plugin ABI — the only contract between the host and a plugin.
 *
 * A plugin is a shared library that exports one entry function (named in its
 * manifest, `alias = "libfoo.so:foo_entry"`). The host calls that entry with
 * the ABI version it speaks; the entry returns a static descriptor
 * (`ph_plugin_t`) that starts with the ABI version the plugin was built
 * against and the descriptor's size. The host checks the major version
 * before it reads anything else.
 *
 * Rules that hold for the whole header:
 *  - Only C types cross: integers, function pointers, (pointer, length)
 *    byte spans and NUL-terminated UTF-8 strings. No Swift, C++ or other
 *    language object ever crosses.
 *  - Every root struct starts with its size and/or version and grows only
 *    at the end; each new member names the ABI minor that added it.
 *    A reader treats a member that lies past `struct_size` as absent (NULL/0).
 *  - Every fallible call returns a `ph_status_t` and may write a message into
 *    a host-owned `ph_message_t`. The host turns failures into log lines that
 *    name the plugin's alias; a failing plugin never takes the host down.
 *  - Threading tags on each function:
 *      [control]     called only from the host's control thread, never
 *                    concurrently with another [control] call of the same
 *                    plugin instance (lifecycle: parse_config … destroy).
 *      [create]      the plugin may call it only from inside its `create`.
 *      [thread-safe] may be called from any thread at any time between the
 *                    instance's `create` returning and `destroy` being called.
 *  - A plugin that does not set PH_PLUGIN_THREAD_SAFE has every call into it
 *    (lifecycle, event and check callbacks) serialised by the host with a
 *    per-instance recursive lock.
 *
 * The host calls each lifecycle function of an instance at most once and in
 * this order: parse_config → create → start → stop → destroy. `stop` is
 * called only if `start` succeeded; `destroy` is called whenever `create`
 * succeeded.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versioning and visibility                                                */
/* ------------------------------------------------------------------------ */

/** Major ABI version. A host refuses a plugin whose major differs. */
#define PH_ABI_MAJOR 1u
/** Minor ABI version. A host accepts plugins built against an equal or older minor.
 *  1.1 added `save_state` and `restore_state` to the descriptor (hot-reload state handoff).
 *  1.2 added deferred completion: PH_PENDING, PH_ERR_CANCELLED and `ph_http_t.resume`.
 *  1.3 added JSON to typed endpoints (PH_TYPE_JSON bodies and results, schemas, a
 *  declared status and content type, handler-form typed endpoints; see http.h). */
#define PH_ABI_MINOR 3u

/** Marks the entry function as exported from a library built with -fvisibility=hidden. */
#define PH_EXPORT __attribute__((visibility("default")))

/** How many publish and check calls may nest on one thread (a subscriber that
 *  publishes or checks in turn); deeper ones are refused. */
#define PH_PUBLISH_MAX_DEPTH 16u

/** Entry symbol `plughost check` tries for a library that no manifest names. */
#define PH_DEFAULT_ENTRY "plughost_entry"

/* ------------------------------------------------------------------------ */
/* Status codes, verdicts, log levels                                       */
/* ------------------------------------------------------------------------ */

/** Result of every fallible call. 0 is success; anything else is a failure. */
typedef int32_t ph_status_t;
#define PH_OK 0                /**< Success. */
#define PH_ERR_INVALID 1       /**< An argument or a config value is invalid. */
#define PH_ERR_FAILED 2        /**< The operation failed; see the message. */
#define PH_ERR_NOT_FOUND 3     /**< No such key, service or event. */
#define PH_ERR_TYPE 4          /**< A config value exists but has another type. */
#define PH_ERR_STATE 5         /**< Called in a lifecycle phase where it is not allowed. */
#define PH_ERR_UNSUPPORTED 6   /**< The host or plugin does not support this. */
#define PH_ERR_TOO_SMALL 7     /**< An output buffer is too small; the needed length was written. */
/** ABI 1.2: an endpoint handler or a wrapper's `call` keeps the request and
 *  finishes it later with `http->resume` (see http.h). Not an error. */
#define PH_PENDING 8
/** ABI 1.2: the host gave up on a deferred request (its deadline passed, the
 *  client left, or the host is shutting down); `http->resume` answers it. */
#define PH_ERR_CANCELLED 9

/** Answer of a check callback (allow/deny checks). */
typedef int32_t ph_verdict_t;
#define PH_ABSTAIN 0  /**< No opinion; the next subscriber decides. */
#define PH_ALLOW 1    /**< Allowed by this subscriber; later subscribers still run and may deny. */
#define PH_DENY 2     /**< Denied; no later subscriber runs. */

/** Severity of a log line a plugin writes through the host. */
typedef int32_t ph_log_level_t;
#define PH_LOG_TRACE 0
#define PH_LOG_DEBUG 1
#define PH_LOG_INFO 2
#define PH_LOG_WARNING 3
#define PH_LOG_ERROR 4

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

/** Identifier of an event. Built-in events have fixed ids below
 *  PH_EVENT_FIRST_CUSTOM; custom events get theirs from `ph_host_t.event_id`,
 *  stable for the life of the host process. 0 is never a valid event. */
typedef uint32_t ph_event_id_t;
#define PH_EVENT_NONE 0
#define PH_EVENT_PRE_START 1         /**< Host is about to start plugins. Payload: empty. */
#define PH_EVENT_POST_START 2        /**< Every plugin has started. Payload: empty. */
#define PH_EVENT_PRE_SHUTDOWN 3      /**< Host is about to stop plugins. Payload: empty. */
#define PH_EVENT_POST_SHUTDOWN 4     /**< Every plugin has stopped (none destroyed yet). Payload: empty. */
#define PH_EVENT_PLUGIN_LOADED 5     /**< A plugin instance started. At start-up: once per plugin, in config order,
                                      *   after every plugin started (before post-start). On a reload: for each added
                                      *   alias, after the swap. Payload: its alias (UTF-8, no NUL). */
#define PH_EVENT_PLUGIN_UNLOADED 6   /**< A plugin instance is about to stop. At shutdown: just before each stop, in
                                      *   reverse config order. On a reload: after the swap, for each removed alias
                                      *   (a replaced plugin gets PH_EVENT_PLUGIN_RELOADED instead). Payload: its alias. */
#define PH_EVENT_PLUGIN_RELOADED 7   /**< A reload replaced or re-created a plugin. Fired after the swap, to the new
                                      *   generation: the new instance receives it, the old one does not. Payload:
                                      *   "ALIAS OLD-VERSION NEW-VERSION" (the descriptors' `version`; equal for a
                                      *   plugin re-created with the same build). */
#define PH_EVENT_RELOAD_FAILED 8     /**< A reload failed; the running plugins were kept. Payload: the reason (UTF-8). */
#define PH_EVENT_CLIENT_CONNECTED 9  /**< An HTTP client connected. Payload: its address, "IP:PORT" ("[IPv6]:PORT"). On the connection's event-loop thread. */
#define PH_EVENT_REQUEST_RECEIVED 10 /**< An HTTP request arrived. Payload: "METHOD PATH". */
#define PH_EVENT_RESPONSE_SENT 11    /**< An HTTP response was produced. Payload: "STATUS MICROSECONDS METHOD PATH". */
#define PH_EVENT_CLIENT_DISCONNECTED 12 /**< An HTTP client's connection closed. Payload as for PH_EVENT_CLIENT_CONNECTED.
                                         *   Added after ABI 1.1: an older host's event_id("plughost.client-disconnected")
                                         *   returns PH_EVENT_NONE. */
/** First id handed out to custom events. */
#define PH_EVENT_FIRST_CUSTOM 64

/** Default subscription priority. Lower priorities run first; equal
 *  priorities run in the host config's plugin order, then in subscription order. */
#define PH_PRIORITY_DEFAULT 0

/** One event as a subscriber sees it. Host-owned; every pointer in it is
 *  valid only until the callback returns (copy what you keep). */
typedef struct ph_event {
    uint32_t struct_size;        /**< sizeof(ph_event_t) as the host built it. */
    ph_event_id_t id;            /**< The event's id. */
    const char *name;            /**< The event's name, NUL-terminated, e.g. "plughost.pre-start". */
    const char *source;          /**< Alias of the publishing plugin, or "plughost" for the host. */
    const void *payload;         /**< Payload bytes; may be NULL when payload_length is 0. */
    size_t payload_length;       /**< Number of payload bytes. */
} ph_event_t;

/* ------------------------------------------------------------------------ */
/* Messages: how a plugin reports why something failed                      */
/* ------------------------------------------------------------------------ */

/** A host-owned text buffer a plugin writes an error or deny reason into.
 *  Valid only during the call that received it. Never NULL when passed.
 *  It arrives empty: data[0] is NUL; the bytes after it are undefined (do not
 *  read them). Write at most `capacity` bytes, the NUL included (the host's own
 *  buffers have a capacity of 1023). ph_message_copy and ph_message_printf cut
 *  longer text without any signal, possibly inside a UTF-8 sequence, which the
 *  host then reads as U+FFFD. The host reads up to the first NUL. */
typedef struct ph_message {
    char *data;        /**< Host-owned buffer; the plugin writes NUL-terminated UTF-8. */
    size_t capacity;   /**< Size of `data` in bytes, including room for the NUL. */
} ph_message_t;

/** Copies `length` bytes of `text` into `message` (truncating to fit) and NUL-terminates it. */
static inline void ph_message_copy(ph_message_t *message, const char *text, size_t length) {
    if (message == NULL || message->data == NULL || message->capacity == 0) return;
    if (length > message->capacity - 1) length = message->capacity - 1;
    for (size_t i = 0; i < length; i++) message->data[i] = text[i];
    message->data[length] = 0;
}

/** Writes a printf-style message into `message` (truncating to fit). */
static inline void ph_message_printf(ph_message_t *message, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static inline void ph_message_printf(ph_message_t *message, const char *format, ...) {
    if (message == NULL || message->data == NULL || message->capacity == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(message->data, message->capacity, format, args);
    va_end(args);
}

/* ------------------------------------------------------------------------ */
/* Configuration: the plugin's table from the host config                   */
/* ------------------------------------------------------------------------ */

typedef struct ph_config ph_config_t;

/** Read-only view of the plugin's config table (`[plugin.ALIAS]` in the host
 *  config). Host-owned; valid from `parse_config` until `destroy` returns.
 *  Keys are dotted paths: `limits.max` for a nested table, `tokens.0`,
 *  `tokens.1` for array elements. All functions are [thread-safe]. */
struct ph_config {
    uint32_t struct_size;   /**< sizeof(ph_config_t) as the host built it. */
    uint32_t reserved;      /**< Zero. */
    void *host_data;        /**< Host-private; the plugin must not touch it. */
    size_t key_count;       /**< Number of leaf keys, for iterating with key_at. */
    /** The index-th leaf key (0 ≤ index < key_count), NUL-terminated, host-owned,
     *  valid as long as the config; NULL when out of range. */
    const char *(*key_at)(const ph_config_t *config, size_t index);
    /** A string value. `*value` points to host-owned UTF-8 valid as long as the
     *  config: exactly `*length` bytes (may be NULL) plus one uncounted NUL. A
     *  TOML `\u0000` escape puts a NUL inside the value: read `*length` bytes.
     *  PH_ERR_NOT_FOUND if absent, PH_ERR_TYPE if not a string. */
    ph_status_t (*get_string)(const ph_config_t *config, const char *key, const char **value, size_t *length);
    /** An integer value. PH_ERR_NOT_FOUND if absent, PH_ERR_TYPE if not an integer. */
    ph_status_t (*get_int)(const ph_config_t *config, const char *key, int64_t *value);
    /** A floating-point value (integers convert). PH_ERR_NOT_FOUND / PH_ERR_TYPE as above. */
    ph_status_t (*get_double)(const ph_config_t *config, const char *key, double *value);
    /** A boolean value. PH_ERR_NOT_FOUND / PH_ERR_TYPE as above. */
    ph_status_t (*get_bool)(const ph_config_t *config, const char *key, bool *value);
    /** The whole table as JSON, NUL-terminated, host-owned, valid as long as the config. */
    const char *json;
    /** Byte length of `json`. */
    size_t json_length;
};

/* ------------------------------------------------------------------------ */
/* The host API handed to each plugin instance                              */
/* ------------------------------------------------------------------------ */

typedef struct ph_host ph_host_t;

/** Event callback. `user_data` is what was passed to subscribe; `event` is
 *  valid only during the call. May be called from any thread unless the
 *  plugin is not thread-safe, in which case calls are serialised. */
typedef void (*ph_event_fn)(void *user_data, const ph_event_t *event);

/** Check callback: answers PH_ALLOW, PH_DENY or PH_ABSTAIN. On PH_DENY it may
 *  write a reason into `reason` (host-owned, valid during the call). Write
 *  nothing otherwise: the subscribers of one check share one buffer, which is
 *  not emptied between them, so text left by a subscriber that did not deny
 *  becomes the reason of a later one that denies without writing. */
typedef ph_verdict_t (*ph_check_fn)(void *user_data, const ph_event_t *event, ph_message_t *reason);

/** What the host offers one plugin instance. Host-owned; the pointer handed to
 *  `create` stays valid until `destroy` returns. Pass it back as the first
 *  argument of each function. */
struct ph_host {
    uint32_t abi_major;      /**< ABI major the host speaks (PH_ABI_MAJOR). */
    uint32_t abi_minor;      /**< ABI minor the host speaks; members up to this minor exist. */
    uint32_t struct_size;    /**< sizeof(ph_host_t) as the host built it. */
    uint32_t reserved;       /**< Zero. */
    void *host_data;         /**< Host-private; the plugin must not touch it. */
    const char *alias;       /**< This instance's alias, NUL-terminated, host-owned, valid until destroy. */
    const char *host_version;/**< The host's version string, host-owned, static. */
    const ph_config_t *config; /**< This instance's config (already accepted by parse_config), valid until destroy. */

    /** Writes one log line tagged with this plugin's alias. `message` is
     *  plugin-owned and only read during the call. [thread-safe] */
    void (*log)(const ph_host_t *host, ph_log_level_t level, const char *message);

    /** The id of the event called `name` (plugin-owned, read during the call;
     *  1–200 bytes of [A-Za-z0-9._-/:]), registering it if new. Built-in names
     *  ("plughost.pre-start", …) map to their fixed ids; any other name starting
     *  with "plughost." is invalid. Returns PH_EVENT_NONE for an invalid name. [thread-safe] */
    ph_event_id_t (*event_id)(const ph_host_t *host, const char *name);

    /** Subscribes `callback` to event `id`. `user_data` is plugin-owned and must
     *  stay valid until destroy. Order: `priority` ascending, then config order,
     *  then subscription order. PH_ERR_STATE outside create. [create] */
    ph_status_t (*subscribe)(const ph_host_t *host, ph_event_id_t id, int32_t priority,
                             ph_event_fn callback, void *user_data);

    /** Subscribes a check callback to event `id`; ordering as for subscribe.
     *  The first PH_DENY stops the rest. PH_ERR_STATE outside create. [create] */
    ph_status_t (*subscribe_check)(const ph_host_t *host, ph_event_id_t id, int32_t priority,
                                   ph_check_fn callback, void *user_data);

    /** Delivers event `id` with `payload` (plugin-owned, only read during the
     *  call) to every subscriber, synchronously, on the calling thread.
     *  `id` must be a custom event (PH_EVENT_FIRST_CUSTOM or above): PH_ERR_INVALID
     *  for a built-in one. PH_ERR_STATE before the host's pre-start event (that
     *  is, from create) and after destroy. A subscriber may publish or check in
     *  turn, up to PH_PUBLISH_MAX_DEPTH calls nested on one thread; past that
     *  PH_ERR_FAILED, logged for the caller (a subscriber that publishes what it
     *  handles would recurse without end). [thread-safe] */
    ph_status_t (*publish)(const ph_host_t *host, ph_event_id_t id, const void *payload, size_t payload_length);

    /** Runs the check subscribers of `id` in order: PH_DENY from the first that
     *  denies (its reason copied into `reason`, which may be NULL), else PH_ALLOW
     *  if any allowed, else PH_ABSTAIN. The subscribers write into a buffer of the
     *  host's; its text is copied into `reason` cut to `reason->capacity` without
     *  any signal, and also when nobody denied: read `reason` only after PH_DENY.
     *  Nested past PH_PUBLISH_MAX_DEPTH (see publish) it fails closed: PH_DENY
     *  with a reason that says so. [thread-safe] */
    ph_verdict_t (*check)(const ph_host_t *host, ph_event_id_t id, const void *payload, size_t payload_length,
                          ph_message_t *reason);

    /** Offers `service` (a plugin-owned struct of function pointers, valid until
     *  destroy) under a versioned string id such as "audit.log/1" (copied).
     *  The first provider in config order keeps an id; a later one gets
     *  PH_ERR_STATE ("already provided") and the conflict is logged. [create] */
    ph_status_t (*provide_service)(const ph_host_t *host, const char *id, const void *service);

    /** The service offered under `id`, or NULL when no plugin provides it.
     *  Look services up in `start` or later: every plugin's create has run by
     *  then (from create it answers NULL, and the host counts that as a service
     *  this plugin lacks). A provider later in config order may not have started
     *  yet when this plugin's start calls it. A hot reload that replaces or
     *  removes the provider re-creates this plugin too (handing its state over
     *  when it supports that); only lookups through this function are tracked.
     *  The pointer stays valid until this instance's stop has returned, and
     *  through its destroy when the provider comes earlier in config order:
     *  instances are stopped, then destroyed, in reverse config order. Enable
     *  providers before their users. [thread-safe] */
    const void *(*get_service)(const ph_host_t *host, const char *id);

    /** Stores a copy of `value` under `key` (both plugin-owned, copied) in this
     *  plugin's cache namespace for `ttl_ms` milliseconds (0: no expiry). The
     *  cache is one store for the whole host: every worker reads what any
     *  worker set. The oldest entries are evicted past the host's per-plugin
     *  limits (`cache-entries`, `cache-bytes-per-plugin`); PH_ERR_TOO_SMALL
     *  when the entry cannot fit them at all (over 1 MiB, say) or the store has
     *  no room and no entry of its size to evict; PH_ERR_FAILED when the store
     *  is unavailable (it could not be mapped, or damage was found in it and it
     *  was cleared). [thread-safe] */
    ph_status_t (*cache_set)(const ph_host_t *host, const void *key, size_t key_length,
                             const void *value, size_t value_length, uint64_t ttl_ms);

    /** Copies the value cached under `key` into `buffer` (plugin-owned,
     *  `capacity` bytes) and its length into `*length`. PH_ERR_NOT_FOUND when
     *  absent or expired; PH_ERR_TOO_SMALL (with `*length` set) when it does
     *  not fit. [thread-safe] */
    ph_status_t (*cache_get)(const ph_host_t *host, const void *key, size_t key_length,
                             void *buffer, size_t capacity, size_t *length);

    /** Removes every entry of this plugin's cache whose key starts with `prefix`
     *  (length 0: the whole namespace), in every worker at once. The namespace
     *  is this build of the plugin as configured: a new build or config starts
     *  with an empty one and never sees the old build's entries. [thread-safe] */
    ph_status_t (*cache_invalidate)(const ph_host_t *host, const void *prefix, size_t prefix_length);

    /** A host extension by versioned id (e.g. "plughost.http/1"), or NULL when
     *  the host does not offer it. The returned struct is host-owned and valid
     *  until destroy. [thread-safe] */
    const void *(*get_extension)(const ph_host_t *host, const char *id);
};

/* ------------------------------------------------------------------------ */
/* The plugin descriptor                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ph_plugin ph_plugin_t;

/** Receives the bytes a plugin's `save_state` writes. `sink` is host-owned and
 *  valid only during that `save_state` call, on its thread; `bytes` stay the
 *  plugin's (they are copied). May be called any number of times: the pieces
 *  are concatenated. Returns PH_OK, or PH_ERR_INVALID for NULL bytes with a length. */
typedef ph_status_t (*ph_state_write_fn)(void *sink, const void *bytes, size_t length);

/** The plugin declares that every call into it may happen concurrently. */
#define PH_PLUGIN_THREAD_SAFE (1u << 0)
/** The plugin declares that no call into it blocks: no sleeps, no waits for
 *  I/O, a lock or another process. `plughost serve` then calls its endpoints
 *  and wrappers inline, on the threads that serve connections, instead of
 *  handing each request to its pool of threads where blocking is allowed
 *  (a few microseconds per request). It covers its event and check callbacks
 *  too (the host publishes connection and request events inline only when all
 *  their subscribers set it), and what its own `publish`/`check` calls run. A
 *  plugin that sets it and blocks stalls every connection of that thread.
 *  The rule: set it only when no call can wait (the scaffolds of `plughost new`
 *  set it because their code never waits; remove it before adding code that
 *  does, or defer that work with PH_MAY_DEFER). Unset, the host's pool for
 *  blocking work runs the calls, under its hang watch and request deadline.
 *  A host that predates the flag ignores it. */
#define PH_PLUGIN_NEVER_BLOCKS (1u << 1)

/** What the entry function returns: a descriptor that lives as long as the
 *  library is loaded (plugin-owned, usually static). Function pointers marked
 *  optional may be NULL. */
struct ph_plugin {
    uint32_t abi_major;      /**< Must be PH_ABI_MAJOR: set it from the macro. */
    uint32_t abi_minor;      /**< The minor the plugin was built against: PH_ABI_MINOR. */
    uint32_t struct_size;    /**< sizeof(ph_plugin_t) as the plugin was built. A host refuses a descriptor
                              *   smaller than PH_PLUGIN_SIZE_1_1 (PH_PLUGIN_SIZE_1_0 when abi_minor is 0). */
    uint32_t flags;          /**< PH_PLUGIN_* flags. */
    const char *id;          /**< Stable identifier, e.g. "com.example.audit". Required. */
    const char *version;     /**< Version string, e.g. "1.2.0". Required. */
    const char *description; /**< One line for `plughost list`; may be NULL. */
    void *plugin_data;       /**< Reserved for the plugin's own use (the Swift SDK keeps its type here). */

    /** Validates the config before anything starts. Write the offending key and
     *  the reason into `error` and return non-zero to refuse it. Optional: when
     *  NULL, the plugin takes no config and any key is refused by the host. [control] */
    ph_status_t (*parse_config)(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error);

    /** Creates an instance and stores it in `*instance` (plugin-owned until
     *  destroy). Subscriptions and services are registered here through `host`.
     *  Required. [control] */
    ph_status_t (*create)(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error);

    /** Starts the instance after every plugin was created and the host's
     *  pre-start event fired; services of other plugins can be looked up now.
     *  On a hot reload a new instance starts before the swap, while the instance
     *  it replaces still serves, and no pre-start event fires. Optional. [control] */
    ph_status_t (*start)(void *instance, ph_message_t *error);

    /** Stops the instance; called once, only after a successful start, before
     *  destroy. Events may arrive while it runs and after it returns, until
     *  destroy: at shutdown the host fires plugin-unloaded for the plugins stopped
     *  after this one, then post-shutdown, and other plugins' threads may still
     *  publish. Keep what event and check callbacks use until destroy. On a hot reload it
     *  comes once the requests still running in the old instance have returned,
     *  or when the host's drain timeout ends, whichever is first; in the second
     *  case those requests may still be running, and destroy waits for them.
     *  Optional. [control] */
    ph_status_t (*stop)(void *instance, ph_message_t *error);

    /** Frees the instance; nothing of the instance is called afterwards.
     *  Required. [control] */
    void (*destroy)(void *instance);

    /** A plugin extension by versioned id (e.g. "plughost.state/1"), or NULL.
     *  The struct is plugin-owned, valid until destroy. Optional. [thread-safe] */
    const void *(*get_extension)(void *instance, const char *id);

    /* ---- ABI 1.1 ---------------------------------------------------------- */

    /** Hands this instance's state to its successor when a reload replaces the
     *  plugin with a new build (same `id`) or re-creates it: write the state
     *  through `write(sink, bytes, length)`, as many times as needed. Return
     *  PH_ERR_NOT_FOUND to hand nothing over. Called once, on the old instance
     *  while it still serves, just before the new one starts: changes made
     *  after it returns are not carried over. A failure cancels the reload
     *  (the old build keeps serving). Optional (ABI 1.1). [control] */
    ph_status_t (*save_state)(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error);

    /** Takes over the state the predecessor saved: `bytes` (host-owned, valid
     *  during the call) were written by version `from_version` of the plugin,
     *  which may be older or newer than this one. Called after `create` and
     *  before `start`. A failure cancels the reload. Optional (ABI 1.1). [control] */
    ph_status_t (*restore_state)(void *instance, const char *from_version, const void *bytes, size_t length,
                                 ph_message_t *error);
};

/** Type of the entry function a manifest names. Receives the ABI the host
 *  speaks; returns the plugin's descriptor, or NULL if it cannot work with
 *  that host. Must not have other side effects: `plughost check` calls it. */
typedef const ph_plugin_t *(*ph_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor);

/** Size of the 1.0 descriptor: a host reads no member past it from a 1.0 plugin. */
#define PH_PLUGIN_SIZE_1_0 (offsetof(ph_plugin_t, get_extension) + sizeof(void *))

/** Size of the 1.1 descriptor (adds `save_state` and `restore_state`). */
#define PH_PLUGIN_SIZE_1_1 (offsetof(ph_plugin_t, restore_state) + sizeof(void *))

/** Size of the 1.0 host API. */
#define PH_HOST_SIZE_1_0 (offsetof(ph_host_t, get_extension) + sizeof(void *))

#ifdef __cplusplus
}
#endif
