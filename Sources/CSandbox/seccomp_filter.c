/* The plugin process's seccomp filter: a classic BPF allow-list.
 *
 * Program:
 *   arch != this architecture       -> kill the process
 *   argument-checked syscalls        -> their own small checks (ph_emit_checked)
 *   syscalls in ph_refused           -> fail with an errno (no death)
 *   syscalls in ph_allowed           -> allow
 *   anything else                    -> SECCOMP_RET_TRAP: SIGSYS, whose handler
 *                                       (sandbox.c) reports the syscall and dies
 *                                       (x32 numbers, nr | 0x40000000, included)
 * Each allowed syscall is one "jeq nr; ret allow" pair, so no jump exceeds
 * classic BPF's 8-bit offsets; the kernel's seccomp action cache (Linux 5.11+)
 * remembers every syscall whose result does not depend on its arguments, so
 * the length of the list costs nothing per call.
 *
 * HOW TO ALLOW MORE: when a plugin dies with "SIGSYS syscall NR NAME" (the
 * journal), or `strace -f -c` of the plugin process shows a syscall missing
 * here, add PH_ALLOW(NAME) to the group it belongs to below (inside the
 * x86_64 block if aarch64 has no such syscall). Landlock, not this list,
 * decides which files a plugin may open: file syscalls are allowed freely.
 * Left out on purpose (they trap): execve/execveat, fork/vfork, ptrace,
 * process_vm_readv/writev, kexec_*, mount/umount2/pivot_root/chroot,
 * bpf, perf_event_open, setns, unshare, keyctl/add_key/request_key,
 * io_uring_* (its requests bypass seccomp), userfaultfd, init/delete_module,
 * reboot, swapon/off, set*uid/set*gid, chown family, mknod, acct, quotactl,
 * name_to_handle_at/open_by_handle_at, pidfd_*, kcmp, seccomp itself. */
#define _GNU_SOURCE
#include "sandbox_internal.h"

#if PH_SECCOMP_SUPPORTED

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define PH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* For kernel headers older than 5.16; same number everywhere. */
#ifndef __NR_futex_waitv
#define __NR_futex_waitv 449
#endif

#define PH_ALLOW(name) __NR_##name

