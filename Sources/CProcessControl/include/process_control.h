/* The supervisor's system calls: a listening TCP socket it owns for the life
 * of the host, and worker processes that inherit it.
 * Host-side only: plugins never see this header. */
#ifndef PLUGHOST_WORKER_PROCESS_H
#define PLUGHOST_WORKER_PROCESS_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Binds and listens on `host`:`port` (0 picks a free port) with SO_REUSEADDR,
 * and SO_REUSEPORT when `reuse_port` (one socket per worker on the same port:
 * the kernel spreads connections over them, and a socket whose worker is being
 * replaced keeps its backlog), with `backlog`, close-on-exec, at a descriptor
 * above 9 (never one a worker expects to be its inherited socket). Stores the
 * bound port in `bound_port`. Returns the descriptor, or -1 with errno set
 * (EAI_* failures become EADDRNOTAVAIL). */
int ph_listen_tcp(const char *host, int port, int backlog, int reuse_port, int *bound_port);

/* How many cores this process may run on (its CPU affinity mask: `taskset`,
 * cpusets); at least 1. */
int ph_usable_cores(void);

/* The local port socket `fd` is bound to, or -1. */
int ph_socket_port(int fd);

/* Starts `path` with `argv` and `envp` (NULL-terminated), the listening socket
 * `socket_fd` at descriptor `target_fd` in the child and, unless `control_fd`
 * is -1, the control channel `control_fd` at `control_target_fd`; an empty
 * signal mask and default signal actions. Returns the child's pid, or -1 with errno set. */
pid_t ph_spawn_worker(const char *path, char *const argv[], char *const envp[], int socket_fd, int target_fd,
                      int control_fd, int control_target_fd);

/* Starts `path` with `argv` and `envp` (NULL-terminated), its standard output
 * and error going to pipes whose read ends (close-on-exec) are stored in
 * `output` and `errors`; an empty signal mask and default signal actions, as
 * ph_spawn_worker. Returns the child's pid, or -1 with errno set. */
pid_t ph_spawn_captured(const char *path, char *const argv[], char *const envp[], int *output, int *errors);

/* Routes SIGHUP, SIGTERM, SIGINT and SIGCHLD, whichever thread they reach,
 * into a pipe the supervisor's loop reads (the self-pipe trick: a Swift
 * process has threads before main can block signals in all of them), and
 * ignores SIGUSR1 and SIGUSR2 (workers ask over their control channel; a
 * stray one must not end the supervisor). Once per process: a second call
 * returns the same pipe. Returns its read end, or -1 with errno set. */
int ph_supervisor_signals(void);

/* The next signal from that pipe, waiting at most `timeout_ms`: the signal
 * number (and its sender's pid in `sender`), or 0 when none came. */
int ph_supervisor_next_signal(int read_fd, int timeout_ms, pid_t *sender);

/* Makes this process receive SIGTERM when its parent dies (a worker whose
 * supervisor was killed must not serve on alone). Returns 0, or -1 when the
 * parent is already gone. */
int ph_exit_with_parent(pid_t parent);

/* A connected pair of Unix stream sockets, close-on-exec: the control channel
 * between the supervisor and one worker. Returns 0, or -1 with errno set. */
int ph_control_pair(int fds[2]);

/* The most descriptors one control message carries. */
#define PH_CONTROL_MAX_FDS 16

/* Sends up to `length` bytes of `data` on stream socket `fd` with `count`
 * descriptors from `fds` attached to the first byte (SCM_RIGHTS; none when
 * `count` is 0), without SIGPIPE; with `dont_wait`, returns at once instead of
 * blocking. Returns the bytes sent (possibly fewer), or -1 with errno set. */
long ph_control_send(int fd, const void *data, size_t length, const int *fds, int count, int dont_wait);

/* Receives up to `capacity` bytes from stream socket `fd`; descriptors that
 * arrive with them (close-on-exec) are stored in `fds` (at most `fd_capacity`,
 * the rest closed) and counted in `fd_count`. With `dont_wait`, returns -1
 * with EAGAIN instead of blocking. Returns the bytes read, 0 when the other end
 * closed, or -1 with errno set: EPROTO (descriptors closed) when a message
 * carried more than PH_CONTROL_MAX_FDS descriptors. */
long ph_control_receive(int fd, void *buffer, size_t capacity, int *fds, int fd_capacity, int *fd_count, int dont_wait);

/* Starts `path` like ph_spawn_worker, with descriptor `fds[i]` placed at
 * `targets[i]` in the child for each of `count` entries (-1 entries skipped).
 * Every source must be above 9 or already at its own target, so no dup2
 * overwrites a source a later one reads: -1 with EINVAL otherwise. */
pid_t ph_spawn_worker_with(const char *path, char *const argv[], char *const envp[], const int *fds, const int *targets, int count);

/* A listening Unix socket in the abstract namespace (nothing on disk) named
 * `name`, close-on-exec, non-blocking. Returns the descriptor, or -1 with errno set. */
int ph_listen_abstract(const char *name, int backlog);

/* A non-blocking connection to the abstract Unix socket `name` (a Unix stream
 * socket connects at once or not at all). Returns the connected descriptor, or
 * -1 with errno set: EAGAIN when the listener's backlog is full. */
int ph_connect_abstract(const char *name);

#ifdef __cplusplus
}
#endif

#endif
