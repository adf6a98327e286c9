/*
 * plughost HTTP extension — endpoints and wrapper chains.
 *
 * A host that serves HTTP offers this extension through
 *     const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
 * (NULL when the host serves no HTTP, e.g. an embedding program).
 *
 * During `create` a plugin registers
 *  - raw endpoints: a handler that reads the request and writes the response
 *    through the accessors below;
 *  - typed endpoints: a plain C function plus a signature; the host parses and
 *    validates each parameter from the request, calls the function through
 *    libffi and encodes the result as JSON;
 *  - wrappers: middleware run around endpoints, attached by route pattern or
 *    to one endpoint, in host-config order. `accepts` decides at load whether
 *    to wrap an endpoint; `prepare` computes per-endpoint state once; `call`
 *    runs per request and continues the chain with `http->call_next`.
 *
 * Threading tag [request]: called on a host thread serving the request: the
 * connection's event loop when every plugin on the route (and every listener of
 * the request events) sets PH_PLUGIN_NEVER_BLOCKS, else a thread of the host's
 * pool for blocking work (see PH_PLUGIN_NEVER_BLOCKS in plugin.h for when to set
 * it). The `ph_http_request_t` is valid only until the handler or wrapper call
 * returns (unless it answers PH_PENDING, see below).
 * Calls into a plugin that is not thread-safe are serialised by the host.
 * Strings and bytes the accessors return are host-owned and valid until the
 * request completes; values passed in are copied.
 */
#pragma once

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Extension id for `ph_host_t.get_extension`. */
#define PH_EXT_HTTP "plughost.http/1"

/** Prefix reserved for the host's own endpoints; refused to plugins. */
#define PH_HTTP_RESERVED_PREFIX "/_plughost/"

/** One HTTP exchange (request and response being built). Opaque, host-owned. */
typedef struct ph_http_request ph_http_request_t;

/** Value types of typed-endpoint parameters, results and request properties. */
typedef uint32_t ph_type_t;
#define PH_TYPE_VOID 0    /**< Result only: the function returns nothing (answers `null`). */
#define PH_TYPE_BOOL 1    /**< C `bool`; from "true"/"false"/"1"/"0", in any case. */
#define PH_TYPE_INT32 2   /**< C `int32_t`; out-of-range values are a 400. As a property or `param`
                               value it takes 8 bytes, an int64_t (see set_property). */
#define PH_TYPE_INT64 3   /**< C `int64_t`. */
#define PH_TYPE_UINT64 4  /**< C `uint64_t`. */
#define PH_TYPE_DOUBLE 5  /**< C `double`; finite values only (a NaN or infinite result is answered `null`). */
#define PH_TYPE_STRING 6  /**< C `const char *`, NUL-terminated UTF-8, valid during the call.
                               A request value that is not UTF-8 or holds a NUL is a 400 (use
                               PH_TYPE_BYTES to take any bytes).
                               As a result: plugin-owned, must stay valid until the function's
                               thread calls into the plugin again (a static or thread-local buffer);
                               NULL answers `null`; bytes that are not UTF-8 are answered as U+FFFD. */
#define PH_TYPE_BYTES 7   /**< Two C arguments: `const uint8_t *data, size_t length`: the exact
                               (percent-decoded) bytes, NULs included; `data` is never NULL, even
                               for length 0. Valid during the call. Not a result type. */