/* Allowed whatever their arguments. One comment per group. */
static const int ph_allowed[] = {
    /* Descriptors: I/O on what the process already has open (its inherited
     * Unix socket to the worker, files Landlock let it open, pipes). */
    PH_ALLOW(read), PH_ALLOW(write), PH_ALLOW(readv), PH_ALLOW(writev), PH_ALLOW(pread64), PH_ALLOW(pwrite64),
    PH_ALLOW(preadv), PH_ALLOW(pwritev), PH_ALLOW(preadv2), PH_ALLOW(pwritev2), PH_ALLOW(lseek), PH_ALLOW(close),
    PH_ALLOW(close_range), PH_ALLOW(dup), PH_ALLOW(dup3), PH_ALLOW(fcntl), PH_ALLOW(fsync), PH_ALLOW(fdatasync),
    PH_ALLOW(ftruncate), PH_ALLOW(fallocate), PH_ALLOW(flock), PH_ALLOW(fadvise64), PH_ALLOW(sendfile),
    PH_ALLOW(copy_file_range),

    /* Paths: open, stat, list, create, rename, remove. Landlock decides which
     * paths (read_paths, write_path); stat/access/readlink are not confined by
     * Landlock, so the plugin can see that a path exists, not read it. */
    PH_ALLOW(openat), PH_ALLOW(openat2), PH_ALLOW(newfstatat), PH_ALLOW(fstat), PH_ALLOW(statx),
    PH_ALLOW(faccessat), PH_ALLOW(faccessat2), PH_ALLOW(readlinkat), PH_ALLOW(getdents64), PH_ALLOW(getcwd),
    PH_ALLOW(chdir), PH_ALLOW(fchdir), PH_ALLOW(statfs), PH_ALLOW(fstatfs), PH_ALLOW(mkdirat), PH_ALLOW(unlinkat),
    PH_ALLOW(renameat), PH_ALLOW(renameat2), PH_ALLOW(truncate), PH_ALLOW(fchmod), PH_ALLOW(fchmodat),
    PH_ALLOW(utimensat), PH_ALLOW(symlinkat), PH_ALLOW(linkat), PH_ALLOW(umask),

    /* Memory: malloc, dlopen (mmap/mprotect of the plugin's code), the Swift
     * runtime's allocations; memfd_create for anonymous shared memory. */
    PH_ALLOW(brk), PH_ALLOW(mmap), PH_ALLOW(munmap), PH_ALLOW(mprotect), PH_ALLOW(mremap), PH_ALLOW(madvise),
    PH_ALLOW(msync), PH_ALLOW(mincore), PH_ALLOW(membarrier), PH_ALLOW(memfd_create),

    /* Threads and their synchronisation (pthreads, libdispatch, Swift
     * concurrency). New threads: clone is argument-checked (ph_emit_checked). */
    PH_ALLOW(futex), PH_ALLOW(futex_waitv), PH_ALLOW(set_robust_list), PH_ALLOW(get_robust_list),
    PH_ALLOW(set_tid_address), PH_ALLOW(rseq), PH_ALLOW(gettid), PH_ALLOW(exit), PH_ALLOW(exit_group),
    PH_ALLOW(sched_yield), PH_ALLOW(sched_getaffinity), PH_ALLOW(sched_setaffinity), PH_ALLOW(sched_getparam),
    PH_ALLOW(sched_getscheduler), PH_ALLOW(sched_get_priority_max), PH_ALLOW(sched_get_priority_min),
    PH_ALLOW(getpriority), PH_ALLOW(prctl),

    /* Signals on itself: handlers, masks, alternate stacks (the Swift
     * runtime's crash handler), waiting. kill/tgkill/rt_sigaction are
     * argument-checked. */
    PH_ALLOW(rt_sigprocmask), PH_ALLOW(rt_sigreturn), PH_ALLOW(rt_sigpending), PH_ALLOW(rt_sigsuspend),
    PH_ALLOW(rt_sigtimedwait), PH_ALLOW(sigaltstack), PH_ALLOW(restart_syscall),

    /* Time, sleeping and timers. */
    PH_ALLOW(clock_gettime), PH_ALLOW(clock_getres), PH_ALLOW(gettimeofday), PH_ALLOW(nanosleep),
    PH_ALLOW(clock_nanosleep), PH_ALLOW(timerfd_create), PH_ALLOW(timerfd_settime), PH_ALLOW(timerfd_gettime),
    PH_ALLOW(getitimer), PH_ALLOW(setitimer), PH_ALLOW(timer_create), PH_ALLOW(timer_settime),
    PH_ALLOW(timer_gettime), PH_ALLOW(timer_getoverrun), PH_ALLOW(timer_delete), PH_ALLOW(times),
    PH_ALLOW(getrusage),

    /* Waiting for events: poll/epoll (libdispatch's event loop), eventfd, pipes. */
    PH_ALLOW(ppoll), PH_ALLOW(pselect6), PH_ALLOW(epoll_create1), PH_ALLOW(epoll_ctl), PH_ALLOW(epoll_pwait),
    PH_ALLOW(epoll_pwait2), PH_ALLOW(eventfd2), PH_ALLOW(pipe2),

    /* Sockets the process already has (the Unix socket to its worker, with
     * descriptors passed by SCM_RIGHTS) and new Unix socket pairs. socket()
     * is argument-checked; connect/bind/listen/accept fail (ph_refused). */
    PH_ALLOW(socketpair), PH_ALLOW(sendmsg), PH_ALLOW(recvmsg), PH_ALLOW(sendmmsg), PH_ALLOW(recvmmsg),
    PH_ALLOW(sendto), PH_ALLOW(recvfrom), PH_ALLOW(shutdown), PH_ALLOW(getsockopt), PH_ALLOW(setsockopt),
    PH_ALLOW(getsockname), PH_ALLOW(getpeername),

    /* Who and where am I: ids, system information, randomness, own limits. */
    PH_ALLOW(getpid), PH_ALLOW(getppid), PH_ALLOW(getuid), PH_ALLOW(geteuid), PH_ALLOW(getgid),
    PH_ALLOW(getegid), PH_ALLOW(getresuid), PH_ALLOW(getresgid), PH_ALLOW(getgroups), PH_ALLOW(getpgid),
    PH_ALLOW(getsid), PH_ALLOW(uname), PH_ALLOW(sysinfo), PH_ALLOW(getrandom), PH_ALLOW(getcpu),
    PH_ALLOW(getrlimit), PH_ALLOW(setrlimit),

    /* Children: it cannot make any (clone without CLONE_THREAD fails), so
     * waiting is harmless; libraries call it. */
    PH_ALLOW(wait4), PH_ALLOW(waitid),

#if defined(__x86_64__)
    /* x86_64's older syscalls that glibc or older libraries still call
     * (aarch64 has only the *at / *2 / p* forms above). */
    PH_ALLOW(open), PH_ALLOW(stat), PH_ALLOW(lstat), PH_ALLOW(access), PH_ALLOW(readlink), PH_ALLOW(mkdir),
    PH_ALLOW(rmdir), PH_ALLOW(unlink), PH_ALLOW(rename), PH_ALLOW(poll), PH_ALLOW(select), PH_ALLOW(epoll_create),
    PH_ALLOW(epoll_wait), PH_ALLOW(eventfd), PH_ALLOW(pipe), PH_ALLOW(dup2), PH_ALLOW(time), PH_ALLOW(alarm),
    PH_ALLOW(getpgrp), PH_ALLOW(arch_prctl),
#endif
};

