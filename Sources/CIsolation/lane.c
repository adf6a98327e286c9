#define _GNU_SOURCE
#include "lane.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- The conversations this thread is in, innermost last ------------------ */

#define MAX_NESTING 64
static __thread struct { ph_peer_t *peer; int fd; } conversations[MAX_NESTING];
static __thread int depth;

static int conversation_lane(const ph_peer_t *peer) {
    for (int i = depth - 1; i >= 0; i--)
        if (conversations[i].peer == peer) return conversations[i].fd;
    return -1;
}

static int enter(ph_peer_t *peer, int fd) {
    if (depth >= MAX_NESTING) return 0;
    conversations[depth].peer = peer;
    conversations[depth].fd = fd;
    depth++;
    return 1;
}

static void leave(void) { if (depth > 0) depth--; }

int ph_peer_in_conversation(const ph_peer_t *peer) { return conversation_lane(peer) >= 0; }

/* ---- Frames ---------------------------------------------------------------- */

typedef struct frame_header {
    uint32_t length;
    uint32_t kind;
    uint32_t op;
    uint32_t reserved;
} frame_header_t;

static int write_all(int fd, struct iovec *iov, int count) {
    while (count > 0) {
        struct msghdr message = {.msg_iov = iov, .msg_iovlen = (size_t)count};
        ssize_t written = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        size_t left = (size_t)written;
        while (count > 0 && left >= iov->iov_len) { left -= iov->iov_len; iov++; count--; }
        if (count > 0) { iov->iov_base = (char *)iov->iov_base + left; iov->iov_len -= left; }
    }
    return 0;
}

static ph_call_result_t send_frame(int fd, uint32_t kind, uint32_t op, const ph_wbuf_t *payload) {
    if (payload && payload->failed) return PH_CALL_MALFORMED;
    frame_header_t header = {.length = payload ? (uint32_t)payload->length : 0, .kind = kind, .op = op};
    struct iovec iov[2] = {{&header, sizeof header}, {payload ? payload->data : NULL, header.length}};
    return write_all(fd, iov, header.length ? 2 : 1) == 0 ? PH_CALL_OK : PH_CALL_DEAD;
}

static int read_all(int fd, void *into, size_t length) {
    uint8_t *at = into;
    while (length > 0) {
        ssize_t got = read(fd, at, length);
        if (got == 0) return -1;
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        at += got;
        length -= (size_t)got;
    }
    return 0;
}

/* ---- Waiting for the other side ---------------------------------------------------------
 *
 * A round trip is two wake-ups of a blocked thread, and on a virtual machine waking a thread
 * on another (idle) CPU costs tens of microseconds. So before blocking, a waiting thread
 * polls its lane without blocking for a short while, yielding the CPU between tries: when
 * the other side runs on another CPU its answer is seen without any wake-up; when both share
 * one CPU the yield lets it run. PLUGHOST_LANE_SPIN_US sets the while (0 turns it off; the
 * default, 200 us, was the best of 20, 50, 200 and 1000 in make bench's isolation rows: a call
 * added 64 us at p50 blocking at once, 8 spinning 50 us, 6 spinning 200 us). The cost: a lane
 * left idle spins that long before it sleeps, on a CPU nothing else wanted (it yields). */

static long spin_budget_ns(void) {
    static long budget = -1;
    long known = __atomic_load_n(&budget, __ATOMIC_RELAXED);
    if (known >= 0) return known;
    const char *text = getenv("PLUGHOST_LANE_SPIN_US");
    long value = text ? strtol(text, NULL, 10) * 1000 : 200000;
    if (value < 0) value = 0;
    __atomic_store_n(&budget, value, __ATOMIC_RELAXED);
    return value;
}

static long elapsed_ns(const struct timespec *since) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/** Reads what the lane holds without blocking, for up to the spin budget: the bytes read (0 when
 *  nothing came: block then), or -1 when the lane ended. */
static ssize_t spin_recv(int fd, void *into, size_t length) {
    long budget = spin_budget_ns();
    if (budget == 0) return 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        ssize_t got = recv(fd, into, length, MSG_DONTWAIT);
        if (got > 0) return got;
        if (got == 0) return -1;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (elapsed_ns(&start) >= budget) return 0;
        sched_yield();
    }
}

