/* Checks Sources/CSandbox (the plugin process's sandbox) for real: every check
 * runs in a forked child that applies the sandbox to itself, and the parent
 * judges how the child ended and what it reported. Built and run by
 * sandbox_check.sh:
 *     sandbox_check PLUGIN_DIR STATE_DIR [SWIFT_LIB_DIR]
 * PLUGIN_DIR holds libplug.so (C, plug_entry() == 42), data.txt ("plugin data")
 * and, when Swift is installed, libswiftplug.so (x_entry() == 612). Prints one
 * PASS/FAIL/SKIP line per check and INFO lines with measurements; exits 1 when
 * anything failed. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024ULL * 1024ULL)

static const char *plugin_dir;
static const char *state_dir;
static const char *swift_lib_dir = "/opt/swift/usr/lib/swift";
static char swift_plugin[4096];
static int have_swift;
static int listen_port;
static int inet_fd = -1; /* an unconnected AF_INET socket the children inherit */
static int failures;

/* --- the child runner --- */

typedef struct outcome {
    int exited;       /* 1: exited, code in `code`; 0: killed by `signal` */
    int code;
    int signal;
    char report[512]; /* what the child wrote to its report pipe */
} outcome_t;

typedef int (*check_fn)(int report_fd);

/* Runs `check` in a child (with a 15 s alarm); returns how it ended. */
static outcome_t run_child(check_fn check) {
    outcome_t outcome = {0};
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        perror("pipe2");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        exit(2);
    }
    if (child == 0) {
        close(pipe_fds[0]);
        alarm(15);
        int code = check(pipe_fds[1]);
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    close(pipe_fds[1]);
    size_t used = 0;
    for (;;) {
        ssize_t count = read(pipe_fds[0], outcome.report + used, sizeof outcome.report - 1 - used);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) break;
        used += (size_t)count;
        if (used == sizeof outcome.report - 1) break;
    }
    outcome.report[used] = '\0';
    close(pipe_fds[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        outcome.exited = 1;
        outcome.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        outcome.signal = WTERMSIG(status);
    }
    return outcome;
}

static void verdict(const char *name, int passed, const char *format, ...) {
    char detail[512] = "";
    if (format != NULL) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(detail, sizeof detail, format, arguments);
        va_end(arguments);
    }
    printf("%s %s%s%s\n", passed ? "PASS" : "FAIL", name, detail[0] ? ": " : "", detail);
    if (!passed) failures++;
}

static void describe(const outcome_t *outcome, char *text, size_t capacity) {
    if (outcome->exited)
        snprintf(text, capacity, "exit %d", outcome->code);
    else
        snprintf(text, capacity, "killed by signal %d (%s)%s%s", outcome->signal, strsignal(outcome->signal),
                 outcome->report[0] ? ", report: " : "", outcome->report);
}

/* A check that passes when the child exits 0. */
static void expect_exit_zero(const char *name, check_fn check) {
    outcome_t outcome = run_child(check);
    char text[768];
    describe(&outcome, text, sizeof text);
    verdict(name, outcome.exited && outcome.code == 0, outcome.exited && outcome.code == 0 ? NULL : "%s", text);
}

/* In a child: reports a failed expectation on stderr. */
#define REQUIRE(condition, ...)                                       \
    do {                                                              \
        if (!(condition)) {                                           \
            fprintf(stderr, "    %s:%d: ", __func__, __LINE__);       \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
            return 1;                                                 \
        }                                                             \
    } while (0)

/* --- applying the sandbox in a child --- */

static int apply(int report_fd, int strict, uint64_t memory_bytes, uint64_t open_files) {
    const char *read_paths[] = {"/usr", "/lib", "/lib64", "/etc/ld.so.cache", swift_lib_dir, plugin_dir};
    ph_sandbox_options_t options = {
        .strict = strict,
        .memory_bytes = memory_bytes,
        .open_files = open_files,
        .read_paths = read_paths,
        .read_path_count = sizeof read_paths / sizeof read_paths[0],
        .write_path = state_dir,
        .report_fd = report_fd,
    };
    char error[256];
    if (ph_sandbox_apply(&options, error, sizeof error) != 0) {
        fprintf(stderr, "    ph_sandbox_apply: %s\n", error);
        return -1;
    }
    return 0;
}

#define APPLY_STRICT(report_fd) REQUIRE(apply((report_fd), 1, 0, 0) == 0, "apply failed")

