/* The in-flight record of plugin calls: which plugin each thread of a worker
 * is calling into, kept in memory that outlives the worker.
 *
 * The supervisor creates one page per worker (ph_call_page_create) and the
 * worker inherits it (ph_call_page_attach). Before every call into plugin
 * code a thread stores what it calls (the build, the kind of call, for
 * lifecycle calls since when) in its own slot, and restores the previous
 * value after: a few plain stores, no atomic, no lock. When a worker dies in
 * a way its own crash handler cannot report (a stack overflow, a handler the
 * plugin replaced, SIGKILL, `exit` inside a plugin call), the supervisor
 * reads the page after the death and charges the plugin the evidence names
 * (docs/CONTAINMENT.md). It also watches lifecycle calls that run past their
 * deadline while the worker lives.
 *
 * A thread gets its slot the first time it calls a plugin; it also gets an
 * alternate signal stack then, so a stack overflow in plugin code still runs
 * the crash handler. Host-side only: plugins never see this header. */
#ifndef PLUGHOST_CALL_RECORD_H
#define PLUGHOST_CALL_RECORD_H

#include <stdint.h>
#include "plughost/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The page's first word, and its layout version (a supervisor and a worker of
 * the same executable always agree; the reader checks anyway). */
#define PH_CALL_PAGE_MAGIC 0x70686366u
#define PH_CALL_PAGE_LAYOUT 1u
/* Threads that can hold a slot at once; later threads run unrecorded. */
#define PH_CALL_THREADS 1024
/* Plugin builds one worker can register (each alias of each library loaded). */
#define PH_CALL_BUILDS 2048

/* What kind of call a thread is in. Lifecycle and assembly calls (below 16)
 * are timed: they have a deadline the supervisor watches. */
typedef uint32_t ph_call_kind_t;
#define PH_CALL_NONE 0u
#define PH_CALL_PARSE_CONFIG 1u
#define PH_CALL_CREATE 2u
#define PH_CALL_START 3u
#define PH_CALL_STOP 4u
#define PH_CALL_DESTROY 5u
#define PH_CALL_SAVE_STATE 6u
#define PH_CALL_RESTORE_STATE 7u
#define PH_CALL_ACCEPTS 8u
#define PH_CALL_PREPARE 9u
#define PH_CALL_RELEASE 10u
#define PH_CALL_ENTRY 11u
#define PH_CALL_TIMED_LIMIT 16u
#define PH_CALL_ENDPOINT 16u
#define PH_CALL_WRAPPER 17u
#define PH_CALL_EVENT 18u
#define PH_CALL_CHECK 19u
#define PH_CALL_RESUME 20u
#define PH_CALL_SERVICE 21u

/* A record as one word: the kind in the top 8 bits, the build (1-based index
 * into the page's builds; 0 unknown) in the low 24. */
#define PH_CALL_WHAT(kind, build) (((uint32_t)(kind) << 24) | ((uint32_t)(build) & 0xffffffu))
#define PH_CALL_KIND(what) ((uint32_t)(what) >> 24)
#define PH_CALL_BUILD(what) ((uint32_t)(what) & 0xffffffu)

/* PH_CALL_WHAT as a function (Swift does not import function-like macros). */
static inline uint32_t ph_call_what(uint32_t kind, uint32_t build) { return PH_CALL_WHAT(kind, build); }

/* One thread's slot, a cache line of its own (no false sharing between threads). */
typedef struct {
    /* PH_CALL_WHAT of the innermost call in flight; 0 when none. Written by its thread only. */
    volatile uint32_t what;
    /* The thread's id (gettid), 0 when the slot is free. */
    volatile int32_t tid;
    /* CLOCK_MONOTONIC nanoseconds when the innermost timed call began; 0 for untimed calls. */
    volatile uint64_t since_ns;
    /* The event id of an event or check call; 0 otherwise. */
    volatile uint32_t detail;
    uint32_t reserved;
    char padding[40];
} ph_call_slot_t;

/* One plugin build: what a record's build index names. Written once, before
 * any record names it, but for plugin_version, which is set once the entry
 * returned it (empty while the entry runs); every string is NUL-terminated by
 * the writer (a reader terminates it again and bounds every read by the field:
 * the worker's plugins could have scribbled on it). */
typedef struct {
    char alias[64];
    char manifest_version[48];
    char plugin_version[48];
    char sha256[72];
} ph_call_build_t;

/* The page: a header, the slots, the builds. */
typedef struct {
    uint32_t magic;
    uint32_t layout;
    /* The worker that attached it. */
    volatile int32_t pid;
    /* Builds written so far (published with release order). */
    volatile uint32_t build_count;
    /* The thread that called exit() and its status (0 when none did). */
    volatile int32_t exiting_tid;
    volatile int32_t exit_status;
    /* The thread the crash handler ran on, and its signal (0 when it never ran). */
    volatile int32_t faulting_tid;
    volatile int32_t faulting_signal;
    char padding[32];
    ph_call_slot_t threads[PH_CALL_THREADS];
    ph_call_build_t builds[PH_CALL_BUILDS];
} ph_call_page_t;

/* ---- The supervisor's side ---- */