/** How much of a frame the first read asks for: small frames arrive in one system call. */
#define FIRST_READ 4096

/**
 * Reads one frame; `*payload` is malloc'd (with a spare byte) and the caller's.
 *
 * A lane carries one frame at a time in each direction (a side writes only after it read the
 * other's), so a read of up to FIRST_READ bytes takes the whole frame or its start, never a
 * part of the next: bytes past the frame are a broken protocol.
 */
static ph_call_result_t recv_frame(int fd, int timeout_ms, int spin, frame_header_t *header, uint8_t **payload) {
    *payload = NULL;
    uint8_t *buffer = malloc(FIRST_READ + 1);
    if (buffer == NULL) return PH_CALL_MALFORMED;
    ssize_t got = spin ? spin_recv(fd, buffer, FIRST_READ) : 0;
    if (got == 0) {
        if (timeout_ms > 0) {
            struct pollfd waiting = {.fd = fd, .events = POLLIN};
            for (;;) {
                int ready = poll(&waiting, 1, timeout_ms);
                if (ready > 0) break;
                if (ready == 0) { free(buffer); return PH_CALL_TIMEOUT; }
                if (errno != EINTR) { free(buffer); return PH_CALL_DEAD; }
            }
        }
        do { got = recv(fd, buffer, FIRST_READ, 0); } while (got < 0 && errno == EINTR);
        if (got == 0) got = -1;
    }
    if (got < 0) { free(buffer); return PH_CALL_DEAD; }
    if ((size_t)got < sizeof *header) {
        if (read_all(fd, buffer + got, sizeof *header - (size_t)got) != 0) { free(buffer); return PH_CALL_DEAD; }
        got = sizeof *header;
    }
    memcpy(header, buffer, sizeof *header);
    if (header->length > PH_WIRE_MAX_FRAME || (header->kind != PH_FRAME_CALL && header->kind != PH_FRAME_RETURN)) {
        free(buffer);
        return PH_CALL_MALFORMED;
    }
    size_t total = sizeof *header + header->length;
    if ((size_t)got > total) { free(buffer); return PH_CALL_MALFORMED; }
    if (total > FIRST_READ) {
        uint8_t *bigger = realloc(buffer, total + 1);
        if (bigger == NULL) { free(buffer); return PH_CALL_MALFORMED; }
        buffer = bigger;
    }
    if ((size_t)got < total && read_all(fd, buffer + got, total - (size_t)got) != 0) { free(buffer); return PH_CALL_DEAD; }
    memmove(buffer, buffer + sizeof *header, header->length);
    *payload = buffer;
    return PH_CALL_OK;
}

#if defined(__SANITIZE_THREAD__)
#define PH_LANE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PH_LANE_TSAN 1
#endif
#endif

/** Orders this thread's past before the next frame it sends, or after the frame it read (see
 *  ph_peer_t.order). Only ThreadSanitizer needs it: the kernel's socket calls already order
 *  memory, so other builds take no lock per frame. */
static inline void mark_order(ph_peer_t *peer) {
#ifdef PH_LANE_TSAN
    pthread_mutex_lock(&peer->order);
    pthread_mutex_unlock(&peer->order);
#else
    (void)peer;
#endif
}

/** Runs one incoming CALL and answers it on `fd`. */
static ph_call_result_t serve_one(ph_peer_t *peer, int fd, const frame_header_t *header, uint8_t *payload) {
    ph_rbuf_t args = {.data = payload, .length = header->length};
    ph_wbuf_t reply;
    ph_wbuf_init(&reply);
    if (!enter(peer, fd)) {
        ph_wbuf_free(&reply);
        return PH_CALL_MALFORMED;
    }
    peer->dispatch(peer, header->op, &args, &reply);
    leave();
    mark_order(peer);
    ph_call_result_t sent = send_frame(fd, PH_FRAME_RETURN, header->op, &reply);
    ph_wbuf_free(&reply);
    return sent;
}

