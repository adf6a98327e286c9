/*
 * plughost JSON helper — header-only, for C plugins with PH_TYPE_JSON endpoints (ABI 1.3).
 *
 * Builder: write a JSON result without a JSON library.
 *     ph_json_t j = {0};                       // or ph_json_init(&j)
 *     ph_json_begin_object(&j);
 *     ph_json_key(&j, "count"); ph_json_int64(&j, 3);
 *     ph_json_end_object(&j);
 *     const char *text = ph_json_text(&j);     // NULL if anything failed
 *     ...
 *     ph_json_free(&j);
 * A mistake (allocation failure, a key outside an object, a value where a key
 * belongs, unbalanced nesting, a second top-level value) marks the builder failed:
 * later calls do nothing and ph_json_text answers NULL. Strings are escaped per
 * RFC 8259; bytes that are not UTF-8 are written as U+FFFD, so the text is always
 * valid JSON.
 *
 * Reader: spans over a document, no allocation. Meant for a body the host already
 * checked (well-formed, no duplicate keys), yet it never reads outside the given
 * bytes and answers false / PH_JSON_INVALID on malformed input instead of crashing.
 *     ph_json_value_t values;
 *     if (ph_json_member(ph_json_root(json, length), "values", &values)) {
 *         ph_json_cursor_t cursor = {0};
 *         ph_json_value_t item;
 *         while (ph_json_array_next(values, &cursor, &item)) { ... }
 *         if (cursor.failed) { ... malformed ... }
 *     }
 *
 * Numbers use snprintf/strtod; the decimal point is '.' whatever LC_NUMERIC says.
 */
#pragma once

#include "http.h"

#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== builder */

/** A JSON document being written. Zero-initialised (`= {0}`) is ready to use. */
typedef struct ph_json {
    char *data;          /**< The text so far, malloc'd, NUL-terminated (NULL before the first write). */
    size_t length;       /**< Bytes in `data`, without the NUL. */
    size_t capacity;     /**< Bytes allocated for `data`. */
    bool failed;         /**< Set by the first mistake; the builder then ignores every call. */
    unsigned depth;      /**< Arrays and objects open. */
    unsigned char level[PH_JSON_MAX_DEPTH + 1]; /**< Per depth: the PH_JSON_LEVEL_ bits (0 is the top). */
} ph_json_t;

#define PH_JSON_LEVEL_OBJECT 1u  /**< This level is an object (else an array, or the top). */
#define PH_JSON_LEVEL_FILLED 2u  /**< Something was written at this level: a comma comes next. */
#define PH_JSON_LEVEL_KEYED 4u   /**< Object: a key was written, its value is due. */

/** Appends `n` bytes, growing the buffer (internal). */
static inline void ph_json_append_(ph_json_t *j, const char *s, size_t n) {
    if (j->failed) return;
    if (n >= SIZE_MAX / 2 - j->length) { j->failed = true; return; }
    if (j->length + n + 1 > j->capacity) {
        size_t capacity = j->capacity < 64 ? 64 : j->capacity;
        while (capacity < j->length + n + 1) capacity *= 2;
        char *data = (char *)realloc(j->data, capacity);
        if (data == NULL) { j->failed = true; return; }
        j->data = data;
        j->capacity = capacity;
    }
    memcpy(j->data + j->length, s, n);
    j->length += n;
    j->data[j->length] = 0;
}

/** Checks a value may come now and writes the comma before it (internal). */
static inline bool ph_json_value_(ph_json_t *j) {
    if (j->failed) return false;
    unsigned char *level = &j->level[j->depth];
    if (j->depth == 0 && (*level & PH_JSON_LEVEL_FILLED)) j->failed = true;   /* a second document */
    else if (*level & PH_JSON_LEVEL_OBJECT) {
        if (!(*level & PH_JSON_LEVEL_KEYED)) j->failed = true;               /* a value without a key */
        *level &= (unsigned char)~PH_JSON_LEVEL_KEYED;
    } else if (*level & PH_JSON_LEVEL_FILLED) ph_json_append_(j, ",", 1);
    *level |= PH_JSON_LEVEL_FILLED;
    return !j->failed;
}

