#define _GNU_SOURCE
#include "process_control.h"
#include "descriptor.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ph_listen_tcp(const char *host, int port, int backlog, int reuse_port, int *bound_port) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &found) != 0 || found == NULL) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int result = -1, saved = EADDRNOTAVAIL;
    for (struct addrinfo *candidate = found; candidate != NULL && result < 0; candidate = candidate->ai_next) {
        int fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_CLOEXEC, candidate->ai_protocol);
        if (fd < 0) { saved = errno; continue; }
        int yes = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes) != 0) { saved = errno; close(fd); continue; }
        if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
            saved = errno;
            close(fd);
            continue;
        }
        struct sockaddr_storage address;
        socklen_t length = sizeof address;
        if (getsockname(fd, (struct sockaddr *)&address, &length) == 0 && bound_port != NULL) {
            *bound_port = address.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&address)->sin6_port)
                                                        : ntohs(((struct sockaddr_in *)&address)->sin_port);
        }
        result = ph_fd_move_high(fd);
        if (result < 0) saved = errno;
    }
    freeaddrinfo(found);
    if (result < 0) errno = saved;
    return result;
}

int ph_socket_port(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    return -1;
}

pid_t ph_spawn_worker(const char *path, char *const argv[], char *const envp[], int socket_fd, int target_fd,
                      int control_fd, int control_target_fd) {
    int fds[2] = {socket_fd, control_fd};
    int targets[2] = {target_fd, control_target_fd};
    return ph_spawn_worker_with(path, argv, envp, fds, targets, 2);
}

pid_t ph_spawn_worker_with(const char *path, char *const argv[], char *const envp[], const int *fds, const int *targets, int count) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    /* dup2 clears close-on-exec on the copy; the originals stay close-on-exec. A low source
     * other than its own target could be one an earlier dup2 overwrote: refused. */
    for (int index = 0; index < count; index++) {
        if (fds[index] < 0) continue;
        if (fds[index] < PH_FD_HIGH && fds[index] != targets[index]) {
            posix_spawn_file_actions_destroy(&actions);
            posix_spawnattr_destroy(&attributes);
            errno = EINVAL;
            return -1;
        }
        posix_spawn_file_actions_adddup2(&actions, fds[index], targets[index]);
    }
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int status = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (status != 0) {
        errno = status;
        return -1;
    }
    return pid;
}

pid_t ph_spawn_captured(const char *path, char *const argv[], char *const envp[], int *output, int *errors) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return -1;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    /* High write ends: a parent run with descriptor 1 or 2 closed gets a pipe end there,
     * which the other dup2 would overwrite. */
    int fds[2] = {ph_fd_move_high(out[1]), ph_fd_move_high(err[1])};
    int targets[2] = {STDOUT_FILENO, STDERR_FILENO};
    pid_t pid = fds[0] >= 0 && fds[1] >= 0 ? ph_spawn_worker_with(path, argv, envp, fds, targets, 2) : -1;
    int saved = errno;
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        errno = saved;
        return -1;
    }
    *output = out[0];
    *errors = err[0];
    return pid;
}

static int signal_pipe[2] = {-1, -1};

/* One message per signal: its number and the sending process. */
typedef struct {
    int32_t signal;
    int32_t sender;
} signal_message_t;

static void forward_signal(int signal, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    signal_message_t message = {signal, info ? (int32_t)info->si_pid : 0};
    (void)!write(signal_pipe[1], &message, sizeof message);
    errno = saved;
}

int ph_supervisor_signals(void) {
    if (signal_pipe[0] >= 0) return signal_pipe[0];
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    signal_pipe[0] = ph_fd_move_high(signal_pipe[0]);
    signal_pipe[1] = ph_fd_move_high(signal_pipe[1]);
    if (signal_pipe[0] < 0 || signal_pipe[1] < 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = forward_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&action.sa_mask);
    const int signals[] = {SIGHUP, SIGTERM, SIGINT, SIGCHLD};
    for (size_t index = 0; index < sizeof signals / sizeof signals[0]; index++) sigaction(signals[index], &action, NULL);
    /* Workers get the default actions back (ph_spawn_worker). */
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    return signal_pipe[0];
}