/* --- 2. the strict sandbox: files, network, libraries, threads --- */

static int check_summary(int report_fd) {
    APPLY_STRICT(report_fd);
    printf("INFO summary: %s\n", ph_sandbox_summary());
    REQUIRE(strstr(ph_sandbox_summary(), "seccomp allow-list") != NULL, "summary: %s", ph_sandbox_summary());
    return 0;
}

static int check_tmp_write_denied(int report_fd) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/sandbox_check_%d", (int)getpid());
    APPLY_STRICT(report_fd);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    REQUIRE(fd < 0, "created %s", path);
    REQUIRE(errno == EACCES, "open %s: %s (want EACCES)", path, strerror(errno));
    return 0;
}

static int check_state_write(int report_fd) {
    APPLY_STRICT(report_fd);
    char path[4096], renamed[4096];
    snprintf(path, sizeof path, "%s/file.%d", state_dir, (int)getpid());
    snprintf(renamed, sizeof renamed, "%s/renamed.%d", state_dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
    REQUIRE(write(fd, "state", 5) == 5, "write: %s", strerror(errno));
    char back[8] = "";
    REQUIRE(pread(fd, back, 5, 0) == 5 && memcmp(back, "state", 5) == 0, "read back");
    REQUIRE(ftruncate(fd, 2) == 0, "ftruncate: %s", strerror(errno));
    close(fd);
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/folder.%d", state_dir, (int)getpid());
    REQUIRE(mkdir(folder, 0700) == 0, "mkdir: %s", strerror(errno));
    REQUIRE(rmdir(folder) == 0, "rmdir: %s", strerror(errno));
    REQUIRE(rename(path, renamed) == 0, "rename: %s", strerror(errno));
    REQUIRE(unlink(renamed) == 0, "unlink: %s", strerror(errno));
    return 0;
}

static int check_read_paths(int report_fd) {
    APPLY_STRICT(report_fd);
    char path[4096];
    snprintf(path, sizeof path, "%s/data.txt", plugin_dir);
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
    char text[32] = "";
    REQUIRE(read(fd, text, sizeof text - 1) > 0 && strncmp(text, "plugin data", 11) == 0, "content '%s'", text);
    close(fd);
    REQUIRE(write(open(path, O_RDONLY), "x", 1) < 0, "wrote to a read-only open");
    fd = open(path, O_WRONLY);
    REQUIRE(fd < 0 && errno == EACCES, "open %s for writing: %s (want EACCES)", path,
            fd < 0 ? strerror(errno) : "opened");
    fd = open("/etc/ld.so.cache", O_RDONLY);
    REQUIRE(fd >= 0, "open /etc/ld.so.cache: %s", strerror(errno));
    close(fd);
    fd = open("/etc/hostname", O_RDONLY);
    REQUIRE(fd < 0 && errno == EACCES, "open /etc/hostname (not a read path): %s (want EACCES)",
            fd < 0 ? strerror(errno) : "opened");
    fd = open("/dev/null", O_WRONLY);
    REQUIRE(fd >= 0 && write(fd, "x", 1) == 1, "write /dev/null: %s", strerror(errno));
    return 0;
}

static int check_network_denied(int report_fd) {
    APPLY_STRICT(report_fd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd < 0 && errno == EACCES, "socket(AF_INET): %s (want EACCES)", fd < 0 ? strerror(errno) : "created");
    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    REQUIRE(fd < 0 && errno == EACCES, "socket(AF_INET6): %s", fd < 0 ? strerror(errno) : "created");
    fd = socket(AF_NETLINK, SOCK_RAW, 0);
    REQUIRE(fd < 0 && errno == EACCES, "socket(AF_NETLINK): %s", fd < 0 ? strerror(errno) : "created");
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd < 0 && errno == EACCES, "socket(AF_UNIX, SOCK_DGRAM): %s", fd < 0 ? strerror(errno) : "created");
    /* the inherited AF_INET socket cannot reach the parent's listener */
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int result = connect(inet_fd, (struct sockaddr *)&address, sizeof address);
    REQUIRE(result < 0 && errno == EACCES, "connect 127.0.0.1:%d: %s (want EACCES)", listen_port,
            result < 0 ? strerror(errno) : "connected");
    result = bind(inet_fd, (struct sockaddr *)&address, sizeof address);
    REQUIRE(result < 0 && errno == EACCES, "bind: %s", result < 0 ? strerror(errno) : "bound");
    /* a Unix stream socket may be made, but not connected */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0, "socket(AF_UNIX, SOCK_STREAM): %s", strerror(errno));
    struct sockaddr_un unix_address = {.sun_family = AF_UNIX, .sun_path = "/tmp/.X11-unix/X0"};
    result = connect(fd, (struct sockaddr *)&unix_address, sizeof unix_address);
    REQUIRE(result < 0 && errno == EACCES, "connect(AF_UNIX): %s", result < 0 ? strerror(errno) : "connected");
    return 0;
}

