/*
 * A strict JSON well-formedness check, with the host's rules (its JSONParser): RFC 8259, any value
 * at the top with optional whitespace around it and nothing after it; nested at most
 * PH_JSON_MAX_DEPTH deep; strings of well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * past U+10FFFF) without raw control characters; no escaped lone surrogate; no key twice in one
 * object (compared after unescaping); no comments, trailing commas, leading zeros or NaN. Used on
 * plugins' JSON results and on schemas at registration. Never reads outside the given bytes.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const unsigned char *start, *at, *end;
    int depth;
    char *why;
    size_t capacity;
} reader_t;

/* One key of an object: its bytes between the quotes, and a hash of what they decode to. */
typedef struct key {
    const unsigned char *start, *end;
    uint64_t hash;
} json_key_t;

static bool fail(reader_t *r, const char *reason) {
    snprintf(r->why, r->capacity, "%s at byte %zu", reason, (size_t)(r->at - r->start));
    return false;
}

static void space(reader_t *r) {
    while (r->at < r->end && (*r->at == ' ' || *r->at == '\n' || *r->at == '\r' || *r->at == '\t')) r->at++;
}

static int hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at `p` (before `end`), or -1. */
static long hex4(const unsigned char *p, const unsigned char *end) {
    if (end - p < 4) return -1;
    long value = 0;
    for (int i = 0; i < 4; i++) {
        int digit = hex(p[i]);
        if (digit < 0) return -1;
        value = value << 4 | digit;
    }
    return value;
}

size_t vt_utf8_sequence(const unsigned char *p, const unsigned char *end) {
    unsigned char lead = *p, low = 0x80, high = 0xBF;
    size_t length;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) { length = 3; low = 0xA0; }
    else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) length = 3;
    else if (lead == 0xED) { length = 3; high = 0x9F; }
    else if (lead == 0xF0) { length = 4; low = 0x90; }
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else if (lead == 0xF4) { length = 4; high = 0x8F; }
    else return 0;
    if ((size_t)(end - p) < length) return 0;
    for (size_t i = 1; i < length; i++) {
        unsigned char min = i == 1 ? low : 0x80, max = i == 1 ? high : 0xBF;
        if (p[i] < min || p[i] > max) return 0;
    }
    return length;
}