/** The length of the UTF-8 sequence at `s` (at most `n` bytes), with `*valid` telling whether
 *  it is a character; when not, the bytes to replace by one U+FFFD (internal). */
static inline size_t ph_json_utf8_(const unsigned char *s, size_t n, bool *valid) {
    unsigned char lo = 0x80, hi = 0xBF;  /* the range of the second byte (Unicode table 3-7) */
    size_t need;
    *valid = false;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) need = 1;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) { need = 2; if (s[0] == 0xE0) lo = 0xA0; if (s[0] == 0xED) hi = 0x9F; }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) { need = 3; if (s[0] == 0xF0) lo = 0x90; if (s[0] == 0xF4) hi = 0x8F; }
    else return 1;
    for (size_t i = 1; i <= need; i++, lo = 0x80, hi = 0xBF) {
        if (i >= n || s[i] < lo || s[i] > hi) return i;
    }
    *valid = true;
    return need + 1;
}

/** Writes `n` bytes as a quoted, escaped JSON string (internal). */
static inline void ph_json_quote_(ph_json_t *j, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;  /* start of the bytes copied as they are */
    ph_json_append_(j, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { i++; continue; }
        ph_json_append_(j, s + run, i - run);
        if (c >= 0x80) {
            bool valid;
            size_t k = ph_json_utf8_(u + i, n - i, &valid);
            ph_json_append_(j, valid ? s + i : "\xEF\xBF\xBD", valid ? k : 3);
            i += k;
        } else {
            char e[7] = {'\\', (char)c, 0, 0, 0, 0, 0};
            size_t len = 2;
            switch (c) {
            case '"': case '\\': break;
            case '\b': e[1] = 'b'; break;
            case '\f': e[1] = 'f'; break;
            case '\n': e[1] = 'n'; break;
            case '\r': e[1] = 'r'; break;
            case '\t': e[1] = 't'; break;
            default: memcpy(e + 1, "u00", 3); e[4] = hex[c >> 4]; e[5] = hex[c & 15]; len = 6;
            }
            ph_json_append_(j, e, len);
            i++;
        }
        run = i;
    }
    ph_json_append_(j, s + run, n - run);
    ph_json_append_(j, "\"", 1);
}

/** Writes a value's text as it is, after the checks and the comma (internal). */
static inline void ph_json_scalar_(ph_json_t *j, const char *text, size_t n) {
    if (ph_json_value_(j)) ph_json_append_(j, text, n);
}

/** Opens an array or object (internal). */
static inline void ph_json_open_(ph_json_t *j, const char *bracket, unsigned char kind) {
    if (!ph_json_value_(j)) return;
    if (j->depth == PH_JSON_MAX_DEPTH) { j->failed = true; return; }
    j->level[++j->depth] = kind;
    ph_json_append_(j, bracket, 1);
}

/** Closes the innermost array or object, which must be of `kind` (internal). */
static inline void ph_json_close_(ph_json_t *j, const char *bracket, unsigned char kind) {
    if (j->failed) return;
    unsigned char level = j->level[j->depth];
    if (j->depth == 0 || (level & PH_JSON_LEVEL_OBJECT) != kind || (level & PH_JSON_LEVEL_KEYED)) {
        j->failed = true;
        return;
    }
    j->depth--;
    ph_json_append_(j, bracket, 1);
}

/** Makes `j` an empty builder (same as `= {0}`); it owns nothing yet. */
static inline void ph_json_init(ph_json_t *j) { memset(j, 0, sizeof *j); }

/** Empties `j` for a new document, clearing a failure; keeps its buffer for reuse. */
static inline void ph_json_reset(ph_json_t *j) {
    char *data = j->data;
    size_t capacity = j->capacity;
    ph_json_init(j);
    j->data = data;
    j->capacity = capacity;
    if (data != NULL) data[0] = 0;
}

