/*
 * Lanes: how calls cross between a worker and a plugin process.
 *
 * A lane is one Unix stream socket with one thread at each end. The side that
 * calls writes a CALL frame and blocks reading its lane; the other side's
 * thread for that lane runs the operation and writes a RETURN. While it runs,
 * it may call back (a plugin reading a request header, `call_next`, a
 * subscriber publishing): those nested CALLs go over the same lane, and the
 * waiting caller runs them on its own thread before it reads on. So a call
 * and everything it causes stay on one thread pair, as they would on one
 * thread in one process, and a round trip costs one socket write and one
 * wake-up each way.
 *
 * Each side keeps a pool of lanes for the calls it starts; a new lane's far
 * end is handed to the other side over the control socket (SCM_RIGHTS), where
 * a thread is started to serve it. A thread inside a conversation with a peer
 * (serving or calling) reuses that lane for further calls to the same peer.
 */
#pragma once

#include "wire.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct ph_peer ph_peer_t;

/** Runs one incoming CALL: reads its arguments from `args` (check `args->failed`),
 *  writes the answer into `reply`. Runs on the lane's thread. */
typedef void (*ph_dispatch_fn)(ph_peer_t *peer, uint32_t op, ph_rbuf_t *args, ph_wbuf_t *reply);

/** The outcome of ph_peer_call. */
typedef enum ph_call_result {
    PH_CALL_OK = 0,        /**< A RETURN arrived. */
    PH_CALL_DEAD = 1,      /**< The other side is gone (EOF, a reset, or the peer was shut down). */
    PH_CALL_TIMEOUT = 2,   /**< Nothing arrived within the peer's timeout: the other side hangs. */
    PH_CALL_MALFORMED = 3, /**< The other side sent a frame that does not parse. */
} ph_call_result_t;

/** One side's end of the connection to the other process. */
struct ph_peer {
    int control_fd;            /**< Where new lanes are sent and received. */
    ph_dispatch_fn dispatch;   /**< Runs the other side's CALLs. */
    void *context;             /**< Owner's data (the proxy, the plugin process). */
    int timeout_ms;            /**< A call waiting longer than this for a frame fails with PH_CALL_TIMEOUT (0: never). */
    atomic_int dead;           /**< Set once the other side is known gone; every call fails from then on. */
    pthread_mutex_t lock;      /**< Guards the pools and the control socket's writes. */
    int *free_lanes;           /**< Idle lanes this side started. */
    size_t free_count, free_capacity;
    int *open_lanes;           /**< Every lane fd open on this side (shut down when the peer dies). */
    size_t open_count, open_capacity;
    atomic_int serving;        /**< Threads serving the other side's lanes. */
    pthread_mutex_t order;     /**< Under ThreadSanitizer only, taken and dropped before every frame sent and after
                                    every frame read: the real order runs through the other process and the kernel,
                                    where the sanitizer cannot follow it. */
    ph_peer_t *retired_next;   /**< The owner's list of peers of processes that ended (kept: their threads may still run). */
};

/** Prepares `peer` on `control_fd`. */
void ph_peer_init(ph_peer_t *peer, int control_fd, ph_dispatch_fn dispatch, void *context, int timeout_ms);
/** Starts the thread that receives the other side's new lanes. Returns 0 or an errno. */
int ph_peer_start(ph_peer_t *peer);
/** Receives the other side's new lanes on this thread until the control socket closes, then kills the peer. */
void ph_peer_run(ph_peer_t *peer);
/** Calls operation `op` with `args` on the other side. On PH_CALL_OK, `reply` reads the
 *  answer out of `*frame`, which the caller frees. */
ph_call_result_t ph_peer_call(ph_peer_t *peer, uint32_t op, const ph_wbuf_t *args, uint8_t **frame, ph_rbuf_t *reply);
/** Marks the peer dead and shuts down every lane and the control socket: calls blocked on
 *  it return PH_CALL_DEAD and the serving threads end. */
void ph_peer_kill(ph_peer_t *peer);
/** Whether this thread is inside a conversation with `peer` (serving or calling). */
int ph_peer_in_conversation(const ph_peer_t *peer);
/** Text for a call result. */
const char *ph_call_result_name(ph_call_result_t result);