/* ---- Pools ------------------------------------------------------------------ */

static int push_fd(int **array, size_t *count, size_t *capacity, int fd) {
    if (*count == *capacity) {
        size_t grown = *capacity ? *capacity * 2 : 16;
        int *bigger = realloc(*array, grown * sizeof(int));
        if (bigger == NULL) return -1;
        *array = bigger;
        *capacity = grown;
    }
    (*array)[(*count)++] = fd;
    return 0;
}

static void forget_open(ph_peer_t *peer, int fd) {
    for (size_t i = 0; i < peer->open_count; i++)
        if (peer->open_lanes[i] == fd) { peer->open_lanes[i] = peer->open_lanes[--peer->open_count]; return; }
}

static void close_lane(ph_peer_t *peer, int fd) {
    pthread_mutex_lock(&peer->lock);
    forget_open(peer, fd);
    pthread_mutex_unlock(&peer->lock);
    close(fd);
}

/** An idle lane, or a new one whose far end is sent to the other side. -1 when the peer is dead. */
static int take_lane(ph_peer_t *peer) {
    pthread_mutex_lock(&peer->lock);
    if (atomic_load(&peer->dead)) { pthread_mutex_unlock(&peer->lock); return -1; }
    if (peer->free_count > 0) {
        int fd = peer->free_lanes[--peer->free_count];
        pthread_mutex_unlock(&peer->lock);
        return fd;
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) { pthread_mutex_unlock(&peer->lock); return -1; }
    char marker = 'L';
    struct iovec iov = {&marker, 1};
    union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(rights), &pair[1], sizeof(int));
    ssize_t sent;
    do { sent = sendmsg(peer->control_fd, &message, MSG_NOSIGNAL); } while (sent < 0 && errno == EINTR);
    close(pair[1]);
    if (sent != 1 || push_fd(&peer->open_lanes, &peer->open_count, &peer->open_capacity, pair[0]) != 0) {
        close(pair[0]);
        pthread_mutex_unlock(&peer->lock);
        return -1;
    }
    pthread_mutex_unlock(&peer->lock);
    return pair[0];
}

static void give_lane(ph_peer_t *peer, int fd) {
    pthread_mutex_lock(&peer->lock);
    int kept = !atomic_load(&peer->dead) && push_fd(&peer->free_lanes, &peer->free_count, &peer->free_capacity, fd) == 0;
    pthread_mutex_unlock(&peer->lock);
    if (!kept) close_lane(peer, fd);
}

/* ---- Calls ------------------------------------------------------------------ */

ph_call_result_t ph_peer_call(ph_peer_t *peer, uint32_t op, const ph_wbuf_t *args, uint8_t **frame, ph_rbuf_t *reply) {
    *frame = NULL;
    memset(reply, 0, sizeof *reply);
    if (atomic_load(&peer->dead)) return PH_CALL_DEAD;
    int fd = conversation_lane(peer);
    int fresh = fd < 0;
    if (fresh) {
        fd = take_lane(peer);
        if (fd < 0) return PH_CALL_DEAD;
        if (!enter(peer, fd)) { give_lane(peer, fd); return PH_CALL_MALFORMED; }
    }
    mark_order(peer);
    ph_call_result_t result = send_frame(fd, PH_FRAME_CALL, op, args);
    while (result == PH_CALL_OK) {
        frame_header_t header;
        uint8_t *payload;
        result = recv_frame(fd, peer->timeout_ms, 1, &header, &payload);
        if (result != PH_CALL_OK) break;
        mark_order(peer);
        if (header.kind == PH_FRAME_RETURN) {
            *frame = payload;
            reply->data = payload;
            reply->length = header.length;
            break;
        }
        result = serve_one(peer, fd, &header, payload);
        free(payload);
    }
    if (fresh) {
        leave();
        if (result == PH_CALL_OK) give_lane(peer, fd);
        else close_lane(peer, fd);
    } else if (result != PH_CALL_OK) {
        /* The conversation this call was nested in cannot go on either. */
        shutdown(fd, SHUT_RDWR);
    }
    return result;
}

