/*
 * The host's wrapper-chain walk, in C.
 *
 * A request's chain is a flat array of steps built once per route when the
 * endpoint table is frozen: pre-wrappers, parameter parsing, post-wrappers,
 * the endpoint. Wrappers continue the chain with `http->call_next`, which is
 * `ph_chain_call_next` itself, so a pass-through wrapper costs two indirect
 * calls and no trip through Swift. The host (Swift) is entered only for the
 * steps it owns, parsing and the endpoint, and when a wrapper fails.
 *
 * Host-private: plugins see only the opaque `ph_http_request_t *`, which is a
 * `ph_chain_request_t *` in disguise.
 */
#pragma once

#include <plughost/http.h>

#include <pthread.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a step does. */
typedef uint32_t ph_chain_kind_t;
#define PH_CHAIN_WRAPPER 1   /**< Calls a plugin's wrapper `call`. */
#define PH_CHAIN_PARSE 2     /**< Parses typed parameters (host callback), then goes on. */
#define PH_CHAIN_ENDPOINT 3  /**< Calls the endpoint (host callback); the last step. */

/** One step of a route's chain. For wrappers, a copy of what the call needs,
 *  next to the following step's, so a request reads the chain front to back
 *  with no pointer to chase. */
typedef struct ph_chain_step {
    ph_chain_kind_t kind;
    /** The wrapper's `call` (PH_CHAIN_WRAPPER only). */
    ph_status_t (*call)(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error);
    void *user_data;         /**< The wrapper's user_data. */
    void *state;             /**< What its `prepare` made for this route. */
    /** The owner's recursive plugin lock, held around each call; NULL for a
     *  thread-safe plugin. Owned by the host's PluginLock, which outlives the table. */
    pthread_mutex_t *lock;
    /** The in-flight record word of a call into this wrapper (call_record.h's
     *  PH_CALL_WHAT(PH_CALL_WRAPPER, build)): stored in the thread's record
     *  for the length of the call, so a death inside it names the plugin. */
    uint32_t what;
} ph_chain_step_t;

typedef struct ph_chain_request ph_chain_request_t;

/** The host's side of a chain: the steps it keeps in Swift. One static table. */
typedef struct ph_chain_host {
    /** Parses the typed parameters; non-zero answers (the error is in the response). */
    ph_status_t (*parse)(ph_chain_request_t *request);
    /** Calls the endpoint and writes its response. */
    ph_status_t (*endpoint)(ph_chain_request_t *request);
    /** Wrapper `step` returned `status` with `message` (possibly ""): the host
     *  decides whether that is a failure to report, and writes the 500 now, so
     *  wrappers further out see it. */
    void (*wrapper_failed)(ph_chain_request_t *request, size_t step, ph_status_t status, const char *message);
} ph_chain_host_t;

/** Bytes of the message buffer wrappers write into, including the NUL. */
#define PH_CHAIN_MESSAGE_CAPACITY 1024

/** One request going through a chain: the `ph_http_request_t` plugins get.
 *  Lives on the stack of the thread serving the request (ph_chain_serve). */
struct ph_chain_request {
    /** The host's per-request object (Swift RequestContext, unretained).
     *  First, so every accessor finds it with one load. */
    void *context;
    const ph_chain_step_t *steps;
    size_t count;
    /** Index of the next step to run. */
    size_t cursor;
    /** Index of the wrapper step running now, -1 before the first: only
     *  that wrapper may call next, and only while cursor == frame + 1. */
    ptrdiff_t frame;
    /** Set when a step answered PH_PENDING (ABI 1.2): the request finishes
     *  later, with `http->resume`. */
    int pending;
    /** The wrapper step that answered PH_PENDING, -1 if none: it may continue
     *  the chain later, from any thread, once (`call_next` while no step runs). */
    ptrdiff_t deferred_frame;
    const ph_chain_host_t *host;
    /** The calling thread's in-flight record, looked up once per request
     *  (a deferred request resumed on another thread looks it up again), and
     *  what it held when the chain began (restored after a top-level wrapper). */
    void *record;
    uint32_t entry_what;
    /** The message buffer of the wrapper running now. One per request, not
     *  one per call (a wrapper's frame stays small): emptied before and after
     *  each wrapper call (after: its message was reported, the wrapper outside
     *  must not take it for its own), and call_next sets aside what its caller
     *  wrote before continuing, so every wrapper sees only its own text. */
    char text[PH_CHAIN_MESSAGE_CAPACITY];
};

/** Serves one request: runs `count` steps from the first, with `context`
 *  as the host's per-request object. The request lives on this call's stack.
 *  `reached` (never NULL) gets how many steps were entered: fewer than `count`
 *  when a wrapper answered without calling next, or parsing refused. */
ph_status_t ph_chain_serve(void *context, const ph_chain_step_t *steps, size_t count, const ph_chain_host_t *host,
                           size_t *reached);

/** As ph_chain_serve, in `storage` the caller keeps: a route where a step may
 *  answer PH_PENDING needs its request to outlive this call. Check
 *  `storage->pending` afterwards. */
ph_status_t ph_chain_serve_in(ph_chain_request_t *storage, void *context, const ph_chain_step_t *steps, size_t count,
                              const ph_chain_host_t *host);

/** `http->call_next`: runs the rest of the chain, once per wrapper call;
 *  PH_ERR_STATE for a second call or a call from anything but the running wrapper. */
ph_status_t ph_chain_call_next(ph_http_request_t *request);

/** The plugin-facing handle of `request`. */
static inline ph_http_request_t *ph_chain_handle(ph_chain_request_t *request) {
    return (ph_http_request_t *)request;
}

#ifdef __cplusplus
}
#endif