static int check_socketpair(int report_fd) {
    APPLY_STRICT(report_fd);
    int pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0, "socketpair: %s", strerror(errno));
    /* pass a descriptor (a pipe's read end) with SCM_RIGHTS, as the worker does */
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0, "pipe: %s", strerror(errno));
    char byte = 'x';
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control};
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &pipe_fds[0], sizeof(int));
    REQUIRE(sendmsg(pair[0], &message, 0) == 1, "sendmsg: %s", strerror(errno));
    memset(&control, 0, sizeof control);
    byte = 0;
    struct msghdr received = {.msg_iov = &vector, .msg_iovlen = 1, .msg_control = &control,
                              .msg_controllen = sizeof control};
    REQUIRE(recvmsg(pair[1], &received, 0) == 1 && byte == 'x', "recvmsg: %s", strerror(errno));
    header = CMSG_FIRSTHDR(&received);
    REQUIRE(header != NULL && header->cmsg_type == SCM_RIGHTS, "no SCM_RIGHTS");
    int passed;
    memcpy(&passed, CMSG_DATA(header), sizeof(int));
    REQUIRE(write(pipe_fds[1], "ok", 2) == 2, "write pipe");
    char text[3] = "";
    REQUIRE(read(passed, text, 2) == 2 && strcmp(text, "ok") == 0, "read passed descriptor");
    return 0;
}

static int check_dlopen(int report_fd) {
    APPLY_STRICT(report_fd);
    char path[4096];
    snprintf(path, sizeof path, "%s/libplug.so", plugin_dir);
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    REQUIRE(library != NULL, "dlopen %s: %s", path, dlerror());
    int (*entry)(void) = (int (*)(void))dlsym(library, "plug_entry");
    REQUIRE(entry != NULL && entry() == 42, "plug_entry");
    void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    REQUIRE(libm != NULL, "dlopen libm.so.6: %s", dlerror());
    double (*cosine)(double) = (double (*)(double))dlsym(libm, "cos");
    REQUIRE(cosine != NULL && cosine(0.0) == 1.0, "cos(0)");
    return 0;
}

static void *thread_work(void *argument) {
    char *memory = malloc(256 * 1024);
    if (memory == NULL) return NULL;
    memset(memory, 1, 256 * 1024);
    free(memory);
    return argument;
}

static int check_threads_and_malloc(int report_fd) {
    APPLY_STRICT(report_fd);
    pthread_t threads[8];
    int tokens[8];
    for (int i = 0; i < 8; i++)
        REQUIRE(pthread_create(&threads[i], NULL, thread_work, &tokens[i]) == 0, "pthread_create %d", i);
    for (int i = 0; i < 8; i++) {
        void *result = NULL;
        REQUIRE(pthread_join(threads[i], &result) == 0 && result == &tokens[i], "thread %d", i);
    }
    char *memory = malloc(MiB);
    REQUIRE(memory != NULL, "malloc(1 MiB)");
    memset(memory, 7, MiB);
    free(memory);
    struct timespec pause = {0, 1000000};
    REQUIRE(nanosleep(&pause, NULL) == 0, "nanosleep");
    return 0;
}

static int check_no_new_processes(int report_fd) {
    APPLY_STRICT(report_fd);
    pid_t child = fork();
    if (child == 0) _exit(0);
    REQUIRE(child < 0 && errno == EPERM, "fork: %s (want EPERM)", child < 0 ? strerror(errno) : "forked");
    REQUIRE(kill(getppid(), 0) < 0 && errno == EPERM, "kill(parent): %s (want EPERM)", strerror(errno));
    REQUIRE(kill(getpid(), 0) == 0, "kill(self, 0): %s", strerror(errno));
    struct rlimit limit = {16, 16};
    REQUIRE(prlimit(getppid(), RLIMIT_NOFILE, &limit, NULL) < 0 && errno == EPERM, "prlimit(parent)");
    REQUIRE(syscall(SYS_rt_sigaction, SIGSYS, NULL, &(struct sigaction){0}, 8) == 0, "read SIGSYS action");
    struct sigaction action = {.sa_handler = SIG_IGN};
    REQUIRE(sigaction(SIGSYS, &action, NULL) < 0 && errno == EPERM, "replacing the SIGSYS handler");
    return 0;
}