/* ---- Serving the other side's lanes ------------------------------------------ */

typedef struct lane_start { ph_peer_t *peer; int fd; } lane_start_t;

static void *serve_lane(void *argument) {
    lane_start_t start = *(lane_start_t *)argument;
    free(argument);
    for (;;) {
        frame_header_t header;
        uint8_t *payload;
        /* Waiting for the next call spins too: a caller usually calls again at once (measured:
         * blocking here doubled the cost of a call, 8 -> 21 us, and did not help HTTP on one core). */
        if (recv_frame(start.fd, 0, 1, &header, &payload) != PH_CALL_OK) break;
        mark_order(start.peer);
        ph_call_result_t served = header.kind == PH_FRAME_CALL ? serve_one(start.peer, start.fd, &header, payload) : PH_CALL_MALFORMED;
        free(payload);
        if (served != PH_CALL_OK) break;
    }
    close_lane(start.peer, start.fd);
    atomic_fetch_sub(&start.peer->serving, 1);
    return NULL;
}

void ph_peer_run(ph_peer_t *peer) {
    for (;;) {
        char marker;
        struct iovec iov = {&marker, 1};
        union { struct cmsghdr header; char space[CMSG_SPACE(sizeof(int) * 4)]; } control;
        struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
        ssize_t got = recvmsg(peer->control_fd, &message, MSG_CMSG_CLOEXEC);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                lane_start_t *start = malloc(sizeof *start);
                pthread_mutex_lock(&peer->lock);
                int tracked = start && !atomic_load(&peer->dead) &&
                              push_fd(&peer->open_lanes, &peer->open_count, &peer->open_capacity, fd) == 0;
                pthread_mutex_unlock(&peer->lock);
                if (!tracked) { free(start); close(fd); continue; }
                start->peer = peer;
                start->fd = fd;
                atomic_fetch_add(&peer->serving, 1);
                pthread_attr_t attributes;
                pthread_attr_init(&attributes);
                pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
                pthread_t thread;
                if (pthread_create(&thread, &attributes, serve_lane, start) != 0) {
                    atomic_fetch_sub(&peer->serving, 1);
                    free(start);
                    close_lane(peer, fd);
                }
                pthread_attr_destroy(&attributes);
            }
        }
    }
    ph_peer_kill(peer);
}

static void *receive_lanes(void *argument) {
    ph_peer_run(argument);
    return NULL;
}

void ph_peer_init(ph_peer_t *peer, int control_fd, ph_dispatch_fn dispatch, void *context, int timeout_ms) {
    memset(peer, 0, sizeof *peer);
    peer->control_fd = control_fd;
    peer->dispatch = dispatch;
    peer->context = context;
    peer->timeout_ms = timeout_ms;
    atomic_init(&peer->dead, 0);
    atomic_init(&peer->serving, 0);
    pthread_mutex_init(&peer->order, NULL);
    pthread_mutex_init(&peer->lock, NULL);
}

int ph_peer_start(ph_peer_t *peer) {
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int failed = pthread_create(&thread, &attributes, receive_lanes, peer);
    pthread_attr_destroy(&attributes);
    return failed;
}

void ph_peer_kill(ph_peer_t *peer) {
    pthread_mutex_lock(&peer->lock);
    atomic_store(&peer->dead, 1);
    for (size_t i = 0; i < peer->open_count; i++) shutdown(peer->open_lanes[i], SHUT_RDWR);
    for (size_t i = 0; i < peer->free_count; i++) { forget_open(peer, peer->free_lanes[i]); close(peer->free_lanes[i]); }
    peer->free_count = 0;
    shutdown(peer->control_fd, SHUT_RDWR);
    pthread_mutex_unlock(&peer->lock);
}

const char *ph_call_result_name(ph_call_result_t result) {
    switch (result) {
    case PH_CALL_OK: return "ok";
    case PH_CALL_DEAD: return "the plugin process is gone";
    case PH_CALL_TIMEOUT: return "the plugin process did not answer in time";
    case PH_CALL_MALFORMED: return "a malformed message crossed the boundary";
    }
    return "unknown";
}
