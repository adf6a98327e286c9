/* ph_sandbox_apply: rlimits, process group, no_new_privs, Landlock, the SIGSYS
 * reporter and the seccomp filter, in that order (see sandbox.h). */
#define _GNU_SOURCE
#include "sandbox.h"
#include "sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Where the SIGSYS handler writes; set before the handler is installed. */
static volatile int ph_report_fd = STDERR_FILENO;
static char ph_summary_text[512] = "no sandbox applied";

const char *ph_sandbox_summary(void) { return ph_summary_text; }

/* Appends to the NUL-terminated text in `buffer` (capacity bytes), truncating. */
__attribute__((format(printf, 3, 4))) static void ph_append(char *buffer, size_t capacity, const char *format,
                                                            ...) {
    size_t used = strnlen(buffer, capacity);
    if (used + 1 >= capacity) return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(buffer + used, capacity - used, format, arguments);
    va_end(arguments);
}

static int ph_fail(char *error, size_t capacity, const char *what, int code) {
    if (error != NULL && capacity > 0) snprintf(error, capacity, "%s: %s", what, strerror(code));
    errno = code;
    return -1;
}

/* --- the SIGSYS reporter (async-signal-safe: no stdio, no malloc) --- */

static size_t ph_append_text(char *line, size_t used, size_t capacity, const char *text) {
    while (*text != '\0' && used < capacity) line[used++] = *text++;
    return used;
}

static size_t ph_append_number(char *line, size_t used, size_t capacity, long number) {
    char digits[24];
    size_t count = 0;
    unsigned long magnitude = number < 0 ? 0UL - (unsigned long)number : (unsigned long)number;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (number < 0 && used < capacity) line[used++] = '-';
    while (count > 0 && used < capacity) line[used++] = digits[--count];
    return used;
}

static void ph_sigsys_handler(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    char line[128];
    size_t used = ph_append_text(line, 0, sizeof line - 1, "SIGSYS syscall ");
    long number = info != NULL ? (long)info->si_syscall : -1;
    used = ph_append_number(line, used, sizeof line - 1, number);
    used = ph_append_text(line, used, sizeof line - 1, " ");
    used = ph_append_text(line, used, sizeof line - 1, ph_syscall_name(number));
    line[used++] = '\n';
    int fd = ph_report_fd;
    for (size_t written = 0; written < used;) {
        ssize_t result = write(fd, line + written, used - written);
        if (result < 0 && errno == EINTR) continue;
        if (result <= 0) break;
        written += (size_t)result;
    }
    /* The action was installed with SA_RESETHAND, so it is SIG_DFL again (no
     * rt_sigaction needed, which the filter keeps for SIGSYS): unblock and
     * re-raise to die by SIGSYS. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal_number);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(signal_number);
    errno = saved; /* not reached */
}

static int ph_install_sigsys_reporter(int report_fd) {
    ph_report_fd = report_fd >= 0 ? report_fd : STDERR_FILENO;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = ph_sigsys_handler;
    action.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigfillset(&action.sa_mask);
    return sigaction(SIGSYS, &action, NULL);
}

/* --- rlimits --- */

static int ph_set_limit(int resource, uint64_t value) {
    struct rlimit limit = {.rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value};
    return setrlimit(resource, &limit);
}

/* Appends " label=N[GiB|MiB]" to `buffer`. */
static void ph_append_bytes(char *buffer, size_t capacity, const char *label, uint64_t bytes) {
    if (bytes >= (1ULL << 30) && bytes % (1ULL << 30) == 0)
        ph_append(buffer, capacity, " %s=%lluGiB", label, (unsigned long long)(bytes >> 30));
    else if (bytes >= (1ULL << 20) && bytes % (1ULL << 20) == 0)
        ph_append(buffer, capacity, " %s=%lluMiB", label, (unsigned long long)(bytes >> 20));
    else
        ph_append(buffer, capacity, " %s=%llu", label, (unsigned long long)bytes);
}

/* The number of threads of this process (from /proc/self/status), or 0 when unknown. */
static int ph_thread_count(void) {
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[4096];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return 0;
    text[length] = '\0';
    const char *line = strstr(text, "\nThreads:");
    return line != NULL ? atoi(line + strlen("\nThreads:")) : 0;
}

