/*
 * plughost plugin validator — the conformance tests behind `plughost validate`.
 *
 * The validator is a host of its own: it loads a plugin library, calls it
 * through the ABI (plugin.h, http.h) the way plughost does, hands it a
 * recording ph_host_t / ph_config_t / ph_http_t that honours every contract of
 * the ABI, and reports what the plugin does wrong.
 *
 * A test may crash or hang when the plugin does: run each one in a child
 * process with a time limit (`plughost validate` spawns itself per test) and
 * report a signal as "crashed (SIGSEGV)", a kill after the limit as "timed out".
 *
 * Environment, read by ph_validation_run (all optional):
 *   PH_VALIDATION_PROGRESS_FD  a file descriptor (e.g. 2) that receives one line per event,
 *                              each one write(2): "validate: step: parse_config with level = 1",
 *                              "validate: log: ALIAS: warning: ..." (the plugin's log lines),
 *                              "validate: fail: ...", "validate: misuse: ...",
 *                              "validate: late call: ...", "validate: host: registration refused: ...".
 *                              The last "step" line of a crashed or hung child says where it was.
 *   PH_VALIDATION_ALIAS        the alias the host table shows the plugin
 *                              (default: the library's file name without "lib" and ".so").
 */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcome of one validation test. */
typedef enum { PH_VALIDATION_PASS = 0, PH_VALIDATION_FAIL = 1, PH_VALIDATION_SKIP = 2 } ph_validation_outcome_t;

/* Tests, in the order they run. */
size_t ph_validation_test_count(void);

/* The name of test `index` (< ph_validation_test_count()), or NULL: "descriptor", "entry", "heap",
 * "lifecycle", "config", "threads", "state", "typed", "wrappers", "endpoints", "async", "stray-threads",
 * "late-calls".
 * Static strings. */
const char *ph_validation_test_name(size_t index);

/* One line: what test `index` checks; NULL when out of range. Static strings. */
const char *ph_validation_test_summary(size_t index);

/* Runs test `name` against the plugin whose entry is `symbol` in `library` (dlopen'ed here,
 * RTLD_NOW|RTLD_LOCAL, never dlclose'd: a Swift plugin must never be unloaded), in this process.
 * Writes a NUL-terminated reason (why it failed, or why skipped; on pass a short note such as
 * "100 cycles, heap +400 B") into reason[capacity]. SKIP: the test does not apply (not thread-safe,
 * no typed endpoints, ...) or needs an instance the plugin refuses to make with an empty config.
 * An unknown test, a library that does not load or an entry symbol it lacks is a FAIL.
 * While the test runs, reason holds the step in progress ("parse_config with level = 1"), so a
 * caller whose buffer is shared memory (MAP_SHARED) can name the step of a crash or a hang; see
 * also PH_VALIDATION_PROGRESS_FD above.
 * It may crash or hang when the plugin does: callers run it in a child process with a time limit.
 * Tests are meant to run one per process: in one process, several runs share the library's
 * globals, the threads it left and the heap. */
ph_validation_outcome_t ph_validation_run(const char *name, const char *library, const char *symbol, char *reason, size_t capacity);

#ifdef __cplusplus
}
#endif