/** Frees the buffer; `j` is then empty and may be used again. */
static inline void ph_json_free(ph_json_t *j) {
    free(j->data);
    ph_json_init(j);
}

/** Starts an object: a value, then key/value pairs, then ph_json_end_object. */
static inline void ph_json_begin_object(ph_json_t *j) { ph_json_open_(j, "{", PH_JSON_LEVEL_OBJECT); }

/** Ends the innermost object (a failure when it is an array or a key has no value). */
static inline void ph_json_end_object(ph_json_t *j) { ph_json_close_(j, "}", PH_JSON_LEVEL_OBJECT); }

/** Starts an array: a value, then its elements, then ph_json_end_array. */
static inline void ph_json_begin_array(ph_json_t *j) { ph_json_open_(j, "[", 0); }

/** Ends the innermost array (a failure when it is an object). */
static inline void ph_json_end_array(ph_json_t *j) { ph_json_close_(j, "]", 0); }

/** Writes a member's key (NUL-terminated); only inside an object, before each value. */
static inline void ph_json_key(ph_json_t *j, const char *key) {
    if (j->failed) return;
    unsigned char *level = &j->level[j->depth];
    if (key == NULL || !(*level & PH_JSON_LEVEL_OBJECT) || (*level & PH_JSON_LEVEL_KEYED)) {
        j->failed = true;
        return;
    }
    if (*level & PH_JSON_LEVEL_FILLED) ph_json_append_(j, ",", 1);
    *level |= PH_JSON_LEVEL_FILLED | PH_JSON_LEVEL_KEYED;
    ph_json_quote_(j, key, strlen(key));
    ph_json_append_(j, ":", 1);
}

/** Writes `n` bytes as a string value (NULs included, escaped); `s` may be NULL only when `n` is 0. */
static inline void ph_json_string_n(ph_json_t *j, const char *s, size_t n) {
    if (s == NULL && n > 0) j->failed = true;
    if (ph_json_value_(j)) ph_json_quote_(j, s == NULL ? "" : s, n);
}

/** Writes a NUL-terminated string value; NULL writes `null`. */
static inline void ph_json_string(ph_json_t *j, const char *s) {
    if (s == NULL) ph_json_scalar_(j, "null", 4);
    else ph_json_string_n(j, s, strlen(s));
}

/** Writes a signed integer, exactly. */
static inline void ph_json_int64(ph_json_t *j, int64_t v) {
    char text[24];
    ph_json_scalar_(j, text, (size_t)snprintf(text, sizeof text, "%" PRId64, v));
}

/** Writes an unsigned integer, exactly. */
static inline void ph_json_uint64(ph_json_t *j, uint64_t v) {
    char text[24];
    ph_json_scalar_(j, text, (size_t)snprintf(text, sizeof text, "%" PRIu64, v));
}

/** Writes a double as the shortest of %.15g, %.16g and %.17g that reads back the same value
 *  (the shortest round-trip text: 2 as `2`, 0.1 as `0.1`, 1e300 as `1e+300`, -0.0 as `-0`;
 *  subnormals try fewer digits too, 5e-324 as `5e-324`); NaN and infinities as `null`. */
static inline void ph_json_double(ph_json_t *j, double v) {
    if (!isfinite(v)) { ph_json_scalar_(j, "null", 4); return; }
    char text[40], out[40];
    for (int precision = fabs(v) < DBL_MIN ? 1 : 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, v);
        if (strtod(text, NULL) == v) break;   /* both in the current locale */
    }
    size_t n = 0;  /* copy it with '.' for the locale's decimal point, whatever its length */
    for (const char *p = text; *p != 0; p++) {
        if (strchr("0123456789+-eE", *p) != NULL) out[n++] = *p;
        else if (n == 0 || out[n - 1] != '.') out[n++] = '.';
    }
    ph_json_scalar_(j, out, n);
}

/** Writes `true` or `false`. */
static inline void ph_json_bool(ph_json_t *j, bool v) { ph_json_scalar_(j, v ? "true" : "false", v ? 4 : 5); }

