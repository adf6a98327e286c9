/*
 * The requests the validator sends an endpoint (method as registered, the path made from its
 * pattern with every capture filled, percent-encoded):
 *   raw endpoint         1. no query, no headers, an empty body
 *                        2. a query, JSON headers and a JSON body
 *                        3. percent-escapes ("%00", "%2F", an invalid "%G1") and UTF-8 in the path,
 *                           query, a header and the body
 *                        4. 64 KiB of random bytes as the body (NULs and invalid UTF-8 included)
 *                        5. long values: a 4 KiB capture and query value, 64 headers, a 1 MiB body
 *   typed, handler form  the host parsed every parameter before the handler runs, so each request
 *                        carries values of the parameters' types, also written where they come
 *                        from (path, query, header, body, a property a wrapper set):
 *                        1. neutral values (1, true, "validator", the body_schema's example or {})
 *                        2. edge values (INT_MIN, 0, -0.0, false, "" or a one-character capture,
 *                           no bytes, another JSON document)
 *                        3. large values (INT_MAX, UINT64_MAX, DBL_MAX, 64 KiB strings and bytes)
 * Only what the host can hand over: strings are UTF-8 without NULs, doubles finite, a header value
 * has no control bytes (a parameter read from a header keeps its neutral value otherwise).
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANDOM_SIZE (64u * 1024u)
#define BIG_SIZE (1u << 20)
#define LONG_SIZE 4096u

#define MANY_HEADERS 64

static unsigned char random_bytes[RANDOM_SIZE];
static char big[BIG_SIZE + 1];
static char long_capture[LONG_SIZE + 1], long_query[LONG_SIZE + 3];
static char header_names[MANY_HEADERS][24], header_values[MANY_HEADERS][24];
static const char *many_headers[2 * MANY_HEADERS + 1];
static pthread_once_t filled = PTHREAD_ONCE_INIT;

static void fill(void) {
    vt_random_bytes(random_bytes, sizeof random_bytes, 12);
    memset(big, 'v', BIG_SIZE);
    memset(long_capture, 'v', LONG_SIZE);
    memcpy(long_query, "v=", 2);
    memset(long_query + 2, 'v', LONG_SIZE);
    for (int i = 0; i < MANY_HEADERS; i++) {
        snprintf(header_names[i], sizeof header_names[i], "X-Validator-%d", i);
        snprintf(header_values[i], sizeof header_values[i], "value %d", i);
        many_headers[2 * i] = header_names[i];
        many_headers[2 * i + 1] = header_values[i];
    }
}

/* A growing text. */
typedef struct buffer {
    char *data;
    size_t length, capacity;
} buffer_t;

static void append(buffer_t *b, const void *bytes, size_t length) {
    if (b->length + length + 1 > b->capacity) {
        size_t capacity = (b->length + length + 1) * 2;
        char *bigger = realloc(b->data, capacity);
        if (bigger == NULL) return;
        b->data = bigger;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, bytes, length);
    b->length += length;
    b->data[b->length] = 0;
}

static void append_text(buffer_t *b, const char *text) { append(b, text, strlen(text)); }

/* Appends `length` bytes percent-encoded (all but unreserved characters). */
static void append_encoded(buffer_t *b, const unsigned char *bytes, size_t length) {
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = bytes[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~", c) != NULL;
        if (plain && c != 0) {
            append(b, &c, 1);
        } else {
            char escape[3] = {'%', digits[c >> 4], digits[c & 15]};
            append(b, escape, 3);
        }
    }
}

/* The next non-empty segment of a pattern. */
static bool next_segment(const char **at, const char **segment, size_t *length) {
    while (**at == '/') (*at)++;
    if (**at == 0) return false;
    *segment = *at;
    *length = strcspn(*at, "/");
    *at += *length;
    return true;
}

/* ---- raw endpoints ---- */

/* One raw request: how its captures are written in the path (and what they decode to), its query,
 * headers and body. */
typedef struct raw_variant {
    const char *label;
    const char *capture;        /* as written in the path */
    const char *decoded;        /* what path_param answers */
    size_t decoded_length;
    const char *query;
    const char *const *headers; /* name, value, ..., NULL */
    const void *body;
    size_t body_length;
} raw_variant_t;

static const char *const json_headers[] = {"Content-Type", "application/json", "Accept", "application/json",
                                           "Authorization", "Bearer validator", "X-Request-Id", "1", NULL};
static const char *const text_headers[] = {"Content-Type", "text/plain; charset=utf-8", "Accept-Language", "fr-FR",
                                           "X-Validator", "\xc3\xa9t\xc3\xa9", NULL};