int ph_supervisor_next_signal(int read_fd, int timeout_ms, pid_t *sender) {
    struct pollfd waiting = {read_fd, POLLIN, 0};
    if (poll(&waiting, 1, timeout_ms) <= 0) return 0;
    signal_message_t message;
    if (read(read_fd, &message, sizeof message) != (ssize_t)sizeof message) return 0;
    if (sender != NULL) *sender = message.sender;
    return message.signal;
}

/* Room for the most descriptors one message carries, aligned for struct cmsghdr. */
typedef union {
    char bytes[CMSG_SPACE(sizeof(int) * PH_CONTROL_MAX_FDS)];
    struct cmsghdr align;
} control_buffer_t;

int ph_control_pair(int fds[2]) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    fds[0] = ph_fd_move_high(fds[0]);
    fds[1] = ph_fd_move_high(fds[1]);
    if (fds[0] < 0 || fds[1] < 0) {
        int saved = errno;
        if (fds[0] >= 0) close(fds[0]);
        if (fds[1] >= 0) close(fds[1]);
        errno = saved;
        return -1;
    }
    return 0;
}

long ph_control_send(int fd, const void *data, size_t length, const int *fds, int count, int dont_wait) {
    struct iovec part = {(void *)data, length};
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    control_buffer_t control;
    if (count > PH_CONTROL_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    if (count > 0) {
        memset(&control, 0, sizeof control);
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(header), fds, sizeof(int) * (size_t)count);
    }
    ssize_t sent;
    do {
        sent = sendmsg(fd, &message, MSG_NOSIGNAL | (dont_wait ? MSG_DONTWAIT : 0));
    } while (sent < 0 && errno == EINTR);
    return (long)sent;
}

long ph_control_receive(int fd, void *buffer, size_t capacity, int *fds, int fd_capacity, int *fd_count, int dont_wait) {
    struct iovec part = {buffer, capacity};
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    control_buffer_t control;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    ssize_t received;
    do {
        received = recvmsg(fd, &message, MSG_CMSG_CLOEXEC | (dont_wait ? MSG_DONTWAIT : 0));
    } while (received < 0 && errno == EINTR);
    *fd_count = 0;
    if (received < 0) return -1;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header != NULL; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *passed = (int *)CMSG_DATA(header);
        for (int index = 0; index < count; index++) {
            if (*fd_count < fd_capacity) {
                fds[(*fd_count)++] = passed[index];
            } else {
                close(passed[index]);
            }
        }
    }
    if (message.msg_flags & MSG_CTRUNC) {
        /* More descriptors than the protocol sends: some are lost, so the message cannot be trusted. */
        for (int index = 0; index < *fd_count; index++) close(fds[index]);
        *fd_count = 0;
        errno = EPROTO;
        return -1;
    }
    return (long)received;
}

static int abstract_address(const char *name, struct sockaddr_un *address, socklen_t *length) {
    size_t size = strlen(name);
    if (size + 1 > sizeof address->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    memcpy(address->sun_path + 1, name, size);
    *length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + size);
    return 0;
}

int ph_listen_abstract(const char *name, int backlog) {
    struct sockaddr_un address;
    socklen_t length;
    if (abstract_address(name, &address, &length) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&address, length) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return ph_fd_move_high(fd);
}

int ph_connect_abstract(const char *name) {
    struct sockaddr_un address;
    socklen_t length;
    if (abstract_address(name, &address, &length) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    /* A Unix stream socket connects at once or not at all: EAGAIN is a full backlog, not a
     * connection under way, and the caller tries again on its next probe. */
    if (connect(fd, (struct sockaddr *)&address, length) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int ph_exit_with_parent(pid_t parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) return -1;
    /* The parent may have died before the call: then nobody would send the signal. */
    return getppid() == parent ? 0 : -1;
}

int ph_usable_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        return online > 0 ? (int)online : 1;
    }
    int count = CPU_COUNT(&set);
    return count > 0 ? count : 1;
}