/** Writes `null`. */
static inline void ph_json_null(ph_json_t *j) { ph_json_scalar_(j, "null", 4); }

/** The finished document, NUL-terminated and owned by `j` (valid until the next call on
 *  `j`); NULL when something failed, nesting is still open, or nothing was written. */
static inline const char *ph_json_text(const ph_json_t *j) {
    if (j->failed || j->depth != 0 || !(j->level[0] & PH_JSON_LEVEL_FILLED)) return NULL;
    return j->data;
}

/* ====================================================================== reader */

/** A JSON value: exactly its bytes inside the document (no surrounding whitespace).
 *  `start` NULL is the invalid value, which every reader function refuses. */
typedef struct ph_json_value {
    const char *start;
    size_t length;
} ph_json_value_t;

/** What ph_json_type answers. */
typedef enum ph_json_type {
    PH_JSON_INVALID = 0,
    PH_JSON_OBJECT, PH_JSON_ARRAY, PH_JSON_STRING, PH_JSON_NUMBER, PH_JSON_TRUE, PH_JSON_FALSE, PH_JSON_NULL,
} ph_json_type_t;

/** Where an iteration over an array or object stands. Start it zeroed: `ph_json_cursor_t c = {0};` */
typedef struct ph_json_cursor {
    size_t offset;  /**< Where reading resumes, from the container's first byte; 0 before the first call. */
    bool failed;    /**< Set when the container turned out malformed; the iteration then stops. */
} ph_json_cursor_t;

/** Not a string: what ph_json_string_copy answers for a value that is not a well-formed string. */
#define PH_JSON_NOT_A_STRING SIZE_MAX

/** Skips JSON whitespace (internal). */
static inline const char *ph_json_space_(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/** The end of the string starting at the quote `p`, or NULL (internal). */
static inline const char *ph_json_skip_string_(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '"') return p + 1;
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\' && ++p == end) return NULL;
    }
    return NULL;
}

/** The end of the number at `p` (RFC 8259 grammar), or NULL (internal). */
static inline const char *ph_json_skip_number_(const char *p, const char *end) {
#define PH_JSON_DIGIT_(q) ((q) < end && *(q) >= '0' && *(q) <= '9')
    if (p < end && *p == '-') p++;
    if (!PH_JSON_DIGIT_(p)) return NULL;
    if (*p++ != '0') while (PH_JSON_DIGIT_(p)) p++;
    if (p < end && *p == '.') {
        if (!PH_JSON_DIGIT_(p + 1)) return NULL;
        for (p++; PH_JSON_DIGIT_(p); p++) {}
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (!PH_JSON_DIGIT_(p)) return NULL;
        while (PH_JSON_DIGIT_(p)) p++;
    }
    return p;
#undef PH_JSON_DIGIT_
}

/** The end of the value at `p`, or NULL (internal). Containers are matched bracket by bracket
 *  (iteratively, at most 64 deep) but not checked inside: the cursor checks what it visits. */
static inline const char *ph_json_skip_(const char *p, const char *end) {
    if (p >= end) return NULL;
    if (*p == '"') return ph_json_skip_string_(p, end);
    if (*p == '-' || (*p >= '0' && *p <= '9')) return ph_json_skip_number_(p, end);
    static const char *const words[] = {"true", "false", "null"};
    for (int w = 0; w < 3; w++) {
        size_t n = strlen(words[w]);
        if (*p == words[w][0]) return (size_t)(end - p) >= n && memcmp(p, words[w], n) == 0 ? p + n : NULL;
    }
    uint64_t objects = 0;  /* bit d: the container at depth d+1 is an object */
    unsigned depth = 0;
    do {
        if (p >= end) return NULL;
        if (*p == '{' || *p == '[') {
            if (depth == 64) return NULL;
            objects = *p == '{' ? objects | (UINT64_C(1) << depth) : objects & ~(UINT64_C(1) << depth);
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0 || ((objects >> (depth - 1)) & 1) != (*p == '}')) return NULL;
            depth--;
        } else if (*p == '"') {
            if ((p = ph_json_skip_string_(p, end)) == NULL) return NULL;
            continue;
        } else if (depth == 0) return NULL;
        p++;
    } while (depth > 0);
    return p;
}