static void *read_own_stat(void *argument) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)gettid());
    int fd = open(path, O_RDONLY);
    *(int *)argument = fd >= 0 ? 0 : errno;
    if (fd >= 0) close(fd);
    return NULL;
}

/* Opens /proc/<pid>/<name>; returns 0 or the errno. */
static int proc_open_error(pid_t pid, const char *name) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errno;
    close(fd);
    return 0;
}

/* /proc is a read path (libdispatch needs /proc/<tid>/stat). As an
 * unprivileged user (root is dropped to nobody here), Landlock keeps other
 * processes' environ, maps and mem closed: a sibling of the same user, forked
 * before the sandbox, is outside it. */
static int check_proc(int report_fd) {
    if (getuid() == 0) {
        REQUIRE(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
                    setresuid(65534, 65534, 65534) == 0,
                "dropping to nobody: %s", strerror(errno));
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* as a process that never had root */
    }
    int gate[2];
    REQUIRE(pipe(gate) == 0, "pipe");
    pid_t sibling = fork();
    if (sibling == 0) { /* lives until the checking child exits */
        close(gate[1]);
        char byte;
        while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
    }
    REQUIRE(sibling > 0, "fork");
    close(gate[0]);
    REQUIRE(proc_open_error(sibling, "environ") == 0, "sibling's environ unreadable before the sandbox");
    const char *read_paths[] = {"/usr", "/lib", "/lib64"};
    ph_sandbox_options_t options = {.strict = 1, .read_paths = read_paths, .read_path_count = 3,
                                    .report_fd = report_fd};
    char error[256];
    REQUIRE(ph_sandbox_apply(&options, error, sizeof error) == 0, "apply: %s", error);
    pthread_t thread;
    int thread_error = -1;
    REQUIRE(pthread_create(&thread, NULL, read_own_stat, &thread_error) == 0, "pthread_create");
    pthread_join(thread, NULL);
    REQUIRE(thread_error == 0, "a thread's /proc/<tid>/stat (libdispatch needs it): %s", strerror(thread_error));
    REQUIRE(proc_open_error(sibling, "stat") == 0, "sibling's stat (readable by anyone)");
    int code = proc_open_error(sibling, "environ");
    REQUIRE(code == EACCES, "sibling's environ: %s (want EACCES)", code ? strerror(code) : "opened");
    code = proc_open_error(sibling, "maps");
    REQUIRE(code == EACCES, "sibling's maps: %s (want EACCES)", code ? strerror(code) : "opened");
    code = proc_open_error(sibling, "mem");
    REQUIRE(code == EACCES, "sibling's mem: %s (want EACCES)", code ? strerror(code) : "opened");
    return 0;
}

/* 7. a Swift library (runtime, Foundation, Dispatch, concurrency) */
static int check_swift(int report_fd) {
    APPLY_STRICT(report_fd);
    void *library = dlopen(swift_plugin, RTLD_NOW | RTLD_LOCAL);
    REQUIRE(library != NULL, "dlopen %s: %s", swift_plugin, dlerror());
    int (*entry)(void) = (int (*)(void))dlsym(library, "x_entry");
    REQUIRE(entry != NULL, "dlsym x_entry");
    int value = entry();
    REQUIRE(value == 612, "x_entry() = %d (want 612)", value);
    /* keep Dispatch busy across its 1 s worker monitor, which reads /proc/<tid>/stat */
    int (*busy)(void) = (int (*)(void))dlsym(library, "x_busy");
    REQUIRE(busy != NULL && busy() == 0, "x_busy");
    return 0;
}

/* --- 3. a forbidden syscall --- */

static int forbidden_ptrace(int report_fd) {
    APPLY_STRICT(report_fd);
    syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
    return 3; /* not reached */
}

static int forbidden_execve(int report_fd) {
    APPLY_STRICT(report_fd);
    char *argv[] = {"/bin/true", NULL};
    execve("/bin/true", argv, environ);
    return 3;
}

