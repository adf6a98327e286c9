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
 * `output` and `errors`. Returns the child's pid, or -1 with errno set. */
pid_t ph_spawn_captured(const char *path, char *const argv[], char *const envp[], int *output, int *errors);

/* Routes SIGHUP, SIGTERM, SIGINT, SIGCHLD and the two worker requests (replace, hung), whichever
 * thread they reach, into a pipe the supervisor's loop reads (the self-pipe
 * trick: a Swift process has threads before main can block signals in all of
 * them). Returns the pipe's read end, or -1 with errno set. */
int ph_supervisor_signals(void);

/* The next signal from that pipe, waiting at most `timeout_ms`: the signal
 * number (and its sender's pid in `sender`), or 0 when none came. */
int ph_supervisor_next_signal(int read_fd, int timeout_ms, pid_t *sender);

/* Makes this process receive SIGTERM when its parent dies (a worker whose
 * supervisor was killed must not serve on alone). Returns 0, or -1 when the
 * parent is already gone. */
int ph_exit_with_parent(pid_t parent);

/* The signal a worker sends its supervisor when a plugin call in it hung:
 * replace it (the successor first), then kill it. A real-time signal. */
int ph_hung_worker_signal(void);

/* The signal a worker sends its supervisor to be replaced gracefully (it keeps
 * too many Swift images mapped): the successor serves first, then this one
 * drains. Real-time signals queue: two workers asking at once are both heard. */
int ph_replace_worker_signal(void);

#ifdef __cplusplus
}
#endif

#endif
