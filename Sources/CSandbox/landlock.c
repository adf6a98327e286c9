/* Landlock for the plugin process: which files it may read and write, and
 * (ABI >= 4) no TCP bind/connect, (ABI >= 6) no abstract Unix sockets or
 * signals outside the process. Best effort: every access right the running
 * ABI knows is handled, newer ones are left out on older kernels.
 *
 * The constants are defined here (PH_LL_*) rather than taken from
 * <linux/landlock.h>: the installed headers (linux-libc-dev 6.1) stop at
 * ABI 2, and the values are kernel ABI that never changes. */
#define _GNU_SOURCE
#include "sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Same number on every architecture (the generic table since Linux 5.13). */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define PH_LL_CREATE_RULESET_VERSION (1U << 0)
#define PH_LL_RULE_PATH_BENEATH 1

/* File system rights, and the ABI that introduced them. */
#define PH_LL_FS_EXECUTE (1ULL << 0)
#define PH_LL_FS_WRITE_FILE (1ULL << 1)
#define PH_LL_FS_READ_FILE (1ULL << 2)
#define PH_LL_FS_READ_DIR (1ULL << 3)
#define PH_LL_FS_REMOVE_DIR (1ULL << 4)
#define PH_LL_FS_REMOVE_FILE (1ULL << 5)
#define PH_LL_FS_MAKE_CHAR (1ULL << 6)
#define PH_LL_FS_MAKE_DIR (1ULL << 7)
#define PH_LL_FS_MAKE_REG (1ULL << 8)
#define PH_LL_FS_MAKE_SOCK (1ULL << 9)
#define PH_LL_FS_MAKE_FIFO (1ULL << 10)
#define PH_LL_FS_MAKE_BLOCK (1ULL << 11)
#define PH_LL_FS_MAKE_SYM (1ULL << 12)
#define PH_LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define PH_LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define PH_LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */

/* Network rights (ABI 4) and scopes (ABI 6). */
#define PH_LL_NET_BIND_TCP (1ULL << 0)
#define PH_LL_NET_CONNECT_TCP (1ULL << 1)
#define PH_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define PH_LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels accept the larger
 * struct as long as the fields they do not know are zero. */
struct ph_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ph_landlock_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* Rights that apply to a file (not a folder): a rule for a file may hold only these. */
#define PH_LL_FS_FILE_RIGHTS \
    (PH_LL_FS_EXECUTE | PH_LL_FS_WRITE_FILE | PH_LL_FS_READ_FILE | PH_LL_FS_TRUNCATE | PH_LL_FS_IOCTL_DEV)

#define PH_LL_FS_READ_RIGHTS (PH_LL_FS_READ_FILE | PH_LL_FS_READ_DIR | PH_LL_FS_EXECUTE)

/* Read paths the sandbox adds for the runtimes plugins bring (see sandbox.h). */
static const struct {
    const char *path;
    uint64_t rights;
} ph_builtin_paths[] = {
    /* libdispatch's worker monitor opens /proc/<tid>/stat and crashes the
     * process when it cannot; the Swift runtime reads /proc/self/maps. Landlock
     * denies ptrace-class access (mem, environ, fd, maps) to processes outside
     * the sandbox, so this exposes only what any process may read. */
    {"/proc", PH_LL_FS_READ_FILE | PH_LL_FS_READ_DIR},
    /* glibc (get_nprocs), libdispatch and the Swift runtime count CPUs here. */
    {"/sys/devices/system/cpu", PH_LL_FS_READ_FILE | PH_LL_FS_READ_DIR},
    {"/dev/null", PH_LL_FS_READ_FILE | PH_LL_FS_WRITE_FILE | PH_LL_FS_TRUNCATE},
    {"/dev/urandom", PH_LL_FS_READ_FILE},
    {"/dev/random", PH_LL_FS_READ_FILE},
};

static char ph_landlock_what[512];

