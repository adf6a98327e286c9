/*
 * lane_alternatives: what one round trip between two processes costs, for the
 * ways an isolated plugin's calls could cross (see Sources/CIsolation/lane.h).
 *
 * A caller process sends a 64-byte message (a 16-byte header and 48 bytes of
 * payload, a small call) and waits for a 64-byte answer from a server process,
 * which waits for the next message as soon as it has answered. Each round trip
 * is timed on its own (CLOCK_MONOTONIC); the table gives p50 and p99 over all
 * of them and the lowest and highest p50 over the rounds.
 *
 * Transports:
 *   socket       a Unix stream socket pair, blocking write and read: what lanes do
 *   socket-lane  the same socket with lane.c's pattern: sendmsg of header + payload;
 *                the caller polls (a call timeout) before reading; each side reads the
 *                header, mallocs the payload and reads it
 *   pipe         two pipes, blocking write and read
 *   futex        shared memory, a sequence word per direction, futex wait/wake
 *                (a wake only when the other side sleeps)
 *   spin+futex   the same, spinning up to SPIN_US µs on the word before the futex wait
 *
 * Placements: unpinned (the scheduler's choice), pinned to two cores (caller on the
 * first allowed core, server on the second), pinned to one core (both on the first).
 *
 * Usage: lane_alternatives [ROUNDS [ROUND_TRIPS_PER_ROUND [SPIN_US]]]   (default 5 40000 5)
 * Prints a Markdown table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE 64
#define HEADER 16
#define WARMUP 5000

enum transport { SOCKET, SOCKET_LANE, PIPE, FUTEX, SPIN_FUTEX, TRANSPORTS };
static const char *transport_names[] = {
    "Unix stream socket, blocking read/write (what lanes do)",
    "Unix stream socket with lane.c's calls (sendmsg; poll; read header; malloc; read payload)",
    "pipe pair, blocking read/write",
    "shared memory + futex wait/wake",
    "shared memory + spin, then futex wait",
};

enum placement { UNPINNED, TWO_CORES, ONE_CORE, PLACEMENTS };
static const char *placement_names[] = {"unpinned", "pinned, 2 cores", "pinned, 1 core"};

static double spin_ns = 5000;

static inline uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* ---- Shared memory with a sequence word per direction ---------------------- */

typedef struct direction {
    _Alignas(64) atomic_uint seq;
    atomic_uint sleeping;
    char data[MESSAGE];
} direction_t;

typedef struct shared {
    direction_t request;
    direction_t reply;
} shared_t;

static long futex(atomic_uint *word, int op, unsigned value) {
    return syscall(SYS_futex, (unsigned *)word, op, value, NULL, NULL, 0);
}

/** Waits until `d->seq` is no longer `old` (spinning first when `spin`). */
static void wait_for(direction_t *d, unsigned old, int spin) {
    if (spin) {
        uint64_t start = now_ns();
        for (unsigned i = 1; atomic_load_explicit(&d->seq, memory_order_acquire) == old; i++) {
            cpu_relax();
            if ((i & 63) == 0 && (double)(now_ns() - start) > spin_ns) break;
        }
    }
    while (atomic_load(&d->seq) == old) {
        atomic_store(&d->sleeping, 1);
        if (atomic_load(&d->seq) == old) futex(&d->seq, FUTEX_WAIT, old);
        atomic_store(&d->sleeping, 0);
    }
}

static void post(direction_t *d, const char *message, unsigned seq) {
    memcpy(d->data, message, MESSAGE);
    atomic_store(&d->seq, seq);
    if (atomic_load(&d->sleeping)) futex(&d->seq, FUTEX_WAKE, 1);
}

/* ---- Byte streams ------------------------------------------------------------ */

static int read_all(int fd, void *into, size_t length) {
    char *at = into;
    while (length > 0) {
        ssize_t got = read(fd, at, length);
        if (got <= 0) {
            if (got < 0 && errno == EINTR) continue;
            return -1;
        }
        at += got;
        length -= (size_t)got;
    }
    return 0;
}