static const char *const bytes_headers[] = {"Content-Type", "application/octet-stream", NULL};
static const char json_body[] = "{\"name\":\"validator\",\"values\":[1,2,3]}";
static const char text_body[] = "\xc3\xa9t\xc3\xa9 \xe2\x98\x80";

static void raw_request(vq_request_t *request, const vh_endpoint_t *endpoint, const raw_variant_t *v) {
    buffer_t path = {0};
    const char *at = endpoint->path, *segment;
    size_t length;
    while (next_segment(&at, &segment, &length)) {
        append_text(&path, "/");
        if (segment[0] == ':') {
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(length - 1), segment + 1);
            append_text(&path, v->capture);
            vq_add_capture(request, name, v->decoded, v->decoded_length);
        } else {
            append(&path, segment, length);
        }
    }
    if (path.length == 0) append_text(&path, "/");
    vq_set_path(request, path.data);
    free(path.data);
    if (v->query != NULL) vq_set_query(request, v->query);
    for (const char *const *h = v->headers; h != NULL && h[0] != NULL; h += 2) vq_add_header(request, h[0], h[1]);
    vq_set_body(request, v->body, v->body_length);
}

static size_t raw_requests(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, vq_request_t **out, size_t capacity) {
    const raw_variant_t variants[] = {
        {"no query, no headers, an empty body", "validator", "validator", 9, NULL, NULL, "", 0},
        {"a query, JSON headers and a JSON body", "1", "1", 1, "name=validator&id=1&limit=10&flag", json_headers, json_body,
         sizeof json_body - 1},
        {"percent-escapes and UTF-8 in the path, query, a header and the body", "%C3%A9t%C3%A9%20%2F%00x",
         "\xc3\xa9t\xc3\xa9 /\0x", 9, "q=%C3%A9%20%2B+x&empty=&%00=nul&bad=%G1%", text_headers, text_body, sizeof text_body - 1},
        {"64 KiB of random bytes as the body", "-1", "-1", 2, "a=%FF%FE", bytes_headers, random_bytes, RANDOM_SIZE},
        {"long values: a 4 KiB capture and query value, 64 headers, a 1 MiB body", long_capture, long_capture, LONG_SIZE,
         long_query, many_headers, big, BIG_SIZE},
    };
    size_t count = 0;
    for (size_t i = 0; i < sizeof variants / sizeof *variants && count < capacity; i++) {
        char label[200];
        snprintf(label, sizeof label, "request %zu: %s", i + 1, variants[i].label);
        vq_request_t *request = vq_new(run, host, endpoint, label);
        raw_request(request, endpoint, &variants[i]);
        out[count++] = request;
    }
    return count;
}

/* ---- typed endpoints in the handler form ---- */

#define TYPED_VARIANTS 3

static const char *const typed_labels[TYPED_VARIANTS] = {"neutral parameter values", "edge parameter values",
                                                          "large parameter values"};
static const char *const json_documents[TYPED_VARIANTS] = {
    "{}", "[1,-0.5e3,true,null,\"\\u00e9\xe2\x82\xac\xf0\x9f\x98\x80\"]", "{\"a\":{\"b\":[[[]]]},\"c\":\"validator\",\"d\":1e300}"};

/* One parameter's value in variant `v`: its `param` encoding in `encoded`, its text (as the request
 * carries it) in `text`. */
static void typed_value(const vh_endpoint_t *endpoint, const ph_param_t *param, int v, buffer_t *encoded, buffer_t *text) {
    char number[64];
    switch (param->type) {
    case PH_TYPE_BOOL: {
        unsigned char flag = v == 1 ? 0 : 1;
        append(encoded, &flag, 1);
        append_text(text, flag ? "true" : "false");
        break;
    }
    case PH_TYPE_INT32: case PH_TYPE_INT64: {
        int64_t value = v == 0 ? 1 : param->type == PH_TYPE_INT32 ? (v == 1 ? INT32_MIN : INT32_MAX) : (v == 1 ? INT64_MIN : INT64_MAX);
        append(encoded, &value, 8);
        snprintf(number, sizeof number, "%lld", (long long)value);
        append_text(text, number);
        break;
    }
    case PH_TYPE_UINT64: {
        uint64_t value = v == 0 ? 1 : v == 1 ? 0 : UINT64_MAX;
        append(encoded, &value, 8);
        snprintf(number, sizeof number, "%llu", (unsigned long long)value);
        append_text(text, number);
        break;
    }
    case PH_TYPE_DOUBLE: {
        double value = v == 0 ? 1.0 : v == 1 ? -0.0 : DBL_MAX;
        append(encoded, &value, 8);
        snprintf(number, sizeof number, "%.17g", value);
        append_text(text, number);
        break;
    }
    case PH_TYPE_STRING: case PH_TYPE_BYTES: {
        const void *bytes = "validator";
        size_t length = 9;
        if (v == 1) {
            bool capture = param->source == PH_SOURCE_PATH;   /* a capture is never empty */
            bytes = capture ? (param->type == PH_TYPE_STRING ? "\xc3\xa9" : "\xff") : "";
            length = capture ? (param->type == PH_TYPE_STRING ? 2 : 1) : 0;
        } else if (v == 2) {
            bytes = param->type == PH_TYPE_STRING ? (const void *)big : (const void *)random_bytes;
            length = RANDOM_SIZE;
        }
        if (param->source == PH_SOURCE_HEADER) {
            bool safe = true;
            const unsigned char *text = bytes;
            for (size_t i = 0; i < length && safe; i++) safe = text[i] >= 0x20 && text[i] != 0x7F;
            if (!safe || (param->type == PH_TYPE_BYTES && v == 2)) { bytes = "validator"; length = 9; }
        }
        append(encoded, bytes, length);
        append(text, bytes, length);
        break;
    }
    case PH_TYPE_JSON: {
        const char *document = endpoint->body_example != NULL ? endpoint->body_example : json_documents[v];
        append_text(encoded, document);
        append_text(text, document);
        break;
    }
    default:
        break;
    }
}