int ph_sandbox_landlock_abi(void) {
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, PH_LL_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static uint64_t ph_landlock_fs_rights(int abi) {
    uint64_t rights = (PH_LL_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0-12 */
    if (abi >= 2) rights |= PH_LL_FS_REFER;
    if (abi >= 3) rights |= PH_LL_FS_TRUNCATE;
    if (abi >= 5) rights |= PH_LL_FS_IOCTL_DEV;
    return rights;
}

/* Adds a rule granting `rights` (within `handled`) beneath `path`. Returns 0,
 * 1 when the path does not exist and `optional`, or -1 with errno set. */
static int ph_landlock_add_path(int ruleset, const char *path, uint64_t rights, uint64_t handled, int optional,
                                const char **what) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (optional && (errno == ENOENT || errno == ENOTDIR)) return 1;
        snprintf(ph_landlock_what, sizeof ph_landlock_what, "landlock: open %s", path);
        *what = ph_landlock_what;
        return -1;
    }
    struct stat status;
    if (fstat(fd, &status) != 0) {
        int saved = errno;
        close(fd);
        snprintf(ph_landlock_what, sizeof ph_landlock_what, "landlock: stat %s", path);
        *what = ph_landlock_what;
        errno = saved;
        return -1;
    }
    struct ph_landlock_path_beneath_attr rule = {
        .allowed_access = rights & handled & (S_ISDIR(status.st_mode) ? ~0ULL : PH_LL_FS_FILE_RIGHTS),
        .parent_fd = fd,
    };
    long result = syscall(__NR_landlock_add_rule, ruleset, PH_LL_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(fd);
    if (result != 0) {
        snprintf(ph_landlock_what, sizeof ph_landlock_what, "landlock: rule for %s", path);
        *what = ph_landlock_what;
        errno = saved;
        return -1;
    }
    return 0;
}

int ph_landlock_apply(const char *const *read_paths, size_t read_path_count, const char *write_path,
                      ph_landlock_result_t *result, const char **what) {
    *result = (ph_landlock_result_t){0};
    int abi = ph_sandbox_landlock_abi();
    if (abi <= 0) return 0;

    struct ph_landlock_ruleset_attr attributes = {.handled_access_fs = ph_landlock_fs_rights(abi)};
    if (abi >= 4) attributes.handled_access_net = PH_LL_NET_BIND_TCP | PH_LL_NET_CONNECT_TCP; /* no rules: denied */
    if (abi >= 6) attributes.scoped = PH_LL_SCOPE_ABSTRACT_UNIX_SOCKET | PH_LL_SCOPE_SIGNAL;
    int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attributes, sizeof attributes, 0);
    if (ruleset < 0) {
        *what = "landlock: create ruleset";
        return -1;
    }
    uint64_t handled = attributes.handled_access_fs;
    for (size_t i = 0; i < read_path_count; i++) {
        if (read_paths[i] == NULL || read_paths[i][0] == '\0') continue;
        int added = ph_landlock_add_path(ruleset, read_paths[i], PH_LL_FS_READ_RIGHTS, handled, 1, what);
        if (added < 0) goto failed;
        if (added == 1) result->missing_paths++;
        else result->read_paths++;
    }
    for (size_t i = 0; i < sizeof ph_builtin_paths / sizeof ph_builtin_paths[0]; i++) {
        int added = ph_landlock_add_path(ruleset, ph_builtin_paths[i].path, ph_builtin_paths[i].rights, handled, 1,
                                         what);
        if (added < 0) goto failed;
        if (added == 0) result->builtin_paths++;
    }
    if (write_path != NULL && write_path[0] != '\0') {
        if (ph_landlock_add_path(ruleset, write_path, handled, handled, 0, what) != 0) goto failed;
    }
    if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
        *what = "landlock: restrict self";
        goto failed;
    }
    close(ruleset);
    result->abi = abi;
    result->net = abi >= 4;
    result->scoped = abi >= 6;
    return 0;

failed:;
    int saved = errno;
    close(ruleset);
    errno = saved;
    return -1;
}