static int write_all(int fd, const void *from, size_t length) {
    const char *at = from;
    while (length > 0) {
        ssize_t put = write(fd, at, length);
        if (put <= 0) {
            if (put < 0 && errno == EINTR) continue;
            return -1;
        }
        at += put;
        length -= (size_t)put;
    }
    return 0;
}

/* lane.c's send_frame: one sendmsg of header and payload. */
static int lane_send(int fd, const char *message) {
    struct iovec iov[2] = {{(void *)message, HEADER}, {(void *)(message + HEADER), MESSAGE - HEADER}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    return sendmsg(fd, &m, MSG_NOSIGNAL) == MESSAGE ? 0 : -1;
}

/* lane.c's recv_frame: poll (the caller's call timeout), the header, a malloc'd payload. */
static int lane_receive(int fd, char *message, int poll_first) {
    if (poll_first) {
        struct pollfd waiting = {.fd = fd, .events = POLLIN};
        if (poll(&waiting, 1, 10000) != 1) return -1;
    }
    if (read_all(fd, message, HEADER) != 0) return -1;
    char *payload = malloc(MESSAGE - HEADER + 1);
    if (payload == NULL || read_all(fd, payload, MESSAGE - HEADER) != 0) { free(payload); return -1; }
    memcpy(message + HEADER, payload, MESSAGE - HEADER);
    free(payload);
    return 0;
}

/* ---- One measurement ---------------------------------------------------------- */

static int allowed_cores[2];
static int allowed_count;

static void pin(int core) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) { perror("sched_setaffinity"); exit(1); }
}

static void place(enum placement placement, int server) {
    if (placement == TWO_CORES) pin(allowed_cores[server ? 1 : 0]);
    else if (placement == ONE_CORE) pin(allowed_cores[0]);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *sorted, size_t count, double p) {
    size_t index = (size_t)(p * (double)(count - 1) + 0.5);
    return sorted[index];
}

typedef struct result { double p50, p99, low, high; } result_t;