static vq_request_t *typed_request(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, int v) {
    char label[200];
    snprintf(label, sizeof label, "request %d: %s", v + 1, typed_labels[v]);
    vq_request_t *request = vq_new(run, host, endpoint, label);
    buffer_t query = {0};
    buffer_t values[VH_MAX_PARAMS], texts[VH_MAX_PARAMS];
    memset(values, 0, sizeof values);
    memset(texts, 0, sizeof texts);
    for (size_t i = 0; i < endpoint->param_count; i++) {
        const ph_param_t *param = &endpoint->params[i];
        typed_value(endpoint, param, v, &values[i], &texts[i]);
        const void *value = values[i].data != NULL ? values[i].data : "";
        vq_add_param(request, param->name, param->type, value, values[i].length);
        const char *text = texts[i].data != NULL ? texts[i].data : "";
        switch (param->source) {
        case PH_SOURCE_PATH: vq_add_capture(request, param->name, text, texts[i].length); break;
        case PH_SOURCE_QUERY:
            if (query.length > 0) append_text(&query, "&");
            append_encoded(&query, (const unsigned char *)param->name, strlen(param->name));
            append_text(&query, "=");
            append_encoded(&query, (const unsigned char *)text, texts[i].length);
            break;
        case PH_SOURCE_HEADER: vq_add_header(request, param->name, text); break;
        case PH_SOURCE_BODY:
            vq_set_body(request, text, texts[i].length);
            if (param->type == PH_TYPE_JSON) vq_add_header(request, "Content-Type", "application/json");
            break;
        case PH_SOURCE_PLUGIN: vq_add_property(request, param->name, param->type, value, values[i].length); break;
        default: break;
        }
    }
    /* The path: literal segments as registered, captures encoded. */
    buffer_t path = {0};
    const char *at = endpoint->path, *segment;
    size_t length;
    while (next_segment(&at, &segment, &length)) {
        append_text(&path, "/");
        if (segment[0] != ':') {
            append(&path, segment, length);
            continue;
        }
        size_t index = endpoint->param_count;
        for (size_t i = 0; i < endpoint->param_count && index == endpoint->param_count; i++) {
            const ph_param_t *param = &endpoint->params[i];
            bool named = strlen(param->name) == length - 1 && memcmp(param->name, segment + 1, length - 1) == 0;
            if (param->source == PH_SOURCE_PATH && named) index = i;
        }
        if (index < endpoint->param_count) {
            append_encoded(&path, (const unsigned char *)(texts[index].data != NULL ? texts[index].data : ""), texts[index].length);
        } else {
            append_text(&path, "validator");   /* a capture no parameter reads */
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(length - 1), segment + 1);
            vq_add_capture(request, name, "validator", 9);
        }
    }
    if (path.length == 0) append_text(&path, "/");
    vq_set_path(request, path.data);
    if (query.length > 0) vq_set_query(request, query.data);
    free(path.data);
    free(query.data);
    for (size_t i = 0; i < endpoint->param_count; i++) {
        free(values[i].data);
        free(texts[i].data);
    }
    return request;
}

size_t vg_requests(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, vq_request_t **out, size_t capacity) {
    pthread_once(&filled, fill);
    if (!VH_HANDLES(endpoint)) return 0;
    if (endpoint->kind == PH_ENDPOINT_RAW) return raw_requests(run, host, endpoint, out, capacity);
    size_t count = 0;
    for (int v = 0; v < TYPED_VARIANTS && count < capacity; v++) out[count++] = typed_request(run, host, endpoint, v);
    return count;
}
