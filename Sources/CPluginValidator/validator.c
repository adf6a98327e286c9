/*
 * The validator's entry points: the registry of tests (name, summary, function, in the order they
 * run) and ph_validation_run, which loads the library (never unloaded), finds the entry, gets the
 * descriptor, runs one test and writes its reason. Also the run's bookkeeping: the step in
 * progress (into the caller's buffer and PH_VALIDATION_PROGRESS_FD), failures, skips, notes and
 * misuses of the ABI that no single instance owns.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct vt_test {
    const char *name;
    const char *summary;
    void (*run)(vt_run_t *run);
    bool needs_descriptor;      /* gets the descriptor first, and skips when the host could not use it */
} vt_test_t;

static const vt_test_t tests[] = {
    {"descriptor", "the descriptor's ABI version, size, flags, id, version and required functions", vt_test_descriptor, false},
    {"entry", "the entry answers NULL to a foreign ABI major and the same descriptor on every call", vt_test_entry, false},
    {"heap", "100 create/destroy cycles (after a warm-up) leave the heap as it was", vt_test_heap, true},
    {"lifecycle", "parse_config, create, start, stop and destroy with an empty config, once each, in order", vt_test_lifecycle, true},
    {"config", "generated configs (unknown keys, every value type under common and asked-for keys) are refused with a "
               "message or accepted, never a crash", vt_test_config, true},
    {"threads", "a thread-safe plugin takes events, checks and typed calls from 4 threads at once", vt_test_threads, true},
    {"state", "save_state then restore_state round-trips byte for byte; empty and random state is refused or taken, "
              "never a crash", vt_test_state, true},
    {"typed", "typed endpoints take the boundary values of their parameter types", vt_test_typed, true},
    {"wrappers", "wrappers' accepts, prepare and release work on every endpoint they match, the plugin's and synthetic ones",
     vt_test_wrappers, true},
    {"endpoints", "raw and handler-form typed endpoints take generated requests (queries, headers, empty, random and large "
                  "bodies): no crash, PH_PENDING only with PH_MAY_DEFER, one resume, well-formed JSON answers", vt_test_endpoints, true},
    {"async", "deferring endpoints resume once, also after the host gave up (on_cancel), and leave no thread running their "
              "code after destroy", vt_test_async, true},
    {"stray-threads", "no thread the plugin started is still running after destroy (and a grace period)", vt_test_stray_threads, true},
    {"late-calls", "no call into the host table after destroy", vt_test_late_calls, true},
};

#define TEST_COUNT (sizeof tests / sizeof *tests)

size_t ph_validation_test_count(void) { return TEST_COUNT; }

const char *ph_validation_test_name(size_t index) { return index < TEST_COUNT ? tests[index].name : NULL; }

const char *ph_validation_test_summary(size_t index) { return index < TEST_COUNT ? tests[index].summary : NULL; }

/* ---- progress ---- */

static atomic_int progress_fd = -1;

void vt_progress(const char *kind, const char *text) {
    int fd = atomic_load(&progress_fd);
    if (fd < 0) return;
    char line[1400];
    int length = snprintf(line, sizeof line, "validate: %s: %s", kind, text);
    if (length < 0) return;
    if ((size_t)length >= sizeof line - 1) length = (int)sizeof line - 2;
    for (int i = 0; i < length; i++) {
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    }
    line[length++] = '\n';
    ssize_t written = write(fd, line, (size_t)length);   /* one write: lines of threads do not mix */
    (void)written;
}

void vt_step(vt_run_t *run, const char *format, ...) {
    char text[VT_TEXT];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    if (run->reason != NULL && run->capacity > 0) snprintf(run->reason, run->capacity, "%s", text);
    vt_progress("step", text);
}

/* ---- outcome ---- */

static pthread_mutex_t outcome_lock = PTHREAD_MUTEX_INITIALIZER;

void vt_fail(vt_run_t *run, const char *format, ...) {
    char text[VT_TEXT];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    pthread_mutex_lock(&outcome_lock);
    if (run->outcome != PH_VALIDATION_FAIL) {
        run->outcome = PH_VALIDATION_FAIL;
        snprintf(run->result, sizeof run->result, "%s", text);
    }
    run->failures++;
    pthread_mutex_unlock(&outcome_lock);
    vt_progress("fail", text);
}

void vt_skip(vt_run_t *run, const char *format, ...) {
    pthread_mutex_lock(&outcome_lock);
    if (run->outcome == PH_VALIDATION_PASS) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(run->result, sizeof run->result, format, arguments);
        va_end(arguments);
        run->outcome = PH_VALIDATION_SKIP;
    }
    pthread_mutex_unlock(&outcome_lock);
}

void vt_note(vt_run_t *run, const char *format, ...) {
    pthread_mutex_lock(&outcome_lock);
    if (run->outcome == PH_VALIDATION_PASS) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(run->result, sizeof run->result, format, arguments);
        va_end(arguments);
    }
    pthread_mutex_unlock(&outcome_lock);
}

bool vt_failed(const vt_run_t *run) {
    pthread_mutex_lock(&outcome_lock);
    bool failed = run->outcome == PH_VALIDATION_FAIL;
    pthread_mutex_unlock(&outcome_lock);
    return failed;
}

bool vt_decided(const vt_run_t *run) {
    pthread_mutex_lock(&outcome_lock);
    bool decided = run->outcome != PH_VALIDATION_PASS;
    pthread_mutex_unlock(&outcome_lock);
    return decided;
}

/* ---- misuses no instance owns ---- */