static int forbidden_in_thread_body(void) {
    syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
    return 3;
}

static void *forbidden_thread(void *argument) {
    (void)argument;
    forbidden_in_thread_body();
    return NULL;
}

static int forbidden_mount_in_thread(int report_fd) {
    APPLY_STRICT(report_fd);
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, forbidden_thread, NULL) == 0, "pthread_create");
    pthread_join(thread, NULL);
    return 3;
}

static void expect_sigsys(const char *name, check_fn check, long number, const char *syscall_name) {
    outcome_t outcome = run_child(check);
    char want[96], text[768];
    snprintf(want, sizeof want, "SIGSYS syscall %ld %s\n", number, syscall_name);
    describe(&outcome, text, sizeof text);
    int passed = !outcome.exited && outcome.signal == SIGSYS && strcmp(outcome.report, want) == 0;
    verdict(name, passed, passed ? "%s" : "%s; want SIGSYS and \"SIGSYS syscall %ld %s\"", passed ? "" : text,
            number, syscall_name);
    if (passed) printf("INFO %s reported: %s", name, outcome.report);
}

/* --- 4. memory --- */

static int check_memory_limit(int report_fd) {
    REQUIRE(apply(report_fd, 1, 64 * MiB, 0) == 0, "apply");
    struct rlimit limit;
    REQUIRE(getrlimit(RLIMIT_DATA, &limit) == 0 && limit.rlim_cur == 64 * MiB && limit.rlim_max == 64 * MiB,
            "RLIMIT_DATA not 64 MiB");
    /* through a volatile pointer: a compiler may otherwise drop an unused malloc */
    void *(*volatile allocate)(size_t) = malloc;
    char *large = allocate(128 * MiB);
    if (large != NULL) memset(large, 1, 128 * MiB); /* would need 128 MiB: must not get here */
    REQUIRE(large == NULL, "malloc(128 MiB) succeeded under 64 MiB");
    char *small = allocate(MiB);
    REQUIRE(small != NULL, "malloc(1 MiB) failed");
    memset(small, 1, MiB);
    return 0;
}

/* Measurement: how a memory limit (RLIMIT_DATA or RLIMIT_AS) treats the Swift
 * runtime and threads. Each probe runs in a child (no sandbox: it reads
 * /proc/self/status) and prints one INFO line. */
typedef struct probe {
    const char *label;
    int resource;
    uint64_t limit; /* 0: none */
    int arena_max;  /* 0: glibc's default (8 x cores) */
} probe_t;

static probe_t current_probe;

enum { MEASURE_THREADS = 16 };

static void *measure_thread(void *argument) {
    /* 1 MiB in 64 KiB blocks: below the mmap threshold, so from a malloc arena */
    char *blocks[16];
    for (int i = 0; i < 16; i++) {
        blocks[i] = malloc(64 * 1024);
        if (blocks[i] != NULL) memset(blocks[i], 1, 64 * 1024);
    }
    pthread_barrier_wait(argument);
    for (int i = 0; i < 16; i++) free(blocks[i]);
    return NULL;
}

static long status_kib(const char *field) {
    FILE *file = fopen("/proc/self/status", "r");
    if (file == NULL) return -1;
    char line[256];
    long value = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, file) != NULL)
        if (strncmp(line, field, length) == 0 && line[length] == ':') value = atol(line + length + 1);
    fclose(file);
    return value;
}

