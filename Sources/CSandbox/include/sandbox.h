/* The plugin process's sandbox: what an isolated plugin's process applies to
 * itself before it dlopens the plugin. Plain C (glibc + kernel headers), no
 * libseccomp: the seccomp filter is a classic BPF program built here.
 *
 * Layers, applied by ph_sandbox_apply in this order:
 *   1. rlimits: RLIMIT_CORE 0 always; RLIMIT_DATA = memory_bytes and
 *      RLIMIT_NOFILE = open_files when given (soft = hard, so an unprivileged
 *      plugin cannot raise them); glibc's malloc arenas capped at 2 (mallopt
 *      M_ARENA_MAX) when memory_bytes is given.
 *   2. its own process group (setpgid(0, 0)), so the worker can signal the
 *      plugin process and anything left of it as one group.
 *   strict only:
 *   3. PR_SET_NO_NEW_PRIVS.
 *   4. Landlock, best effort by the ABI the kernel offers: file paths (read_paths
 *      read-only, write_path read-write, nothing else), TCP bind/connect denied
 *      (ABI >= 4), abstract Unix sockets and signals confined to the process
 *      (ABI >= 6). No Landlock (ABI 0) is not an error: the summary says so.
 *   5. a SIGSYS handler that reports a forbidden syscall (see report_fd).
 *   6. the seccomp filter, last: an allow-list of syscalls (table in
 *      seccomp_filter.c, one comment per group). Anything else traps: the
 *      process writes "SIGSYS syscall NR NAME\n" to report_fd and dies by
 *      SIGSYS (the parent sees WIFSIGNALED and WTERMSIG == SIGSYS).
 *      To allow a syscall a plugin needs, read that line (or run the plugin
 *      process under `strace -f -c`) and add the syscall to the table.
 *
 * Memory limit, measured by Tests/CHelpers/sandbox_check.c (x86_64, Linux 6.18,
 * glibc 2.36, a Swift 6.3 plugin using Foundation, Dispatch and a Task, then
 * 16 threads each holding 1 MiB of malloc arena memory):
 *                           Swift plugin loaded      + 16 threads
 *     VmData (RLIMIT_DATA)  28 MiB                   172 MiB
 *     VmSize (RLIMIT_AS)    220-350 MiB              ~1180 MiB
 *   RLIMIT_DATA is the right limit; RLIMIT_AS is not. RLIMIT_AS counts
 *   reserved address space: the Swift runtime, Foundation and ICU map ~130 MiB
 *   of code, each glibc malloc arena reserves 64 MiB (PROT_NONE), each thread
 *   stack 8 MiB. Under RLIMIT_AS 256 MiB the plugin loads but only 4-12 of the
 *   16 threads start; 1 GiB starts them only because glibc falls back when an
 *   arena cannot be reserved. RLIMIT_DATA (Linux >= 4.7) counts private
 *   writable mappings only (brk, anonymous mmap, the committed part of each
 *   arena, libraries' .data/.bss, thread stacks): malloc(128 MiB) fails under
 *   64 MiB while 1 MiB still works, and RLIMIT_DATA 256 MiB runs the plugin
 *   and the 16 threads.
 *   What RLIMIT_DATA does count in full is every thread stack (8 MiB by
 *   default, from RLIMIT_STACK), touched or not: under RLIMIT_DATA 64 MiB the
 *   Swift plugin loads but only 4 more threads start. So size memory_bytes as
 *   the plugin's heap + ~30 MiB (Swift runtime) + 8 MiB per thread
 *   (libdispatch runs up to 2 x cores workers, more when they block). Near the
 *   limit a new thread may also abort the process (glibc: "cannot allocate
 *   memory for thread-local data", when dlopened libraries use TLS) instead
 *   of pthread_create failing with EAGAIN.
 *   mallopt(M_ARENA_MAX, 2) shrank VmSize from ~1180 to ~290 MiB and left
 *   VmData unchanged in that measurement; apply sets it anyway when
 *   memory_bytes is given, to bound the freed memory that many per-thread
 *   arenas keep committed over time.
 *
 * Run plugin processes as an unprivileged user: measured as root, Landlock
 * did not stop reading other root processes' /proc/<pid>/environ and maps
 * (as nobody it did: EACCES); and root can raise its own hard rlimits.
 *
 * Call ph_sandbox_apply single-threaded: landlock_restrict_self confines
 * only the calling thread, so a strict apply refuses (EBUSY) when
 * /proc/self/status shows more than one thread. */