/* Always fail with an errno instead of trapping: the caller gets an error
 * it can handle. */
static const struct {
    int number;
    int error;
} ph_refused[] = {
    /* No network: a plugin's connect/bind/listen/accept get EACCES. */
    {__NR_connect, EACCES},
    {__NR_bind, EACCES},
    {__NR_listen, EACCES},
    {__NR_accept, EACCES},
    {__NR_accept4, EACCES},
    /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
     * glibc fall back to clone, whose flags are checked. */
    {__NR_clone3, ENOSYS},
};

/* Argument-checked syscalls (their code is in ph_emit_checked):
 *   socket       AF_UNIX stream/seqpacket only; any other domain, and Unix
 *                datagram sockets (which could sendto any socket path), EACCES
 *   clone        threads only (CLONE_THREAD, no CLONE_NEW*): else EPERM, so no
 *                new processes (fork, posix_spawn fail with EPERM)
 *   kill         own pid or 0 (own group), else EPERM
 *   tgkill       own pid as the thread group, else EPERM
 *   prlimit64    own pid or 0, else EPERM (could lower another process's limits)
 *   setpriority  who = 0 or own pid, else EPERM
 *   rt_sigaction not SIGSYS with a new action (keeps the report handler), EPERM
 *   ioctl        all but TIOCSTI and TIOCLINUX (typing into a terminal), EPERM */