int ph_sandbox_apply(const ph_sandbox_options_t *options, char *error, size_t capacity) {
    if (error != NULL && capacity > 0) error[0] = '\0';
    snprintf(ph_summary_text, sizeof ph_summary_text, "no sandbox applied");
    if (options == NULL) return ph_fail(error, capacity, "sandbox: no options", EINVAL);

    if (options->strict) {
        int threads = ph_thread_count();
        if (threads > 1) {
            char what[96];
            snprintf(what, sizeof what, "sandbox: called with %d threads (Landlock confines only the caller)",
                     threads);
            return ph_fail(error, capacity, what, EBUSY);
        }
    }

    /* 1. rlimits */
    if (ph_set_limit(RLIMIT_CORE, 0) != 0) return ph_fail(error, capacity, "setrlimit RLIMIT_CORE 0", errno);
    if (options->memory_bytes != 0) {
        if (ph_set_limit(RLIMIT_DATA, options->memory_bytes) != 0)
            return ph_fail(error, capacity, "setrlimit RLIMIT_DATA", errno);
        /* At most 2 malloc arenas: less memory held per thread under the limit. */
        mallopt(M_ARENA_MAX, 2);
    }
    if (options->open_files != 0 && ph_set_limit(RLIMIT_NOFILE, options->open_files) != 0)
        return ph_fail(error, capacity, "setrlimit RLIMIT_NOFILE", errno);

    /* 2. own process group (EPERM: a session leader, which leads its group already) */
    if (setpgid(0, 0) != 0 && errno != EPERM) return ph_fail(error, capacity, "setpgid", errno);

    char limits[160] = "rlimits";
    if (options->memory_bytes != 0) ph_append_bytes(limits, sizeof limits, "data", options->memory_bytes);
    if (options->open_files != 0)
        ph_append(limits, sizeof limits, " nofile=%llu", (unsigned long long)options->open_files);
    ph_append(limits, sizeof limits, " core=0, own process group");
    if (!options->strict) {
        snprintf(ph_summary_text, sizeof ph_summary_text, "not strict (no seccomp, no landlock), %s", limits);
        return 0;
    }
    snprintf(ph_summary_text, sizeof ph_summary_text, "%s (strict: failed before no_new_privs)", limits);

    /* 3. no_new_privs: required for seccomp and Landlock without CAP_SYS_ADMIN */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return ph_fail(error, capacity, "prctl PR_SET_NO_NEW_PRIVS", errno);

    /* 4. Landlock */
    ph_landlock_result_t landlock;
    const char *what = NULL;
    if (ph_landlock_apply(options->read_paths, options->read_path_count, options->write_path, &landlock, &what) != 0)
        return ph_fail(error, capacity, what, errno);
    char landlock_text[160] = "";
    if (landlock.abi == 0) {
        ph_append(landlock_text, sizeof landlock_text, "no landlock (kernel has none)");
    } else {
        ph_append(landlock_text, sizeof landlock_text, "landlock ABI %d (fs%s%s; %d read paths", landlock.abi,
                  landlock.net ? " + tcp" : "", landlock.scoped ? " + scope" : "", landlock.read_paths);
        if (landlock.missing_paths)
            ph_append(landlock_text, sizeof landlock_text, " (%d missing)", landlock.missing_paths);
        ph_append(landlock_text, sizeof landlock_text, " + %d built in", landlock.builtin_paths);
        ph_append(landlock_text, sizeof landlock_text, options->write_path ? ", 1 write path)" : ", no write path)");
    }
    snprintf(ph_summary_text, sizeof ph_summary_text, "no seccomp yet, %s, %s", landlock_text, limits);

    /* 5. the SIGSYS reporter, before the filter (which then keeps it) */
    if (ph_install_sigsys_reporter(options->report_fd) != 0)
        return ph_fail(error, capacity, "sigaction SIGSYS", errno);

    /* 6. seccomp, last */
    ph_seccomp_counts_t counts = {0};
    if (ph_seccomp_install((int)getpid(), &counts, &what) != 0) {
        int code = errno;
        snprintf(ph_summary_text, sizeof ph_summary_text, "no seccomp, %s, %s", landlock_text, limits);
        return ph_fail(error, capacity, what, code);
    }
    snprintf(ph_summary_text, sizeof ph_summary_text,
             "seccomp allow-list (%d syscalls + %d argument-checked + %d refused), %s, %s", counts.allowed,
             counts.checked, counts.refused, landlock_text, limits);
    return 0;
}