#ifndef PLUGHOST_SANDBOX_H
#define PLUGHOST_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What to apply; zero-initialise, then set what you need (report_fd too:
 * 0 is standard input, not "none"). */
typedef struct ph_sandbox_options {
    /* 1: no_new_privs + Landlock + seccomp allow-list (+ the rlimits and process
     * group); 0: only the rlimits and the process group. */
    int strict;
    /* RLIMIT_DATA, soft and hard, in bytes (see "Memory limit" above);
     * 0 leaves the limit as inherited. */
    uint64_t memory_bytes;
    /* RLIMIT_NOFILE, soft and hard: the highest descriptor number + 1 the
     * process may open; 0 leaves it as inherited. */
    uint64_t open_files;
    /* Landlock (strict): files or folders the plugin may read, list and map
     * executable (read-file, read-dir, execute), everything beneath a folder
     * included. A path that does not exist is skipped (the summary counts it).
     * The sandbox adds, for the runtimes a plugin brings: /proc (libdispatch
     * kills the process with SIGILL when it cannot open /proc/<tid>/stat,
     * checked; for an unprivileged plugin process, Landlock still closes other
     * processes' mem, environ and maps, which need ptrace-class access),
     * /sys/devices/system/cpu (CPU counts), /dev/null (read + write),
     * /dev/urandom and /dev/random (read). */
    const char *const *read_paths;
    /* How many entries read_paths has. */
    size_t read_path_count;
    /* Landlock (strict): the one folder the plugin may create, write, rename
     * and delete files and folders in (all file rights); NULL: none. It must
     * exist. */
    const char *write_path;
    /* Where the SIGSYS handler writes its one line "SIGSYS syscall NR NAME\n"
     * (e.g. a pipe or socket to the worker); -1: standard error. Must stay
     * open for the life of the process. */
    int report_fd;
} ph_sandbox_options_t;

/* Applies everything, in the order above, to the calling process: call it
 * once, single-threaded, before dlopen of the plugin. Returns 0, or -1 with
 * errno set and a one-line reason in `error` (capacity bytes, NUL-terminated;
 * error may be NULL) naming what failed and the errno text. On an
 * architecture without an allow-list (neither x86_64 nor aarch64), strict
 * applies everything but seccomp and then returns -1 with ENOSYS and says so. */
int ph_sandbox_apply(const ph_sandbox_options_t *options, char *error, size_t capacity);

/* The Landlock ABI version the running kernel offers; 0 when Landlock is not
 * built in or not enabled. */
int ph_sandbox_landlock_abi(void);

/* The name of syscall `number` on this architecture, "unknown" when it is not
 * in the table (generated from the kernel headers by
 * generate_syscall_names.sh). Async-signal-safe. */
const char *ph_syscall_name(long number);

/* What ph_sandbox_apply actually applied, as one human line for the journal
 * and status, e.g. "seccomp allow-list (160 syscalls + 8 argument-checked + 6
 * refused), landlock ABI 7 (fs + tcp + scope; 6 read paths + 5 built in,
 * 1 write path), rlimits data=256MiB nofile=256 core=0, own process group".
 * Valid after a successful apply (after a failed one it says how far it got). */
const char *ph_sandbox_summary(void);

#ifdef __cplusplus
}
#endif

#endif