/* The next code point of a checked string's contents at `*p` (escapes decoded); advances `*p`. */
static uint32_t next_code_point(const unsigned char **p) {
    const unsigned char *at = *p;
    if (*at != '\\') {
        unsigned char lead = *at;
        size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        uint32_t code = length == 1 ? lead : length == 2 ? lead & 0x1Fu : length == 3 ? lead & 0x0Fu : lead & 0x07u;
        for (size_t i = 1; i < length; i++) code = code << 6 | (at[i] & 0x3Fu);
        *p = at + length;
        return code;
    }
    unsigned char escape = at[1];
    *p = at + 2;
    switch (escape) {
    case 'b': return 0x08;
    case 'f': return 0x0C;
    case 'n': return 0x0A;
    case 'r': return 0x0D;
    case 't': return 0x09;
    case 'u': {
        uint32_t code = (uint32_t)hex4(at + 2, at + 6);
        *p = at + 6;
        if (code >= 0xD800 && code < 0xDC00) {   /* checked: a low surrogate escape follows */
            uint32_t low = (uint32_t)hex4(at + 8, at + 12);
            *p = at + 12;
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        return code;
    }
    default: return escape;   /* " \ / */
    }
}

static uint64_t key_hash(const unsigned char *start, const unsigned char *end) {
    uint64_t hash = 1469598103934665603u;
    for (const unsigned char *p = start; p < end;) hash = (hash ^ next_code_point(&p)) * 1099511628211u;
    return hash;
}

static bool same_key(const json_key_t *a, const json_key_t *b) {
    const unsigned char *p = a->start, *q = b->start;
    while (p < a->end && q < b->end) {
        if (next_code_point(&p) != next_code_point(&q)) return false;
    }
    return p == a->end && q == b->end;
}

/* A string at its opening quote; its contents' span into `key` when asked. */
static bool string(reader_t *r, json_key_t *key) {
    r->at++;
    const unsigned char *contents = r->at;
    while (r->at < r->end) {
        unsigned char c = *r->at;
        if (c == '"') {
            if (key != NULL) *key = (json_key_t){contents, r->at, key_hash(contents, r->at)};
            r->at++;
            return true;
        }
        if (c == '\\') {
            if (r->end - r->at < 2) return fail(r, "unterminated escape");
            unsigned char escape = r->at[1];
            if (strchr("\"\\/bfnrt", escape) != NULL && escape != 0) {
                r->at += 2;
                continue;
            }
            if (escape != 'u') return fail(r, "invalid escape");
            long code = hex4(r->at + 2, r->end);
            if (code < 0) return fail(r, "a \\u escape needs four hex digits");
            if (code >= 0xDC00 && code < 0xE000) return fail(r, "a lone low surrogate escape");
            if (code >= 0xD800 && code < 0xDC00) {
                long low = r->end - r->at >= 12 && r->at[6] == '\\' && r->at[7] == 'u' ? hex4(r->at + 8, r->end) : -1;
                if (low < 0xDC00 || low >= 0xE000) return fail(r, "a high surrogate escape without its low surrogate");
                r->at += 12;
            } else {
                r->at += 6;
            }
            continue;
        }
        if (c < 0x20) return fail(r, "a control character in a string must be escaped");
        if (c < 0x80) {
            r->at++;
            continue;
        }
        size_t length = vt_utf8_sequence(r->at, r->end);
        if (length == 0) return fail(r, "not UTF-8");
        r->at += length;
    }
    return fail(r, "unterminated string");
}

static bool digits(reader_t *r) {
    if (r->at >= r->end || *r->at < '0' || *r->at > '9') return false;
    while (r->at < r->end && *r->at >= '0' && *r->at <= '9') r->at++;
    return true;
}

static bool number(reader_t *r) {
    if (*r->at == '-') r->at++;
    if (r->at >= r->end || *r->at < '0' || *r->at > '9') return fail(r, "expected a digit");
    if (*r->at == '0' && r->end - r->at > 1 && r->at[1] >= '0' && r->at[1] <= '9') return fail(r, "a number cannot have a leading zero");
    digits(r);
    if (r->at < r->end && *r->at == '.') {
        r->at++;
        if (!digits(r)) return fail(r, "expected a digit after '.'");
    }
    if (r->at < r->end && (*r->at == 'e' || *r->at == 'E')) {
        r->at++;
        if (r->at < r->end && (*r->at == '+' || *r->at == '-')) r->at++;
        if (!digits(r)) return fail(r, "expected a digit in the exponent");
    }
    return true;
}

static bool literal(reader_t *r, const char *word) {
    size_t length = strlen(word);
    if ((size_t)(r->end - r->at) < length || memcmp(r->at, word, length) != 0) {
        return fail(r, "unexpected text (expected true, false or null)");
    }
    r->at += length;
    return true;
}

static bool value(reader_t *r);

static int by_hash(const void *a, const void *b) {
    uint64_t x = ((const json_key_t *)a)->hash, y = ((const json_key_t *)b)->hash;
    return x < y ? -1 : x > y;
}

/* After an object's keys are read: false (with the reason) when one of them is there twice. */
static bool distinct(reader_t *r, json_key_t *keys, size_t count) {
    qsort(keys, count, sizeof *keys, by_hash);
    for (size_t i = 0; i < count; i++) {
        for (size_t j = i + 1; j < count && keys[j].hash == keys[i].hash; j++) {
            if (same_key(&keys[i], &keys[j])) {
                const unsigned char *first = keys[i].start < keys[j].start ? keys[i].start : keys[j].start;
                const unsigned char *second = keys[i].start < keys[j].start ? keys[j].start : keys[i].start;
                int shown = (int)(keys[i].end - keys[i].start);
                snprintf(r->why, r->capacity, "duplicate key \"%.*s\" at bytes %zu and %zu", shown > 60 ? 60 : shown,
                         (const char *)keys[i].start, (size_t)(first - r->start) - 1, (size_t)(second - r->start) - 1);
                return false;
            }
        }
    }
    return true;
}

static bool enter(reader_t *r) {
    if (++r->depth > PH_JSON_MAX_DEPTH) return fail(r, "nested more than 64 deep");
    r->at++;
    space(r);
    return true;
}

static bool object(reader_t *r) {
    if (!enter(r)) return false;
    json_key_t *keys = NULL;
    size_t count = 0, capacity = 0;
    bool ok = true;
    if (r->at < r->end && *r->at == '}') {
        r->at++;
    } else {
        for (;;) {
            space(r);
            if (r->at >= r->end || *r->at != '"') { ok = fail(r, "expected a string key"); break; }
            if (count == capacity) {
                capacity = capacity ? capacity * 2 : 8;
                json_key_t *bigger = realloc(keys, capacity * sizeof *keys);
                if (bigger == NULL) { ok = fail(r, "out of memory"); break; }
                keys = bigger;
            }
            if (!(ok = string(r, &keys[count]))) break;
            count++;
            space(r);
            if (r->at >= r->end || *r->at != ':') { ok = fail(r, "expected ':' after a key"); break; }
            r->at++;
            space(r);
            if (!(ok = value(r))) break;
            space(r);
            if (r->at < r->end && *r->at == ',') { r->at++; continue; }
            if (r->at < r->end && *r->at == '}') { r->at++; break; }
            ok = fail(r, "expected ',' or '}' in an object");
            break;
        }
    }
    if (ok) ok = distinct(r, keys, count);
    free(keys);
    r->depth--;
    return ok;
}

static bool array(reader_t *r) {
    if (!enter(r)) return false;
    if (r->at < r->end && *r->at == ']') {
        r->at++;
        r->depth--;
        return true;
    }
    for (;;) {
        space(r);
        if (!value(r)) return false;
        space(r);
        if (r->at < r->end && *r->at == ',') { r->at++; continue; }
        if (r->at < r->end && *r->at == ']') { r->at++; r->depth--; return true; }
        return fail(r, "expected ',' or ']' in an array");
    }
}

static bool value(reader_t *r) {
    if (r->at >= r->end) return fail(r, "unexpected end of document");
    switch (*r->at) {
    case '{': return object(r);
    case '[': return array(r);
    case '"': return string(r, NULL);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    default:
        if (*r->at == '-' || (*r->at >= '0' && *r->at <= '9')) return number(r);
        return fail(r, "unexpected character");
    }
}

const char *vt_json_problem(const void *text, size_t length, char *why, size_t capacity) {
    reader_t r = {text, text, (const unsigned char *)text + length, 0, why, capacity};
    if (text == NULL) {
        snprintf(why, capacity, "no document (NULL)");
        return why;
    }
    space(&r);
    if (r.at >= r.end) {
        fail(&r, "empty document");
        return why;
    }
    if (!value(&r)) return why;
    space(&r);
    if (r.at < r.end) {
        fail(&r, "unexpected text after the document");
        return why;
    }
    return NULL;
}