static pthread_mutex_t misuse_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned misuse_count;
static char misuse_first[VT_TEXT];

void vt_misuse(const char *format, ...) {
    char text[VT_TEXT];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(text, sizeof text, format, arguments);
    va_end(arguments);
    pthread_mutex_lock(&misuse_lock);
    unsigned count = misuse_count++;
    if (count == 0) snprintf(misuse_first, sizeof misuse_first, "%s", text);
    pthread_mutex_unlock(&misuse_lock);
    if (count < 8) vt_progress("misuse", text);
}

const char *vt_status_name(ph_status_t status) {
    static const char *const names[] = {"PH_OK", "PH_ERR_INVALID", "PH_ERR_FAILED", "PH_ERR_NOT_FOUND", "PH_ERR_TYPE",
                                        "PH_ERR_STATE", "PH_ERR_UNSUPPORTED", "PH_ERR_TOO_SMALL", "PH_PENDING",
                                        "PH_ERR_CANCELLED"};
    return status >= 0 && (size_t)status < sizeof names / sizeof *names ? names[status] : "not a PH_* status";
}

/* ---- a run ---- */

/* The alias: PH_VALIDATION_ALIAS, or the file name without "lib" and ".so", as [A-Za-z0-9_-]. */
static void make_alias(const char *library, char *alias, size_t capacity) {
    const char *given = getenv("PH_VALIDATION_ALIAS");
    const char *base = strrchr(library, '/');
    base = base != NULL ? base + 1 : library;
    if (strncmp(base, "lib", 3) == 0 && base[3] != 0) base += 3;
    size_t length = given != NULL && given[0] != 0 ? strlen(given) : strcspn(base, ".");
    const char *from = given != NULL && given[0] != 0 ? given : base;
    size_t used = 0;
    for (size_t i = 0; i < length && used + 1 < capacity; i++) {
        char c = from[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-';
        alias[used++] = ok ? c : '-';
    }
    alias[used] = 0;
    if (used == 0) snprintf(alias, capacity, "plugin");
}

static ph_validation_outcome_t finish(vt_run_t *run) {
    pthread_mutex_lock(&misuse_lock);
    if (misuse_count > 0) {
        char text[VT_TEXT];
        snprintf(text, sizeof text, "%.990s%s", misuse_first, misuse_count > 1 ? " (and more such calls)" : "");
        pthread_mutex_unlock(&misuse_lock);
        vt_fail(run, "%s", text);
    } else {
        pthread_mutex_unlock(&misuse_lock);
    }
    if (run->reason != NULL && run->capacity > 0) {
        if (run->outcome == PH_VALIDATION_FAIL && run->failures > 1) {
            snprintf(run->reason, run->capacity, "%s (and %u more problem%s)", run->result, run->failures - 1,
                     run->failures > 2 ? "s" : "");
        } else {
            snprintf(run->reason, run->capacity, "%s", run->result);
        }
    }
    return run->outcome;
}

ph_validation_outcome_t ph_validation_run(const char *name, const char *library, const char *symbol, char *reason, size_t capacity) {
    vt_run_t run;
    memset(&run, 0, sizeof run);
    run.library = library;
    run.symbol = symbol;
    run.reason = reason;
    run.capacity = capacity;
    run.outcome = PH_VALIDATION_PASS;
    if (reason != NULL && capacity > 0) reason[0] = 0;
    const char *fd = getenv("PH_VALIDATION_PROGRESS_FD");
    atomic_store(&progress_fd, fd != NULL && fd[0] >= '0' && fd[0] <= '9' ? atoi(fd) : -1);
    pthread_mutex_lock(&misuse_lock);
    misuse_count = 0;
    misuse_first[0] = 0;
    pthread_mutex_unlock(&misuse_lock);

    const vt_test_t *test = NULL;
    for (size_t i = 0; i < TEST_COUNT && name != NULL; i++) {
        if (strcmp(tests[i].name, name) == 0) test = &tests[i];
    }
    if (test == NULL) {
        vt_fail(&run, "no test named '%s'", name != NULL ? name : "(NULL)");
        return finish(&run);
    }
    if (library == NULL || symbol == NULL) {
        vt_fail(&run, "no library or entry symbol given");
        return finish(&run);
    }
    make_alias(library, run.alias, sizeof run.alias);

    vt_step(&run, "dlopen %s", library);
    void *image = dlopen(library, RTLD_NOW | RTLD_LOCAL);   /* never dlclose'd */
    if (image == NULL) {
        const char *error = dlerror();
        vt_fail(&run, "cannot load the library: %s", error != NULL ? error : "dlopen failed");
        return finish(&run);
    }
    dlerror();
    void *address = dlsym(image, symbol);
    if (address == NULL) {
        vt_fail(&run, "library exports no symbol '%s' (is it a plugin, and is the entry PH_EXPORT?)", symbol);
        return finish(&run);
    }
    memcpy(&run.entry, &address, sizeof run.entry);   /* POSIX: a data pointer from dlsym is the function */

    if (test->needs_descriptor) {
        vt_step(&run, "entry(%u, %u)", PH_ABI_MAJOR, PH_ABI_MINOR);
        run.plugin = run.entry(PH_ABI_MAJOR, PH_ABI_MINOR);
        char why[VT_TEXT];
        if (!vt_descriptor_usable(run.plugin, why, sizeof why)) {
            vt_skip(&run, "the host cannot use this descriptor: %s (see the descriptor test)", why);
            return finish(&run);
        }
    }
    test->run(&run);
    return finish(&run);
}