static int measure(int report_fd) {
    (void)report_fd;
    if (current_probe.limit != 0) {
        struct rlimit limit = {current_probe.limit, current_probe.limit};
        REQUIRE(setrlimit(current_probe.resource, &limit) == 0, "setrlimit");
    }
    if (current_probe.arena_max) mallopt(M_ARENA_MAX, current_probe.arena_max);
    const char *swift = "no Swift";
    if (have_swift) {
        void *library = dlopen(swift_plugin, RTLD_NOW | RTLD_LOCAL);
        int (*entry)(void) = library ? (int (*)(void))dlsym(library, "x_entry") : NULL;
        swift = entry == NULL ? "Swift dlopen FAILED" : entry() == 612 ? "Swift ran" : "Swift wrong";
    }
    long data_kib = status_kib("VmData"), size_kib = status_kib("VmSize");
    static pthread_barrier_t barrier;
    pthread_t threads[MEASURE_THREADS];
    int started = 0, error = 0;
    pthread_barrier_init(&barrier, NULL, MEASURE_THREADS + 1);
    for (; started < MEASURE_THREADS; started++) {
        error = pthread_create(&threads[started], NULL, measure_thread, &barrier);
        if (error != 0) break;
    }
    struct timespec settle = {0, 50 * 1000000};
    nanosleep(&settle, NULL); /* let the threads allocate */
    printf("INFO %-28s %-19s VmData %3ld MiB VmSize %4ld MiB; +%d/%d threads%s%s: VmData %3ld MiB VmSize %4ld MiB\n",
           current_probe.label, swift, data_kib / 1024, size_kib / 1024, started, MEASURE_THREADS,
           error ? ", then " : "", error ? strerror(error) : "", status_kib("VmData") / 1024,
           status_kib("VmSize") / 1024);
    fflush(stdout);
    /* threads wait at the barrier (or forever, when not all started): just leave */
    _exit(started == MEASURE_THREADS && strcmp(swift, "Swift dlopen FAILED") != 0 ? 0 : 1);
}

/* --- 5, 6: descriptors, core, process group --- */

static int check_open_files(int report_fd) {
    REQUIRE(apply(report_fd, 1, 0, 16) == 0, "apply");
    int highest = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY)) >= 0) highest = fd;
    REQUIRE(errno == EMFILE, "open failed with %s (want EMFILE)", strerror(errno));
    REQUIRE(highest == 15, "highest descriptor %d (want 15: 16 in all)", highest);
    struct rlimit limit = {32, 32};
    REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) < 0, "raised RLIMIT_NOFILE above its hard limit");
    return 0;
}

static int check_core_and_group(int report_fd) {
    REQUIRE(apply(report_fd, 1, 0, 0) == 0, "apply");
    struct rlimit limit;
    REQUIRE(getrlimit(RLIMIT_CORE, &limit) == 0 && limit.rlim_cur == 0 && limit.rlim_max == 0, "RLIMIT_CORE not 0");
    REQUIRE(getpgid(0) == getpid(), "process group %d, pid %d", (int)getpgid(0), (int)getpid());
    REQUIRE(getpgid(0) != getpgid(getppid()), "same group as the parent");
    return 0;
}

static int check_not_strict(int report_fd) {
    REQUIRE(apply(report_fd, 0, 256 * MiB, 64) == 0, "apply");
    printf("INFO not strict summary: %s\n", ph_sandbox_summary());
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* no seccomp */
    REQUIRE(fd >= 0, "socket without strict: %s", strerror(errno));
    struct rlimit limit;
    REQUIRE(getrlimit(RLIMIT_DATA, &limit) == 0 && limit.rlim_cur == 256 * MiB, "RLIMIT_DATA");
    REQUIRE(getpgid(0) == getpid(), "own group");
    return 0;
}

static void *idle_thread(void *argument) {
    pause();
    return argument;
}