/** The document's top value: `length` bytes at `json`, whitespace around it allowed (the NUL
 *  the host puts after a body is not counted). Invalid when not exactly one value. */
static inline ph_json_value_t ph_json_root(const char *json, size_t length) {
    ph_json_value_t value = {NULL, 0};
    if (json == NULL) return value;
    const char *end = json + length, *start = ph_json_space_(json, end), *after = ph_json_skip_(start, end);
    if (after != NULL && ph_json_space_(after, end) == end) {
        value.start = start;
        value.length = (size_t)(after - start);
    }
    return value;
}

/** The value's type; PH_JSON_INVALID for the invalid value or one that is not a whole value.
 *  Scalars are checked whole; arrays and objects only bracket by bracket (ph_json_array_next
 *  and ph_json_object_next report what is wrong inside). */
static inline ph_json_type_t ph_json_type(ph_json_value_t v) {
    if (v.start == NULL || v.length == 0) return PH_JSON_INVALID;
    const char *end = v.start + v.length;
    if (ph_json_skip_(v.start, end) != end) return PH_JSON_INVALID;
    switch (*v.start) {
    case '{': return PH_JSON_OBJECT;
    case '[': return PH_JSON_ARRAY;
    case '"': return PH_JSON_STRING;
    case 't': return PH_JSON_TRUE;
    case 'f': return PH_JSON_FALSE;
    case 'n': return PH_JSON_NULL;
    default: return PH_JSON_NUMBER;
    }
}

/** Moves the cursor over `container` ('[' or '{') to its next entry and returns it, with `*last`
 *  at the closing bracket; NULL at the end, or when malformed (then with `failed` set) (internal). */
static inline const char *ph_json_next_(ph_json_value_t container, char open, ph_json_cursor_t *c, const char **last) {
    if (c->failed || (c->offset > 0 && c->offset >= container.length)) return NULL;
    if (container.start == NULL || container.length < 2 || container.start[0] != open
        || container.start[container.length - 1] != open + 2) {   /* '[' + 2 is ']', '{' + 2 is '}' */
        c->failed = true;
        return NULL;
    }
    *last = container.start + container.length - 1;
    const char *p = ph_json_space_(container.start + (c->offset == 0 ? 1 : c->offset), *last);
    if (p == *last) { c->offset = container.length; return NULL; }   /* the end */
    if (c->offset > 0) p = *p == ',' ? ph_json_space_(p + 1, *last) : NULL;
    if (p == NULL || p == *last) { c->failed = true; return NULL; }
    return p;
}

/** Reads the value at `p` within the container's closing bracket `last` into `*out` and
 *  advances the cursor past it; false (cursor failed) when there is none (internal). */
static inline bool ph_json_take_(ph_json_value_t container, const char *p, const char *last, ph_json_cursor_t *c, ph_json_value_t *out) {
    const char *after = ph_json_skip_(p, last);
    if (after == NULL) { c->failed = true; return false; }
    out->start = p;
    out->length = (size_t)(after - p);
    c->offset = (size_t)(after - container.start);
    return true;
}

/** The next element of `array` in `*element`; false at the end or when the array is malformed
 *  (then `cursor->failed` is set, e.g. for something that is not an array). */
static inline bool ph_json_array_next(ph_json_value_t array, ph_json_cursor_t *cursor, ph_json_value_t *element) {
    const char *last, *p = ph_json_next_(array, '[', cursor, &last);
    return p != NULL && ph_json_take_(array, p, last, cursor, element);
}

/** The next member of `object`: its key (a STRING value, quotes included) and value; false at
 *  the end or when the object is malformed (then `cursor->failed` is set). */