/* Creates a zeroed page in an in-memory file (close-on-exec) and maps it
 * shared. Stores the descriptor in `fd` (dup2 it into a worker). Returns the
 * mapping, or NULL with errno set. */
ph_call_page_t *ph_call_page_create(int *fd);

/* Unmaps a page made by ph_call_page_create (the descriptor is closed by the caller). */
void ph_call_page_destroy(ph_call_page_t *page);

/* One call in flight as read from a page (copied, checked, terminated). */
typedef struct {
    int32_t tid;
    uint32_t kind;
    uint32_t build;
    uint32_t detail;
    uint64_t since_ns;
} ph_call_seen_t;

/* Copies the calls in flight into `out` (at most `capacity`); returns how many. */
int ph_call_page_in_flight(const ph_call_page_t *page, ph_call_seen_t *out, int capacity);

/* Copies build `index` (1-based) into `out`, terminating every string.
 * Returns 0, or -1 when the page has no such build. */
int ph_call_page_build(const ph_call_page_t *page, uint32_t index, ph_call_build_t *out);

/* The exiting thread's id and status, and the faulting thread's id and signal (0 when none). */
void ph_call_page_deaths(const ph_call_page_t *page, int32_t *exiting_tid, int32_t *exit_status,
                         int32_t *faulting_tid, int32_t *faulting_signal);

/* CLOCK_MONOTONIC in nanoseconds (what since_ns is measured on; the same clock in every process). */
uint64_t ph_call_clock_ns(void);

/* ---- The worker's side ---- */

/* Maps the page inherited at `fd` and makes it this process's record (call
 * before any plugin code runs); with `fd` -1, an anonymous page of its own
 * (one process, no supervisor). Registers an exit handler that notes the
 * exiting thread. Returns 0, or -1 with errno set (the page is then anonymous):
 * EBUSY when this process has a page already (a thread or build was recorded
 * before the call), EINVAL when `fd` is not a page of this layout. */
int ph_call_page_attach(int fd);

/* Registers a build; returns its 1-based index for PH_CALL_WHAT, or 0 when the
 * page is full. The same alias, manifest version and SHA-256 again get the
 * same index (the plugin version follows from the library). Any thread;
 * builds are never removed. */
uint32_t ph_call_register_build(const char *alias, const char *manifest_version, const char *plugin_version,
                                const char *sha256);

/* Sets the plugin version of build `index` (1-based), known once its entry
 * returned; nothing for an unknown index. Any thread. */
void ph_call_set_plugin_version(uint32_t index, const char *plugin_version);

/* Build `index` (1-based) of this process's page, or NULL (async-signal-safe). */
const ph_call_build_t *ph_call_build_info(uint32_t index);

/* The name of a call kind ("create", "endpoint", …; "call" when unknown). */
const char *ph_call_kind_name(uint32_t kind);

/* Notes that the calling thread runs the crash handler for `signal` (async-signal-safe). */
void ph_call_note_fault(int signal);

/* This thread's current record word (0 when it is in no plugin call; async-signal-safe). */
uint32_t ph_call_current(void);

/* This thread's slot, NULL until its first call. */
extern __thread ph_call_slot_t *ph_call_thread_slot __attribute__((tls_model("initial-exec")));

/* Takes a slot for this thread (and an alternate signal stack); a slot that
 * records nothing when every slot is taken. Never NULL. */
ph_call_slot_t *ph_call_take_slot(void);

static inline ph_call_slot_t *ph_call_slot(void) {
    ph_call_slot_t *slot = ph_call_thread_slot;
    if (__builtin_expect(slot == 0, 0)) slot = ph_call_take_slot();
    return slot;
}

/* Records an untimed call (`what` from PH_CALL_WHAT); returns the previous record for ph_call_leave. */
static inline uint32_t ph_call_enter(uint32_t what) {
    ph_call_slot_t *slot = ph_call_slot();
    uint32_t previous = slot->what;
    slot->what = what;
    return previous;
}

/* Restores the record ph_call_enter returned. */
static inline void ph_call_leave(uint32_t previous) {
    ph_call_thread_slot->what = previous;
}

/* This thread's nesting of plugin publish/check calls (at most PH_PUBLISH_MAX_DEPTH, plugin.h). */
extern __thread uint32_t ph_call_publish_depth __attribute__((tls_model("initial-exec")));

/* Counts one more nested publish; returns 0 when that is past PH_PUBLISH_MAX_DEPTH (nothing counted). */
static inline int ph_publish_depth_enter(void) {
    if (ph_call_publish_depth >= PH_PUBLISH_MAX_DEPTH) return 0;
    ph_call_publish_depth++;
    return 1;
}

/* Counts the nested publish out again. */
static inline void ph_publish_depth_leave(void) { ph_call_publish_depth--; }

/* The state a timed call restores. */
typedef struct {
    uint32_t what;
    uint64_t since_ns;
} ph_call_saved_t;

/* Records a timed (lifecycle or assembly) call, stamped with the clock. */
ph_call_saved_t ph_call_enter_timed(uint32_t what);

/* Restores what ph_call_enter_timed returned. */
void ph_call_leave_timed(ph_call_saved_t saved);

#ifdef __cplusplus
}
#endif

#endif