static int check_refuses_threads(int report_fd) {
    pthread_t thread;
    REQUIRE(pthread_create(&thread, NULL, idle_thread, NULL) == 0, "pthread_create");
    ph_sandbox_options_t options = {.strict = 1, .report_fd = report_fd};
    char error[256] = "";
    REQUIRE(ph_sandbox_apply(&options, error, sizeof error) != 0 && errno == EBUSY,
            "apply with 2 threads did not refuse");
    REQUIRE(strstr(error, "2 threads") != NULL, "error: %s", error);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PLUGIN_DIR STATE_DIR [SWIFT_LIB_DIR]\n", argv[0]);
        return 2;
    }
    plugin_dir = argv[1];
    state_dir = argv[2];
    if (argc > 3) swift_lib_dir = argv[3];
    snprintf(swift_plugin, sizeof swift_plugin, "%s/libswiftplug.so", plugin_dir);
    have_swift = access(swift_plugin, R_OK) == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* a listener the children must not reach */
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4) != 0 ||
        getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
        perror("listener");
        return 2;
    }
    listen_port = ntohs(address.sin_port);
    inet_fd = socket(AF_INET, SOCK_STREAM, 0);

    /* 1. */
    int abi = ph_sandbox_landlock_abi();
    printf("INFO landlock ABI %d\n", abi);
    verdict("landlock ABI reported", abi > 0, abi > 0 ? NULL : "the kernel offers no Landlock");
    verdict("syscall names", strcmp(ph_syscall_name(SYS_ptrace), "ptrace") == 0 &&
                                 strcmp(ph_syscall_name(SYS_openat), "openat") == 0 &&
                                 strcmp(ph_syscall_name(-1), "unknown") == 0 &&
                                 strcmp(ph_syscall_name(100000), "unknown") == 0,
            NULL);

    /* 2. */
    expect_exit_zero("strict apply + summary", check_summary);
    expect_exit_zero("new file in /tmp denied (EACCES)", check_tmp_write_denied);
    expect_exit_zero("write_path: create, write, rename, remove", check_state_write);
    expect_exit_zero("read_paths readable, not writable; others denied", check_read_paths);
    expect_exit_zero("network denied (socket AF_INET/INET6/NETLINK, Unix dgram, connect, bind: EACCES)",
                     check_network_denied);
    expect_exit_zero("socketpair(AF_UNIX) + SCM_RIGHTS", check_socketpair);
    expect_exit_zero("dlopen of a C plugin and libm after the sandbox", check_dlopen);
    expect_exit_zero("threads and malloc", check_threads_and_malloc);
    expect_exit_zero("no new processes, no signals or limits for others, SIGSYS handler kept",
                     check_no_new_processes);
    expect_exit_zero("/proc/<tid>/stat readable; as nobody, a sibling's environ/maps/mem not", check_proc);

    /* 3. */
    expect_sigsys("ptrace kills with SIGSYS", forbidden_ptrace, SYS_ptrace, "ptrace");
    expect_sigsys("execve kills with SIGSYS", forbidden_execve, SYS_execve, "execve");
    expect_sigsys("mount in a thread kills with SIGSYS", forbidden_mount_in_thread, SYS_mount, "mount");

    /* 4. */
    expect_exit_zero("memory 64 MiB: malloc(128 MiB) fails, 1 MiB works", check_memory_limit);
    probe_t probes[] = {
        {"no limit", RLIMIT_DATA, 0, 0},
        {"RLIMIT_DATA 64MiB", RLIMIT_DATA, 64 * MiB, 0},
        {"RLIMIT_DATA 256MiB", RLIMIT_DATA, 256 * MiB, 0},
        {"RLIMIT_DATA 256MiB arenas<=2", RLIMIT_DATA, 256 * MiB, 2},
        {"RLIMIT_AS 256MiB", RLIMIT_AS, 256 * MiB, 0},
        {"RLIMIT_AS 1GiB", RLIMIT_AS, 1024 * MiB, 0},
        {"RLIMIT_AS 1GiB arenas<=2", RLIMIT_AS, 1024 * MiB, 2},
    };
    int data_256_ok = 0, data_64_fails = 0, as_256_fails = 0;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        current_probe = probes[i];
        outcome_t outcome = run_child(measure);
        if (!outcome.exited || outcome.code > 1) { /* ended before its INFO line */
            char text[768];
            describe(&outcome, text, sizeof text);
            printf("INFO %-28s %s\n", probes[i].label, text);
        }
        int ok = outcome.exited && outcome.code == 0;
        if (i == 1) data_64_fails = !ok;
        if (i == 2) data_256_ok = ok;
        if (i == 4) as_256_fails = !ok;
    }
    verdict("RLIMIT_DATA 256 MiB: Swift plugin + 16 threads run", data_256_ok, NULL);
    verdict("RLIMIT_DATA 64 MiB: 16 thread stacks (8 MiB each) do not fit, as sandbox.h says", data_64_fails, NULL);
    verdict("RLIMIT_AS 256 MiB: Swift plugin + 16 threads do not fit, as sandbox.h says", as_256_fails, NULL);

    /* 5, 6 */
    expect_exit_zero("open_files 16: the 17th descriptor fails with EMFILE", check_open_files);
    expect_exit_zero("core limit 0, own process group", check_core_and_group);
    expect_exit_zero("not strict: rlimits and group only", check_not_strict);
    expect_exit_zero("strict apply refuses a multi-threaded process", check_refuses_threads);

    /* 7. */
    if (have_swift)
        expect_exit_zero("Swift plugin (runtime, Foundation, Dispatch, Task) under the sandbox", check_swift);
    else
        printf("SKIP Swift plugin: no %s (swiftc not installed)\n", swift_plugin);

    printf("%s: %d failure(s)\n", failures ? "FAILED" : "OK", failures);
    return failures ? 1 : 0;
}