#define PH_TYPE_JSON 8    /**< ABI 1.3: a JSON document (RFC 8259, any value at the top, nested at
                               most PH_JSON_MAX_DEPTH deep).
                               As a parameter, from PH_SOURCE_BODY only: two C arguments
                               `const char *json, size_t length`, the body's exact bytes with one
                               uncounted NUL after them, valid during the call. The host checks
                               the body is well-formed JSON (else a 400 saying so) and, when the
                               endpoint declares `body_schema`, valid against it (else a 400 naming
                               the failing field's JSON Pointer) before the call.
                               As a result: `const char *`, a NUL-terminated JSON document with the
                               lifetime of a STRING result. The host checks it is well-formed (and
                               valid against `result_schema`) and answers it unchanged; anything
                               else, NULL included, is a 500 naming the plugin. */

/** How deep a JSON document may nest (arrays and objects) before the host refuses it. */
#define PH_JSON_MAX_DEPTH 64

/** Where a typed parameter's value comes from. */
typedef uint32_t ph_source_t;
#define PH_SOURCE_PATH 1    /**< A `:name` segment of the path pattern. */
#define PH_SOURCE_QUERY 2   /**< The query parameter `name`. */
#define PH_SOURCE_HEADER 3  /**< The request header `name` (case-insensitive). */
#define PH_SOURCE_BODY 4    /**< The whole request body (text for strings and numbers, raw for bytes).
                                 Not trimmed: a body "42\n" is not an integer. */
#define PH_SOURCE_PLUGIN 5  /**< Not read from the request: the request property `name`, set by a
                                 wrapper (e.g. the user an auth wrapper found). Missing: a 500. */

/** One parameter of a typed endpoint. */
typedef struct ph_param {
    const char *name;     /**< Parameter name: path segment, query key, header, or property key. */
    ph_source_t source;   /**< Where the value comes from. */
    ph_type_t type;       /**< Its C type (never PH_TYPE_VOID). */
} ph_param_t;

/** Kinds of endpoint, as wrappers see them. */
#define PH_ENDPOINT_RAW 1    /**< A raw endpoint (ph_endpoint_t). */
#define PH_ENDPOINT_TYPED 2  /**< A typed endpoint (ph_typed_endpoint_t), either form. */

/** What a wrapper learns about an endpoint in `accepts` and `prepare`.
 *  Host-owned, valid during those calls only. */
typedef struct ph_endpoint_info {
    uint32_t struct_size;      /**< sizeof(ph_endpoint_info_t) as the host built it. */
    uint32_t kind;             /**< PH_ENDPOINT_RAW or PH_ENDPOINT_TYPED. */
    const char *method;        /**< "GET", "POST", … */
    const char *path;          /**< The path pattern, e.g. "/calc/add/:a/:b". */
    const char *owner;         /**< Alias of the plugin that registered it. */
    const ph_param_t *params;  /**< Typed endpoints: the signature's parameters; NULL for raw ones. */
    size_t param_count;        /**< Number of params. */
    ph_type_t result;          /**< Typed endpoints: the result type. */
} ph_endpoint_info_t;

/** A raw endpoint handler: read the request, write the response. A non-zero
 *  status answers 500 with the message written to `error`, whatever status the
 *  handler set: to answer 4xx, set the status and body and return PH_OK. [request] */
typedef ph_status_t (*ph_handler_fn)(void *user_data, ph_http_request_t *request, ph_message_t *error);

/** A raw endpoint. Copied by the host at registration. */
/** ABI 1.2, in `ph_endpoint_t.flags` and `ph_wrapper_t.flags`: the handler
 *  (or the wrapper's `call`) may answer PH_PENDING. Only then does the host
 *  keep the request where it outlives the call (a little more work per
 *  request); PH_PENDING from a handler that did not declare it is answered
 *  500, and the request must not be used after that call returned. */
#define PH_MAY_DEFER (1u << 0)

typedef struct ph_endpoint {
    uint32_t struct_size;   /**< sizeof(ph_endpoint_t). */
    const char *method;     /**< "GET", "POST", … (upper case). */
    /** Pattern: literal segments and `:name` captures, e.g. "/hello/:name". It
     *  starts with '/'; empty segments are ignored; a capture name is not empty
     *  and not repeated; a literal holds no '?', '#' or space and is compared
     *  with the request path's bytes as sent (not percent-decoded). A literal
     *  wins over a capture at the same depth. There are no wildcards. */
    const char *path;
    ph_handler_fn handler;  /**< Required. */
    void *user_data;        /**< Passed to handler; plugin-owned, valid until destroy. */
    uint32_t flags;         /**< ABI 1.2: PH_MAY_DEFER, or 0. */
} ph_endpoint_t;

/** A typed endpoint: `function` is a plain C function whose parameters are,
 *  in order, the C types of `params` (a PH_TYPE_BYTES or PH_TYPE_JSON parameter
 *  takes two) and whose return type is `result`. Copied by the host at
 *  registration (strings and schemas included).
 *  Its result is answered with `status` (200 before ABI 1.3) and Content-Type
 *  `content_type` (application/json before ABI 1.3): integers in decimal, exact
 *  even past 2^53; doubles in their shortest round-trip form; booleans as
 *  true/false; strings quoted, with `"`, `\` and control characters escaped;
 *  void as `null`; a PH_TYPE_JSON result as the document itself.
 *
 *  ABI 1.3, the handler form: instead of `function`, a `handler` of the raw
 *  endpoint's shape. The host parses and checks every parameter first (a 400
 *  before the handler runs, as for `function`); the handler reads them with
 *  `http->param` (a JSON body arrives as PH_TYPE_JSON, its text) and writes a
 *  PH_TYPE_JSON result with `set_body`, checked as a function's result is when
 *  the status it leaves is 2xx. It may answer an error itself (set a 4xx status
 *  and a body, return PH_OK) and, with PH_MAY_DEFER in `flags`, answer
 *  PH_PENDING and finish with `resume` (what the Swift SDK's async endpoints do).
 *
 *  JSON Schema (`body_schema`, `result_schema`): JSON text of the subset the host
 *  checks: `type` (a name or a list of: object, array, string, number, integer,
 *  boolean, null), `properties`, `required`, `additionalProperties` (false or a
 *  schema), `items`, `enum`, `const`, `minimum`, `maximum`, `exclusiveMinimum`,
 *  `exclusiveMaximum`, `minLength`, `maxLength`, `minItems`, `maxItems`; the
 *  annotations `title`, `description`, `default`, `examples`, `format`, `$schema`,
 *  `$id` and `$comment` are kept for the OpenAPI document and not checked. Any
 *  other keyword refuses the endpoint at registration, naming it. */
typedef struct ph_typed_endpoint {
    uint32_t struct_size;       /**< sizeof(ph_typed_endpoint_t); members past it are taken as absent. */
    const char *method;         /**< "GET", "POST", … */
    const char *path;           /**< Path pattern, as for raw endpoints. */
    void (*function)(void);     /**< The C function, cast to void(*)(void). Required unless `handler` is set (ABI 1.3). */
    const ph_param_t *params;   /**< Its parameters, in order; plugin-owned, read during registration. */
    size_t param_count;         /**< At most 16. */
    ph_type_t result;           /**< Its return type. */
    /* ---- ABI 1.3 (absent when struct_size ends before them) ---- */
    uint32_t status;            /**< Status of a successful answer, 200–299; 0 is 200. 204 answers no body. Read once, at registration. */
    uint32_t flags;             /**< PH_MAY_DEFER (handler form only), or 0; other bits refuse the endpoint. Read once, at registration. */
    const char *content_type;   /**< Content-Type of a successful answer; NULL is "application/json". One
                                     that is not JSON (not application/json nor ending in "+json") sends a
                                     STRING result as its bytes, unquoted; a PH_TYPE_JSON result needs a
                                     JSON content type. Plugin-owned; copied during registration, not read after. */
    const char *body_schema;    /**< JSON Schema of the PH_TYPE_JSON body parameter, as NUL-terminated JSON text;
                                     NULL accepts any JSON. Plugin-owned; compiled during registration, not read after. */
    const char *result_schema;  /**< JSON Schema of a PH_TYPE_JSON result, as body_schema; NULL for any JSON.
                                     Plugin-owned; compiled during registration, not read after. */
    const char *summary;        /**< One line describing the endpoint, for the OpenAPI document; NULL for none.
                                     Plugin-owned; copied during registration, not read after. */
    ph_handler_fn handler;      /**< The handler form (see above), with `function` NULL; `result` must be
                                     PH_TYPE_JSON or PH_TYPE_VOID. Called [request], as a raw endpoint's handler,
                                     until destroy; with PH_MAY_DEFER the request may be finished from any thread. */
    void *user_data;            /**< Passed to `handler`; plugin-owned, valid until destroy. */
} ph_typed_endpoint_t;

/** The size of a typed endpoint before ABI 1.3 (what older plugins pass as struct_size). */
#define PH_TYPED_ENDPOINT_SIZE_1_0 (offsetof(ph_typed_endpoint_t, result) + sizeof(ph_type_t))

/** When a wrapper runs. */
#define PH_WRAP_PRE 1   /**< Before parameters are parsed: sees the raw request. */
#define PH_WRAP_POST 2  /**< After parameters are parsed: can read them with `param`. */

/** A wrapper (middleware). Copied by the host at registration. */
typedef struct ph_wrapper {
    uint32_t struct_size;   /**< sizeof(ph_wrapper_t); members past it are taken as absent (NULL/0). */
    uint32_t phase;         /**< PH_WRAP_PRE or PH_WRAP_POST. */
    const char *name;       /**< Shown in the admin listing, e.g. "timing". */
    /** Which endpoints it may wrap: "*" (all); a prefix, written as a path
     *  ending in a star such as "/api/" + "*" (every endpoint under /api/); an
     *  exact path "/calc/add/:a/:b" (any method); or "GET /calc/add/:a/:b".
     *  NULL is "*". A prefix is compared with the text of each endpoint's
     *  pattern as registered ("/api" + "*" also takes "/apix"); a star counts
     *  only as the last character. An exact path is compared by shape (capture
     *  names and empty segments do not matter). "METHOD /path" takes no star. A
     *  match that names no endpoint is accepted and wraps nothing. */
    const char *match;
    void *user_data;        /**< Passed to every function; plugin-owned, valid until destroy. */
    /** Decides at load whether to wrap `endpoint` (pait's pre-check). Optional:
     *  NULL wraps every matching endpoint. [control] */
    bool (*accepts)(void *user_data, const ph_endpoint_info_t *endpoint);
    /** Computes per-endpoint state once (pait's pre-load), stored in `*state`.
     *  A failure disables the endpoint (it answers 503) and is logged. Optional. [control] */
    ph_status_t (*prepare)(void *user_data, const ph_endpoint_info_t *endpoint, void **state, ph_message_t *error);
    /** Runs per request. Continue with `http->call_next(request)`; act before or
     *  after it, change the request or the response, or answer without calling it.
     *  A non-zero status answers 500 with `error`'s message, at once, so wrappers
     *  further out see the 500 when their call_next returns. Returning a non-zero
     *  status with no message while the response status is already 400 or more
     *  (an error passed on from call_next, or one the wrapper set) keeps that
     *  response: so after call_next failed, return its status and write no
     *  message to pass the inner answer on unchanged (PH_OK keeps it too).
     *  Each call gets its own `error` buffer. For a plugin that is not
     *  thread-safe the host's lock is held for the whole call, including the rest
     *  of the chain run by call_next. Required. [request] */
    ph_status_t (*call)(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error);
    /** Frees a state made by prepare when the endpoint table goes away. Optional. [control] */
    void (*release)(void *user_data, void *state);
    uint32_t flags;         /**< ABI 1.2: PH_MAY_DEFER, or 0. */
} ph_wrapper_t;

/** The HTTP extension: registration (during create) and request accessors. */
typedef struct ph_http {
    uint32_t struct_size;   /**< sizeof(ph_http_t) as the host built it. */
    uint32_t reserved;      /**< Zero. */

    /** Registers a raw endpoint. PH_ERR_INVALID (with a message) for a bad
     *  method or path or the reserved prefix; a method+path another plugin
     *  earlier in config order registered is refused at freeze and logged. [create] */
    ph_status_t (*register_endpoint)(const ph_host_t *host, const ph_endpoint_t *endpoint, ph_message_t *error);
    /** Registers a typed endpoint; PH_ERR_UNSUPPORTED (with the reason) for a
     *  signature the host cannot call or parse from the request. [create] */
    ph_status_t (*register_typed_endpoint)(const ph_host_t *host, const ph_typed_endpoint_t *endpoint, ph_message_t *error);
    /** Registers a wrapper. [create] */
    ph_status_t (*register_wrapper)(const ph_host_t *host, const ph_wrapper_t *wrapper, ph_message_t *error);

    /** The request method, e.g. "GET". [request] */
    const char *(*method)(ph_http_request_t *request);
    /** The request path as sent, without the query, not percent-decoded. [request] */
    const char *(*path)(ph_http_request_t *request);
    /*
     * Values handed over by path_param, query and header: `*value` points at
     * exactly `*length` bytes, followed by one NUL that is not counted. The
     * bytes are the request's own, percent-decoded for path_param and query
     * (`+` is a space in a query): `%00` arrives as a NUL inside the value and
     * `%FF` as the byte 0xFF, so a value may hold NULs and need not be UTF-8.
     * Read `*length` bytes, not up to the first NUL, when the difference matters.
     * Header values are what the HTTP parser accepted: a NUL or other control
     * byte in a header is refused with 400 before any plugin runs, and bytes
     * that are not UTF-8 arrive replaced by U+FFFD (EF BF BD). The memory is
     * the host's, read-only (a path_param or query value is decoded once and the
     * same span is handed out again, to this plugin or the next; header copies
     * the value at each call), and stays valid until the request ends. `length`
     * may be NULL. Invalid escapes ("%G1", a trailing "%") stay as they are; "%2F"
     * in a capture is a '/' inside the value.
     */
    /** A `:name` path capture, percent-decoded (see above). PH_ERR_NOT_FOUND when absent. [request] */
    ph_status_t (*path_param)(ph_http_request_t *request, const char *name, const char **value, size_t *length);
    /** The first query parameter `name`, percent-decoded (see above); names are compared after
     *  decoding, and `name` without '=' has an empty value. PH_ERR_NOT_FOUND when absent. [request] */
    ph_status_t (*query)(ph_http_request_t *request, const char *name, const char **value, size_t *length);
    /** The request header `name` (case-insensitive; the first field of that name; see above).
     *  PH_ERR_NOT_FOUND when absent. [request] */
    ph_status_t (*header)(ph_http_request_t *request, const char *name, const char **value, size_t *length);
    /** The request body (may be empty): exactly its bytes, NULs included, plus one uncounted
     *  NUL; `*data` is not NULL even when it is empty. [request] */
    ph_status_t (*body)(ph_http_request_t *request, const void **data, size_t *length);
    /** Sets (replaces) a request header, for the rest of the chain. [request] */
    ph_status_t (*set_request_header)(ph_http_request_t *request, const char *name, const char *value);

    /** The response status so far (200 until someone sets it). [request] */
    uint32_t (*status)(ph_http_request_t *request);
    /** Sets the response status (100–599). [request] */
    ph_status_t (*set_status)(ph_http_request_t *request, uint32_t status);
    /** Sets (replaces) a response header. [request] */
    ph_status_t (*set_header)(ph_http_request_t *request, const char *name, const char *value);
    /** The response body so far. [request] */
    ph_status_t (*response_body)(ph_http_request_t *request, const void **data, size_t *length);
    /** Sets (replaces) the response body; copied. [request] */
    ph_status_t (*set_body)(ph_http_request_t *request, const void *data, size_t length);

    /** Runs the rest of the chain (next wrapper, then parsing, then the endpoint).
     *  Returns PH_OK, or the status a later step failed with (its error is
     *  already in the response): PH_ERR_INVALID when a typed parameter did not
     *  parse (a 400) or a plugin-provided one is missing (a 500), the handler's or
     *  an inner wrapper's own status, or PH_PENDING (ABI 1.2, see below). Call it
     *  at most once per wrapper call, from that call: a second call, or a call
     *  from anything but the innermost wrapper running (e.g. an endpoint
     *  handler), answers PH_ERR_STATE and runs nothing. [request] */
    ph_status_t (*call_next)(ph_http_request_t *request);

    /** Sets request property `key` to a typed value (copied): INT32, INT64,
     *  UINT64 and DOUBLE take exactly 8 bytes (an INT32 as an int64_t within
     *  int32 range), BOOL exactly 1 (non-zero is true), STRING and BYTES their
     *  bytes. Another length, or VOID or an unknown type, is PH_ERR_INVALID.
     *  A STRING that is not UTF-8 is read back with U+FFFD in place of the bad
     *  bytes. [request] */
    ph_status_t (*set_property)(ph_http_request_t *request, const char *key, ph_type_t type, const void *value, size_t length);
    /** Reads request property `key`: `*value` points at `*length` bytes plus one
     *  uncounted NUL, 8-byte aligned, a fresh copy valid until the request ends.
     *  BOOL: 1 byte, 0 or 1. INT32, INT64, UINT64, DOUBLE: 8 bytes, in the host's
     *  byte order; an INT32 arrives as an int64_t (sign-extended), so read 8 bytes
     *  and narrow. STRING: its UTF-8, BYTES: its bytes. Check `*type` and `*length`
     *  before reading. PH_ERR_NOT_FOUND when unset. [request] */
    ph_status_t (*get_property)(ph_http_request_t *request, const char *key, ph_type_t *type, const void **value, size_t *length);
    /** A parsed typed-endpoint parameter (post-wrappers and later), in the same
     *  encoding as get_property (an INT32 parameter in 8 bytes). PH_ERR_STATE
     *  before parsing; PH_ERR_NOT_FOUND for a raw endpoint or an unknown name. [request] */
    ph_status_t (*param)(ph_http_request_t *request, const char *name, ph_type_t *type, const void **value, size_t *length);

    /* ---- ABI 1.2: deferred completion (absent when struct_size ends before it) ----
     *
     * A raw endpoint handler, or a wrapper's `call`, may answer PH_PENDING: it
     * keeps the request, the host's thread moves on, and the request holds no
     * thread until the plugin finishes it with `resume`, from any thread.
     *
     * - Exactly once. The first `resume` finishes the request with the response
     *   as it stands (`status` other than PH_OK turns it into a 500 naming the
     *   plugin, with `message`); a second answers PH_ERR_STATE.
     * - Between PH_PENDING and `resume`, the request functions above may be
     *   called from the plugin's threads, one at a time (set_status, set_body,
     *   set_header...). The host does not touch the request meanwhile.
     * - A wrapper that answered PH_PENDING may continue the chain later, once,
     *   with `call_next` from any thread (Envoy's "continue decoding"), then
     *   finishes with `resume`. If a step inside defers again, `call_next`
     *   answers PH_PENDING and that step finishes the request instead.
     * - A wrapper whose `call_next` answers PH_PENDING must itself answer
     *   PH_PENDING and leave the request alone: the step inside finishes it.
     * - The host may give up first: the request's timeout (`request-timeout-ms`),
     *   the client leaving, shutdown. Its `resume` then answers PH_ERR_CANCELLED:
     *   free what you hold; do not call the other request functions after the
     *   host gave up (only `resume`). The handle stays valid for `resume` until
     *   it is called; after `resume` returned, do not use the handle again (a
     *   mistaken second `resume` soon after, while the request is among the
     *   host's last 1,024 finished deferred ones, is refused with PH_ERR_STATE;
     *   later the handle's memory is gone).
     * - Reloads wait for deferred requests like for running ones: the request
     *   finishes on the generation (and plugin instance) it started on.
     */
    /** Finishes a request this plugin's step answered PH_PENDING for. PH_OK;
     *  PH_ERR_STATE for a second call or a request that is not deferred;
     *  PH_ERR_CANCELLED when the host gave up on it. [thread-safe] */
    ph_status_t (*resume)(ph_http_request_t *request, ph_status_t status, const char *message);
    /** Asks to be told when the host gives up on a deferred request: `cancelled`
     *  runs once, with `user_data`, on a host thread, and must not block (set a
     *  flag, cancel a task); `resume` then answers PH_ERR_CANCELLED. It is never
     *  called after `resume` returned. One callback per request (a later call
     *  replaces it); PH_ERR_STATE for a request that is not deferred. [thread-safe] */
    ph_status_t (*on_cancel)(ph_http_request_t *request, void (*cancelled)(void *user_data), void *user_data);
} ph_http_t;

#ifdef __cplusplus
}
#endif