static inline bool ph_json_object_next(ph_json_value_t object, ph_json_cursor_t *cursor, ph_json_value_t *key, ph_json_value_t *value) {
    const char *last, *p = ph_json_next_(object, '{', cursor, &last);
    if (p == NULL) return false;
    if (*p != '"' || !ph_json_take_(object, p, last, cursor, key)) { cursor->failed = true; return false; }
    p = ph_json_space_(key->start + key->length, last);
    if (p == last || *p != ':') { cursor->failed = true; return false; }
    return ph_json_take_(object, ph_json_space_(p + 1, last), last, cursor, value);
}

/** Reads a 4-hex-digit `u` escape at `s` (before `end`) into `*code`; false when it is not one (internal). */
static inline bool ph_json_hex4_(const char *s, const char *end, uint32_t *code) {
    if (end - s < 6 || s[0] != '\\' || s[1] != 'u') return false;
    *code = 0;
    for (int i = 2; i < 6; i++) {
        char h = s[i];
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0) return false;
        *code = *code << 4 | (uint32_t)d;
    }
    return true;
}

/** Decodes the character at `*p` inside a string's quotes (before `end`) into `out` as UTF-8 and
 *  moves `*p` past it; returns its byte count, 0 when malformed. Lone surrogates become U+FFFD (internal). */
static inline size_t ph_json_char_(const char **p, const char *end, char out[4]) {
    const char *s = *p;
    uint32_t code, low;
    if ((unsigned char)*s < 0x20) return 0;
    if (*s != '\\') { out[0] = *s; *p = s + 1; return 1; }
    if (end - s < 2) return 0;
    *p = s + 2;
    switch (s[1]) {
    case '"': case '\\': case '/': out[0] = s[1]; return 1;
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: return 0;
    }
    if (!ph_json_hex4_(s, end, &code)) return 0;
    *p = s + 6;
    if (code >= 0xD800 && code <= 0xDBFF && ph_json_hex4_(*p, end, &low) && low >= 0xDC00 && low <= 0xDFFF) {
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        *p += 6;
    }
    if (code >= 0xD800 && code <= 0xDFFF) code = 0xFFFD;
    if (code < 0x80) { out[0] = (char)code; return 1; }
    int n = code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (int i = n - 1; i > 0; i--, code >>= 6) out[i] = (char)(0x80 | (code & 0x3F));
    out[0] = (char)((n == 2 ? 0xC0 : n == 3 ? 0xE0 : 0xF0) | code);
    return (size_t)n;
}

/** Decodes the string `value` (escapes, surrogate pairs) into `buffer` as UTF-8 followed by a
 *  NUL, like snprintf: it writes at most `capacity` bytes, NUL included, and never splits a
 *  character; `buffer` may be NULL when `capacity` is 0. Returns the decoded length without the
 *  NUL, so the copy is whole when it is less than `capacity`; an escaped NUL in the value is a NUL
 *  inside it. PH_JSON_NOT_A_STRING when `value` is not a well-formed string. */
static inline size_t ph_json_string_copy(ph_json_value_t value, char *buffer, size_t capacity) {
    if (capacity > 0) buffer[0] = 0;
    if (ph_json_type(value) != PH_JSON_STRING) return PH_JSON_NOT_A_STRING;
    const char *p = value.start + 1, *end = value.start + value.length - 1;
    size_t length = 0;
    bool full = false;
    while (p < end) {
        char c[4];
        size_t n = ph_json_char_(&p, end, c);
        if (n == 0) {
            if (capacity > 0) buffer[0] = 0;
            return PH_JSON_NOT_A_STRING;
        }
        full = full || length + n >= capacity;
        if (!full) memcpy(buffer + length, c, n);
        if (!full) buffer[length + n] = 0;
        length += n;
    }
    return length;
}

/** Whether the string `value` decodes to exactly `name` (internal). */
static inline bool ph_json_equals_(ph_json_value_t value, const char *name) {
    const char *p = value.start + 1, *end = value.start + value.length - 1;
    size_t matched = 0, length = strlen(name);
    while (p < end) {
        char c[4];
        size_t n = ph_json_char_(&p, end, c);
        if (n == 0 || n > length - matched || memcmp(c, name + matched, n) != 0) return false;
        matched += n;
    }
    return matched == length;
}

