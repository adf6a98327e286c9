/* Shared by the CSandbox sources; not part of the public API. */
#ifndef PLUGHOST_SANDBOX_INTERNAL_H
#define PLUGHOST_SANDBOX_INTERNAL_H

#include <stddef.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define PH_SECCOMP_SUPPORTED 1
#else
#define PH_SECCOMP_SUPPORTED 0
#endif

/* Counts of the seccomp table, for the summary. */
typedef struct ph_seccomp_counts {
    int allowed;  /* syscalls allowed whatever their arguments */
    int checked;  /* syscalls whose arguments decide (allow, errno or deny) */
    int refused;  /* syscalls that always fail with an errno instead of trapping */
} ph_seccomp_counts_t;

/* Installs the seccomp filter (after no_new_privs). `pid` is the process's
 * own id, which kill/tgkill/prlimit64/setpriority must name. Returns 0, or -1
 * with errno set and `what` naming the failed step. */
int ph_seccomp_install(int pid, ph_seccomp_counts_t *counts, const char **what);

/* What Landlock applied, for the summary. */
typedef struct ph_landlock_result {
    int abi;            /* ABI used; 0: none */
    int net;            /* TCP bind/connect handled */
    int scoped;         /* abstract Unix sockets + signals scoped */
    int read_paths;     /* read rules added for the given read paths */
    int missing_paths;  /* given read paths that did not exist (skipped) */
    int builtin_paths;  /* rules added for the sandbox's own read paths (/proc, ...) */
} ph_landlock_result_t;

/* Applies Landlock (after no_new_privs). Returns 0 (also when the kernel has
 * no Landlock: result->abi == 0), or -1 with errno set and `what` (a static
 * or `path_buffer` string) naming the step or path that failed. */
int ph_landlock_apply(const char *const *read_paths, size_t read_path_count, const char *write_path,
                      ph_landlock_result_t *result, const char **what);

#endif
