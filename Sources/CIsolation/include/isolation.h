/*
 * Isolated plugins: a plugin loaded in a plugin process of its own, sandboxed
 * and limited, that the worker talks to through a proxy.
 *
 * The worker side (the host) opens an isolated plugin with ph_isolated_open:
 * it starts the plugin process, which loads the library and checks its
 * descriptor as the host's loader would, and answers a proxy descriptor
 * (ph_plugin_t) whose every function crosses to the plugin process. The
 * host's runtime then uses it like any plugin's descriptor: lifecycle,
 * subscriptions, endpoints, wrappers, services, state handoff. What the
 * plugin registers through its ph_host_t crosses back and is registered with
 * the worker's host by the proxy, with callbacks that cross again.
 *
 * When the plugin process dies (a crash, a seccomp kill, its memory limit) or
 * hangs (a call gets no answer within the call timeout: the process is
 * killed), the calls in flight fail with 503 (504 for a hang) naming the
 * plugin, the observer is told (the host journals it and counts it toward
 * quarantine), and unless the observer says no, a new plugin process is
 * started with backoff and given the same config; the plugin registers again
 * and the worker's registrations point at the new process.
 *
 * The plugin process side is ph_plugin_process_main, the whole program of
 * `plughost-plugin-process`.
 */
#pragma once

#include <plughost/plugin.h>

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** How to start one isolated plugin. Every string is copied. */
typedef struct ph_isolation_spec {
    const char *alias;          /**< The plugin's alias. */
    const char *library_path;   /**< The library as the manifest names it (for messages and Landlock). */
    int library_fd;             /**< A sealed copy of the library to load (the shadow copy the host checked), or -1 to load library_path. */
    const char *entry;          /**< The entry symbol. */
    const char *executable;     /**< The plugin process program (plughost-plugin-process). */
    int strict;                 /**< 1: the strict sandbox (seccomp, Landlock, no new privileges); 0: only limits. */
    uint64_t memory_mb;         /**< Its memory limit in MiB (0: none). */
    uint64_t open_files;        /**< Its descriptor limit (0: none). */
    const char *state_dir;      /**< The one folder it may write in (created by the caller), or NULL. */
    const char *const *read_paths; /**< Files and folders it may read (system libraries, its own folder). */
    size_t read_path_count;     /**< Number of read_paths. */
    int call_timeout_ms;        /**< A call without an answer this long is a hang (0: none). */
} ph_isolation_spec_t;

/** An isolated plugin: the proxy and its plugin process. */
typedef struct ph_isolated ph_isolated_t;

/** Starts the plugin process and loads the plugin in it. NULL with a reason in `error` when the
 *  process cannot start, the library cannot load or its descriptor is refused. */
ph_isolated_t *ph_isolated_open(const ph_isolation_spec_t *spec, char *error, size_t capacity);
/** The proxy descriptor the host uses in place of the plugin's own; valid until ph_isolated_close. */
const ph_plugin_t *ph_isolated_descriptor(const ph_isolated_t *isolated);
/** The plugin process's pid now (0 while none runs). */
pid_t ph_isolated_pid(const ph_isolated_t *isolated);
/** How many times its plugin process was restarted. */
uint32_t ph_isolated_restarts(const ph_isolated_t *isolated);
/** What the plugin process's sandbox applied, as one line (e.g. "seccomp allow-list (…), landlock ABI 7 (…), rlimits …"). */
const char *ph_isolated_sandbox(const ph_isolated_t *isolated);
/** Ends the plugin process (after the instance's destroy, if any) and frees what can be freed. */
void ph_isolated_close(ph_isolated_t *isolated);

/** What the observer is told when a plugin process ends unexpectedly. */
typedef struct ph_isolation_death {
    const ph_isolated_t *isolated; /**< Which isolated plugin (as ph_isolated_open answered it). */
    const char *alias;        /**< The plugin. */
    const char *version;      /**< Its descriptor's version. */
    pid_t pid;                /**< The process that ended. */
    int signal;               /**< The signal that ended it, or 0. */
    int exit_status;          /**< Its exit status when it exited (signal 0). */
    int hang;                 /**< 1 when the worker killed it because a call got no answer in time. */
    const char *detail;       /**< What it reported before dying (the SIGSYS line naming the syscall), or "". */
    uint32_t restarts;        /**< Restarts so far, this one not counted. */
} ph_isolation_death_t;

/** Called on a worker thread for every unexpected end; answers 1 to restart the plugin process, 0 not to. */
typedef int (*ph_isolation_observer_fn)(void *context, const ph_isolation_death_t *death);
/** Installs the observer (once, at start-up). */
void ph_isolation_set_observer(ph_isolation_observer_fn observer, void *context);

/** The failure the last call into an isolated plugin on this thread left (and clears it): 1 with
 *  the HTTP status to answer (503 for a dead process, 504 for a hang) and a message, else 0. */
int ph_isolation_take_failure(uint32_t *http_status, char *message, size_t capacity);

/** Whether this thread has a failure waiting (ph_isolation_take_failure would answer 1). */
int ph_isolation_has_failure(void);

/** Applies the plugin process's sandbox (see CSandbox); 0, or -1 with a reason. */
int ph_isolation_sandbox(int strict, uint64_t memory_bytes, uint64_t open_files, const char *const *read_paths,
                         size_t read_path_count, const char *state_dir, int report_fd, char *error, size_t capacity);

/** The plugin process program: serves one plugin for the worker that started it. */
int ph_plugin_process_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