/** The member `name` of `object` in `*out` (the first one; the host refuses a body with a key
 *  twice). False when absent or when `object` is not a well-formed object. */
static inline bool ph_json_member(ph_json_value_t object, const char *name, ph_json_value_t *out) {
    ph_json_cursor_t cursor = {0, false};
    ph_json_value_t key, value;
    while (ph_json_object_next(object, &cursor, &key, &value)) {
        if (ph_json_equals_(key, name)) { *out = value; return true; }
    }
    return false;
}

/** The number `value` as the nearest double in `*out`. False when `value` is not a number or
 *  is beyond the double range (1e400); a number too small for one reads as 0 or a subnormal. */
static inline bool ph_json_number(ph_json_value_t value, double *out) {
    if (ph_json_type(value) != PH_JSON_NUMBER) return false;
    const char *point = localeconv()->decimal_point;   /* what strtod wants for '.' */
    size_t extra = strlen(point), size = value.length + extra + 1;
    char small[64], *text = size <= sizeof small ? small : (char *)malloc(size), *q = text;
    if (text == NULL) return false;
    for (size_t i = 0; i < value.length; i++) {
        if (value.start[i] == '.') { memcpy(q, point, extra); q += extra; }
        else *q++ = value.start[i];
    }
    *q = 0;
    char *stop;
    double v = strtod(text, &stop);
    bool whole = stop == q;
    if (text != small) free(text);
    if (!whole || !isfinite(v)) return false;
    *out = v;
    return true;
}

/** The number `value` in `*out` when it is an integer within int64_t, exactly (also past 2^53);
 *  written as `2.0` or `1e3` counts too (JSON Schema's `integer`). False otherwise (2.5, 1e19). */
static inline bool ph_json_integer(ph_json_value_t value, int64_t *out) {
    if (ph_json_type(value) != PH_JSON_NUMBER) return false;
    const char *p = value.start, *end = p + value.length;
    bool negative = *p == '-';
    p += negative;
    const char *dot = NULL, *mantissa_end = p;
    while (mantissa_end < end && *mantissa_end != 'e' && *mantissa_end != 'E') {
        if (*mantissa_end == '.') dot = mantissa_end;
        mantissa_end++;
    }
    int64_t exponent = 0;   /* the written exponent, saturated far beyond any int64 */
    if (mantissa_end < end) {
        const char *e = mantissa_end + 1;
        bool minus = *e == '-';
        for (e += *e == '+' || *e == '-'; e < end; e++) exponent = exponent > 100000 ? exponent : exponent * 10 + (*e - '0');
        if (minus) exponent = -exponent;
    }
    /* The value is D * 10^exponent, D the mantissa's digits without the '.'; drop D's zeros on both ends. */
    if (dot != NULL) exponent -= mantissa_end - dot - 1;
    const char *first = p, *last = mantissa_end - 1;
    while (first < mantissa_end && (*first == '0' || *first == '.')) first++;
    if (first == mantissa_end) { *out = 0; return true; }
    for (; *last == '0' || *last == '.'; last--) exponent += *last == '0';
    int64_t count = (last - first + 1) - (dot != NULL && first < dot && dot < last);
    if (exponent < 0 || count + exponent > 19) return false;
    uint64_t magnitude = 0, limit = negative ? UINT64_C(1) << 63 : (UINT64_C(1) << 63) - 1;
    for (const char *d = first; d <= last; d++) {
        if (*d == '.') continue;
        if (magnitude > (limit - (uint64_t)(*d - '0')) / 10) return false;
        magnitude = magnitude * 10 + (uint64_t)(*d - '0');
    }
    for (; exponent > 0; exponent--) {
        if (magnitude > limit / 10) return false;
        magnitude *= 10;
    }
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return true;
}

#ifdef __cplusplus
}
#endif