/* Runs `rounds` × `per_round` round trips (after a warm-up) over `transport` placed as `placement`. */
static result_t measure(enum transport transport, enum placement placement, int rounds, int per_round) {
    size_t total = (size_t)rounds * (size_t)per_round + WARMUP;
    int up[2], down[2];  /* up: caller → server; down: server → caller. For a socket, up[0]/up[1] are its two ends. */
    shared_t *shared = NULL;
    if (transport == SOCKET || transport == SOCKET_LANE) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, up) != 0) { perror("socketpair"); exit(1); }
    } else if (transport == PIPE) {
        if (pipe(up) != 0 || pipe(down) != 0) { perror("pipe"); exit(1); }
    } else {
        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) { perror("mmap"); exit(1); }
        memset(shared, 0, sizeof *shared);
    }
    int spin = transport == SPIN_FUTEX;

    pid_t server = fork();
    if (server < 0) { perror("fork"); exit(1); }
    if (server == 0) {
        place(placement, 1);
        char message[MESSAGE];
        for (size_t i = 1; i <= total; i++) {
            switch (transport) {
            case SOCKET:
                if (read_all(up[1], message, MESSAGE) || write_all(up[1], message, MESSAGE)) _exit(1);
                break;
            case SOCKET_LANE:
                if (lane_receive(up[1], message, 0) || lane_send(up[1], message)) _exit(1);
                break;
            case PIPE:
                if (read_all(up[0], message, MESSAGE) || write_all(down[1], message, MESSAGE)) _exit(1);
                break;
            default:
                wait_for(&shared->request, (unsigned)(i - 1), spin);
                memcpy(message, shared->request.data, MESSAGE);
                message[HEADER] ^= 1;
                post(&shared->reply, message, (unsigned)i);
                break;
            }
        }
        _exit(0);
    }
    place(placement, 0);
    double *samples = malloc(total * sizeof *samples);
    char message[MESSAGE];
    memset(message, 'm', sizeof message);
    for (size_t i = 1; i <= total; i++) {
        uint64_t start = now_ns();
        int failed = 0;
        switch (transport) {
        case SOCKET: failed = write_all(up[0], message, MESSAGE) || read_all(up[0], message, MESSAGE); break;
        case SOCKET_LANE: failed = lane_send(up[0], message) || lane_receive(up[0], message, 1); break;
        case PIPE: failed = write_all(up[1], message, MESSAGE) || read_all(down[0], message, MESSAGE); break;
        default:
            post(&shared->request, message, (unsigned)i);
            wait_for(&shared->reply, (unsigned)(i - 1), spin);
            memcpy(message, shared->reply.data, MESSAGE);
            break;
        }
        if (failed) { fprintf(stderr, "%s: round trip %zu failed\n", transport_names[transport], i); exit(1); }
        samples[i - 1] = (double)(now_ns() - start) / 1000.0;
    }
    int status;
    waitpid(server, &status, 0);
    if (transport == SOCKET || transport == SOCKET_LANE) { close(up[0]); close(up[1]); }
    else if (transport == PIPE) { close(up[0]); close(up[1]); close(down[0]); close(down[1]); }
    else munmap(shared, sizeof *shared);
    /* Back on every allowed core for the next measurement. */
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < allowed_count; c++) CPU_SET(allowed_cores[c], &all);
    sched_setaffinity(0, sizeof all, &all);

    result_t result = {.low = 1e300, .high = 0};
    double *measured = samples + WARMUP;
    for (int r = 0; r < rounds; r++) {
        double *round = measured + (size_t)r * (size_t)per_round;
        qsort(round, (size_t)per_round, sizeof *round, compare);
        double p50 = percentile(round, (size_t)per_round, 0.5);
        if (p50 < result.low) result.low = p50;
        if (p50 > result.high) result.high = p50;
    }
    size_t count = (size_t)rounds * (size_t)per_round;
    qsort(measured, count, sizeof *measured, compare);
    result.p50 = percentile(measured, count, 0.5);
    result.p99 = percentile(measured, count, 0.99);
    free(samples);
    return result;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    int per_round = argc > 2 ? atoi(argv[2]) : 40000;
    if (argc > 3) spin_ns = atof(argv[3]) * 1000.0;
    if (rounds < 1 || per_round < 100) { fprintf(stderr, "usage: lane_alternatives [ROUNDS [ROUND_TRIPS_PER_ROUND [SPIN_US]]]\n"); return 2; }
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    for (int c = 0; c < CPU_SETSIZE && allowed_count < 2; c++)
        if (CPU_ISSET(c, &set)) allowed_cores[allowed_count++] = c;

    printf("| transport (64-byte message each way) | placement | p50 | p99 | p50 spread over rounds |\n");
    printf("|---|---|---:|---:|---|\n");
    for (int t = 0; t < TRANSPORTS; t++) {
        for (int p = 0; p < PLACEMENTS; p++) {
            if (p == TWO_CORES && allowed_count < 2) continue;
            result_t r = measure((enum transport)t, (enum placement)p, rounds, per_round);
            char name[160];
            if (t == SPIN_FUTEX) snprintf(name, sizeof name, "shared memory + spin (up to %.0f µs), then futex wait", spin_ns / 1000);
            else snprintf(name, sizeof name, "%s", transport_names[t]);
            printf("| %s | %s | %.2f µs | %.2f µs | %.2f–%.2f µs (%d rounds of %d) |\n", name, placement_names[p], r.p50, r.p99,
                   r.low, r.high, rounds, per_round);
            fflush(stdout);
        }
    }
    printf("| published, not measured here: a Unix-socket round trip | — | 4.6 µs | — | — |\n");
    printf("| published, not measured here: gRPC over a Unix socket | — | ≈ 20 µs | — | — |\n");
    return 0;
}
