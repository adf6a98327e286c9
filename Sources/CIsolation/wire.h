/*
 * The wire between a worker and a plugin process: frames on Unix stream
 * sockets ("lanes"), and the little encoding of their payloads.
 *
 * A frame is a 12-byte header (payload length, kind, operation, reserved)
 * followed by the payload: a sequence of u32, u64, f64 and byte strings
 * (u32 length, the bytes, one NUL that is not counted). Every read is bounds
 * checked: a short or malformed payload marks the reader failed and the call
 * fails; nothing is read past the frame. Frames are at most PH_WIRE_MAX_FRAME.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Largest payload a lane accepts (a request body, a state blob). */
#define PH_WIRE_MAX_FRAME (64u << 20)

/** Frame kinds. */
#define PH_FRAME_CALL 1u    /**< Asks the other side to run an operation. */
#define PH_FRAME_RETURN 2u  /**< The answer to the innermost CALL this side sent on the lane. */

/** A growable payload being written. `failed` is set when memory ran out. */
typedef struct ph_wbuf {
    uint8_t *data;
    size_t length;
    size_t capacity;
    int failed;
} ph_wbuf_t;

/** A payload being read. `failed` is set by the first read past its end or of a malformed value. */
typedef struct ph_rbuf {
    const uint8_t *data;
    size_t length;
    size_t offset;
    int failed;
} ph_rbuf_t;

void ph_wbuf_init(ph_wbuf_t *buffer);
void ph_wbuf_free(ph_wbuf_t *buffer);
void ph_wbuf_u32(ph_wbuf_t *buffer, uint32_t value);
void ph_wbuf_u64(ph_wbuf_t *buffer, uint64_t value);
void ph_wbuf_f64(ph_wbuf_t *buffer, double value);
/** Bytes as they are, with no length (for building one byte string piece by piece). */
void ph_wbuf_raw(ph_wbuf_t *buffer, const void *bytes, size_t length);
/** Bytes, then one uncounted NUL (so a reader can hand them out as a C string). */
void ph_wbuf_bytes(ph_wbuf_t *buffer, const void *bytes, size_t length);
/** A C string, or NULL (sent as a flag, read back as NULL). */
void ph_wbuf_string(ph_wbuf_t *buffer, const char *text);

uint32_t ph_rbuf_u32(ph_rbuf_t *buffer);
uint64_t ph_rbuf_u64(ph_rbuf_t *buffer);
double ph_rbuf_f64(ph_rbuf_t *buffer);
/** Points into the payload: `*length` bytes followed by a NUL. NULL on failure. */
const uint8_t *ph_rbuf_bytes(ph_rbuf_t *buffer, size_t *length);
/** A C string or NULL as ph_wbuf_string wrote it; NULL also on failure (check `failed`). */
const char *ph_rbuf_string(ph_rbuf_t *buffer);

/** An answer's status and message (the plugin's or the host's text; NULL for none). */
void ph_wbuf_status(ph_wbuf_t *buffer, int32_t status, const char *message);
/** A ph_state_write_fn that appends the bytes to the ph_wbuf_t `sink` (a reply, a state, a
 *  service's answer collected piece by piece). 0, or 1 (PH_ERR_INVALID) for NULL bytes with a
 *  length, 2 (PH_ERR_FAILED) when memory ran out. */
int32_t ph_wbuf_sink(void *sink, const void *bytes, size_t length);
