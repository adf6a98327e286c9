#include "wire.h"

#include <stdlib.h>
#include <string.h>

void ph_wbuf_init(ph_wbuf_t *buffer) { memset(buffer, 0, sizeof *buffer); }

void ph_wbuf_free(ph_wbuf_t *buffer) {
    free(buffer->data);
    memset(buffer, 0, sizeof *buffer);
}

static void append(ph_wbuf_t *buffer, const void *bytes, size_t length) {
    if (buffer->failed) return;
    if (length > PH_WIRE_MAX_FRAME || buffer->length + length > PH_WIRE_MAX_FRAME) { buffer->failed = 1; return; }
    if (buffer->length + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 256;
        while (capacity < buffer->length + length) capacity *= 2;
        uint8_t *grown = realloc(buffer->data, capacity);
        if (grown == NULL) { buffer->failed = 1; return; }
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    if (length) memcpy(buffer->data + buffer->length, bytes, length);
    buffer->length += length;
}

void ph_wbuf_raw(ph_wbuf_t *buffer, const void *bytes, size_t length) { append(buffer, bytes, length); }

void ph_wbuf_u32(ph_wbuf_t *buffer, uint32_t value) { append(buffer, &value, sizeof value); }
void ph_wbuf_u64(ph_wbuf_t *buffer, uint64_t value) { append(buffer, &value, sizeof value); }
void ph_wbuf_f64(ph_wbuf_t *buffer, double value) { append(buffer, &value, sizeof value); }

void ph_wbuf_bytes(ph_wbuf_t *buffer, const void *bytes, size_t length) {
    if (length > PH_WIRE_MAX_FRAME) { buffer->failed = 1; return; }
    ph_wbuf_u32(buffer, (uint32_t)length);
    append(buffer, bytes, length);
    append(buffer, "", 1);
}

void ph_wbuf_string(ph_wbuf_t *buffer, const char *text) {
    ph_wbuf_u32(buffer, text != NULL);
    if (text) ph_wbuf_bytes(buffer, text, strlen(text));
}

static const uint8_t *take(ph_rbuf_t *buffer, size_t length) {
    if (buffer->failed || length > buffer->length - buffer->offset) { buffer->failed = 1; return NULL; }
    const uint8_t *at = buffer->data + buffer->offset;
    buffer->offset += length;
    return at;
}

uint32_t ph_rbuf_u32(ph_rbuf_t *buffer) {
    uint32_t value = 0;
    const uint8_t *at = take(buffer, sizeof value);
    if (at) memcpy(&value, at, sizeof value);
    return value;
}

uint64_t ph_rbuf_u64(ph_rbuf_t *buffer) {
    uint64_t value = 0;
    const uint8_t *at = take(buffer, sizeof value);
    if (at) memcpy(&value, at, sizeof value);
    return value;
}

double ph_rbuf_f64(ph_rbuf_t *buffer) {
    double value = 0;
    const uint8_t *at = take(buffer, sizeof value);
    if (at) memcpy(&value, at, sizeof value);
    return value;
}

const uint8_t *ph_rbuf_bytes(ph_rbuf_t *buffer, size_t *length) {
    uint32_t count = ph_rbuf_u32(buffer);
    const uint8_t *at = take(buffer, (size_t)count + 1);
    if (at == NULL || at[count] != 0) { buffer->failed = 1; if (length) *length = 0; return NULL; }
    if (length) *length = count;
    return at;
}

const char *ph_rbuf_string(ph_rbuf_t *buffer) {
    if (!ph_rbuf_u32(buffer)) return NULL;
    size_t length = 0;
    const char *text = (const char *)ph_rbuf_bytes(buffer, &length);
    /* A C string ends at its NUL: one inside would cut it silently. */
    if (text && memchr(text, 0, length)) { buffer->failed = 1; return NULL; }
    return text;
}

void ph_wbuf_status(ph_wbuf_t *buffer, int32_t status, const char *message) {
    ph_wbuf_u32(buffer, (uint32_t)status);
    ph_wbuf_string(buffer, message);
}

int32_t ph_wbuf_sink(void *sink, const void *bytes, size_t length) {
    if (bytes == NULL && length) return 1;
    ph_wbuf_raw(sink, bytes, length);
    return ((ph_wbuf_t *)sink)->failed ? 2 : 0;
}