#define PH_ERRNO(e) (SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define PH_LOAD(offset) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (offset))
#define PH_RET(value) BPF_STMT(BPF_RET | BPF_K, (value))
#define PH_JEQ(value, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), (t), (f))
#define PH_JSET(value, t, f) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (value), (t), (f))

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PH_ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define PH_ARG_HIGH(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#else
#define PH_ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define PH_ARG_HIGH(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#endif

#define PH_CLONE_NAMESPACES \
    (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

typedef struct ph_program {
    struct sock_filter *code;
    size_t length;
    size_t capacity;
    int blocks; /* argument-checked syscalls emitted */
} ph_program_t;

static void ph_emit(ph_program_t *program, const struct sock_filter *code, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (program->length == program->capacity) abort(); /* the capacity below is an upper bound */
        program->code[program->length++] = code[i];
    }
}

/* "if nr == number: block" where block ends in a return on every path. */
static void ph_emit_block(ph_program_t *program, int number, const struct sock_filter *block, size_t count) {
    struct sock_filter test = PH_JEQ((unsigned)number, 0, (unsigned char)count);
    ph_emit(program, &test, 1);
    ph_emit(program, block, count);
    program->blocks++;
}

#define PH_BLOCK(program, number, ...)                                                      \
    do {                                                                                    \
        const struct sock_filter block_[] = {__VA_ARGS__};                                  \
        ph_emit_block((program), (number), block_, sizeof block_ / sizeof block_[0]);       \
    } while (0)

static void ph_emit_checked(ph_program_t *p, unsigned pid) {
    const unsigned allow = SECCOMP_RET_ALLOW;
    /* socket(domain, type, protocol) */
    PH_BLOCK(p, __NR_socket,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JEQ(AF_UNIX, 0, 3),
             PH_LOAD(PH_ARG_LOW(1)),
             BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf), /* the type without SOCK_NONBLOCK/CLOEXEC */
             PH_JEQ(SOCK_DGRAM, 0, 1),
             PH_RET(PH_ERRNO(EACCES)),
             PH_RET(allow));
    /* clone(flags, ...): flags are the first argument on x86_64 and aarch64 */
    PH_BLOCK(p, __NR_clone,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JSET(CLONE_THREAD, 0, 1),
             PH_JSET(PH_CLONE_NAMESPACES, 0, 1),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* kill(pid, signal) */
    PH_BLOCK(p, __NR_kill,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JEQ(pid, 2, 0),
             PH_JEQ(0, 1, 0),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* tgkill(tgid, tid, signal) */
    PH_BLOCK(p, __NR_tgkill,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JEQ(pid, 1, 0),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* prlimit64(pid, resource, new, old) */
    PH_BLOCK(p, __NR_prlimit64,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JEQ(pid, 2, 0),
             PH_JEQ(0, 1, 0),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* setpriority(which, who, priority) */
    PH_BLOCK(p, __NR_setpriority,
             PH_LOAD(PH_ARG_LOW(1)),
             PH_JEQ(pid, 2, 0),
             PH_JEQ(0, 1, 0),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* rt_sigaction(signal, new, old, size): SIGSYS may be read, not replaced */
    PH_BLOCK(p, __NR_rt_sigaction,
             PH_LOAD(PH_ARG_LOW(0)),
             PH_JEQ(SIGSYS, 0, 5),
             PH_LOAD(PH_ARG_LOW(1)),
             PH_JEQ(0, 0, 2),
             PH_LOAD(PH_ARG_HIGH(1)),
             PH_JEQ(0, 1, 0),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
    /* ioctl(fd, request, ...) */
    PH_BLOCK(p, __NR_ioctl,
             PH_LOAD(PH_ARG_LOW(1)),
             PH_JEQ(TIOCSTI, 1, 0),
             PH_JEQ(TIOCLINUX, 0, 1),
             PH_RET(PH_ERRNO(EPERM)),
             PH_RET(allow));
}

int ph_seccomp_install(int pid, ph_seccomp_counts_t *counts, const char **what) {
    const size_t allowed = sizeof ph_allowed / sizeof ph_allowed[0];
    const size_t refused = sizeof ph_refused / sizeof ph_refused[0];
    /* 4 (arch, nr) + 8 checked blocks (< 12 each) + 2 per refused/allowed + 1 */
    size_t capacity = 4 + 8 * 12 + 2 * (allowed + refused) + 1;
    ph_program_t program = {.code = calloc(capacity, sizeof(struct sock_filter)), .capacity = capacity};
    if (program.code == NULL) {
        *what = "seccomp: filter memory";
        return -1;
    }
    const struct sock_filter head[] = {
        PH_LOAD(offsetof(struct seccomp_data, arch)),
        PH_JEQ(PH_AUDIT_ARCH, 1, 0),
        PH_RET(SECCOMP_RET_KILL_PROCESS),
        PH_LOAD(offsetof(struct seccomp_data, nr)),
    };
    ph_emit(&program, head, sizeof head / sizeof head[0]);
    ph_emit_checked(&program, (unsigned)pid);
    for (size_t i = 0; i < refused; i++) {
        const struct sock_filter pair[] = {
            PH_JEQ((unsigned)ph_refused[i].number, 0, 1),
            PH_RET(PH_ERRNO(ph_refused[i].error)),
        };
        ph_emit(&program, pair, 2);
    }
    for (size_t i = 0; i < allowed; i++) {
        const struct sock_filter pair[] = {
            PH_JEQ((unsigned)ph_allowed[i], 0, 1),
            PH_RET(SECCOMP_RET_ALLOW),
        };
        ph_emit(&program, pair, 2);
    }
    const struct sock_filter tail = PH_RET(SECCOMP_RET_TRAP);
    ph_emit(&program, &tail, 1);

    struct sock_fprog filter = {.len = (unsigned short)program.length, .filter = program.code};
    /* TSYNC: every thread gets the filter (apply is meant to run single-threaded anyway). */
    long result = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &filter);
    if (result != 0 && errno == ENOSYS) result = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0);
    int saved = errno;
    free(program.code);
    if (result != 0) {
        *what = result > 0 ? "seccomp: another thread could not be synchronised" : "seccomp: install filter";
        errno = result > 0 ? EAGAIN : saved;
        return -1;
    }
    counts->allowed = (int)allowed;
    counts->checked = program.blocks;
    counts->refused = (int)refused;
    return 0;
}

#else /* no allow-list for this architecture */

#include <errno.h>

int ph_seccomp_install(int pid, ph_seccomp_counts_t *counts, const char **what) {
    (void)pid;
    (void)counts;
    *what = "seccomp: no allow-list for this architecture (only x86_64 and aarch64); everything else was applied";
    errno = ENOSYS;
    return -1;
}

#endif
