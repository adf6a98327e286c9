/*
 * A JSON document made to satisfy a typed endpoint's body_schema (the host's subset), so the
 * validator calls an endpoint only with a body the host would let through: `const` and `enum`
 * give their first value; `type` (the first one listed that is not "null") picks the shape; an
 * object gets its `required` members, each made from its `properties` schema; an array gets
 * `minItems` items (one when it has none and `maxItems` allows it); a string is "validator" cut
 * or stretched to fit `minLength`/`maxLength`; a number or integer is 1, moved inside `minimum`,
 * `maximum`, `exclusiveMinimum` and `exclusiveMaximum`. Annotations are ignored. Best effort: a
 * schema beyond that (say, a `required` member with no schema that `additionalProperties`
 * refuses) may get a document the host would refuse; the tests then see the plugin's 4xx.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <plughost/json.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16
#define MAX_ITEMS 8
#define MAX_STRING 4096
#define MAX_KEYS 64

typedef struct text {
    char *data;
    size_t length, capacity;
    bool failed;
} text_t;

static void put(text_t *t, const char *bytes, size_t length) {
    if (t->failed) return;
    if (t->length + length + 1 > t->capacity) {
        size_t capacity = (t->length + length + 1) * 2;
        char *bigger = realloc(t->data, capacity);
        if (bigger == NULL) { t->failed = true; return; }
        t->data = bigger;
        t->capacity = capacity;
    }
    memcpy(t->data + t->length, bytes, length);
    t->length += length;
    t->data[t->length] = 0;
}

static void puts_(text_t *t, const char *text) { put(t, text, strlen(text)); }

static bool member(ph_json_value_t schema, const char *name, ph_json_value_t *out) {
    return ph_json_type(schema) == PH_JSON_OBJECT && ph_json_member(schema, name, out);
}

static bool number_member(ph_json_value_t schema, const char *name, double *out) {
    ph_json_value_t value;
    return member(schema, name, &value) && ph_json_number(value, out);
}

/* The type the example takes: the `type` keyword's (the first non-null one of a list), else what
 * the other keywords suggest. */
static void type_of(ph_json_value_t schema, char *type, size_t capacity) {
    ph_json_value_t named, item;
    snprintf(type, capacity, "null");
    if (member(schema, "type", &named)) {
        if (ph_json_type(named) == PH_JSON_STRING) {
            ph_json_string_copy(named, type, capacity);
            return;
        }
        ph_json_cursor_t cursor = {0, false};
        bool first = true;
        while (ph_json_array_next(named, &cursor, &item)) {
            char candidate[16];
            if (ph_json_string_copy(item, candidate, sizeof candidate) == PH_JSON_NOT_A_STRING) continue;
            if (first || strcmp(type, "null") == 0) snprintf(type, capacity, "%s", candidate);
            first = false;
        }
        return;
    }
    ph_json_value_t ignored;
    if (member(schema, "properties", &ignored) || member(schema, "required", &ignored)) snprintf(type, capacity, "object");
    else if (member(schema, "items", &ignored) || member(schema, "minItems", &ignored)) snprintf(type, capacity, "array");
    else if (member(schema, "minLength", &ignored) || member(schema, "maxLength", &ignored)) snprintf(type, capacity, "string");
    else if (member(schema, "minimum", &ignored) || member(schema, "maximum", &ignored)) snprintf(type, capacity, "number");
    else snprintf(type, capacity, "object");   /* anything goes: {} */
}

/* 1, or a value inside the schema's bounds (an integer when `integer`). */
static double pick_number(ph_json_value_t schema, bool integer) {
    double low = -INFINITY, high = INFINITY, bound;
    bool low_open = false, high_open = false;
    if (number_member(schema, "minimum", &bound)) low = bound;
    if (number_member(schema, "exclusiveMinimum", &bound) && bound >= low) { low = bound; low_open = true; }
    if (number_member(schema, "maximum", &bound)) high = bound;
    if (number_member(schema, "exclusiveMaximum", &bound) && bound <= high) { high = bound; high_open = true; }
    if (integer) {
        low = low_open ? floor(low) + 1 : ceil(low);
        high = high_open ? ceil(high) - 1 : floor(high);
        low_open = high_open = false;
    }
    double value = 1;
    bool above = low_open ? value > low : value >= low, below = high_open ? value < high : value <= high;
    if (above && below) return value;
    if (isfinite(low) && isfinite(high)) value = integer ? floor((low + high) / 2) : (low + high) / 2;
    else if (isfinite(low)) value = low_open ? low + 1 : low;
    else value = high_open ? high - 1 : high;
    return value;
}

static void example(text_t *out, ph_json_value_t schema, int depth);

static void object_example(text_t *out, ph_json_value_t schema, int depth) {
    ph_json_value_t required, properties, name, property;
    ph_json_value_t written[MAX_KEYS];
    size_t count = 0;
    puts_(out, "{");
    if (member(schema, "required", &required)) {
        bool have_properties = member(schema, "properties", &properties);
        ph_json_cursor_t cursor = {0, false};
        while (count < MAX_KEYS && ph_json_array_next(required, &cursor, &name)) {
            char key[512];
            if (ph_json_string_copy(name, key, sizeof key) == PH_JSON_NOT_A_STRING) continue;
            bool repeated = false;
            for (size_t i = 0; i < count && !repeated; i++) {
                repeated = written[i].length == name.length && memcmp(written[i].start, name.start, name.length) == 0;
            }
            if (repeated) continue;
            if (count > 0) puts_(out, ",");
            written[count++] = name;
            put(out, name.start, name.length);   /* the key as the schema writes it, quotes included */
            puts_(out, ":");
            if (have_properties && ph_json_member(properties, key, &property)) example(out, property, depth + 1);
            else puts_(out, "null");
        }
    }
    puts_(out, "}");
}

static void array_example(text_t *out, ph_json_value_t schema, int depth) {
    double minimum = 0, maximum = INFINITY;
    number_member(schema, "minItems", &minimum);
    number_member(schema, "maxItems", &maximum);
    ph_json_value_t items;
    bool have_items = member(schema, "items", &items);
    size_t count = minimum > 0 ? (size_t)minimum : (have_items && maximum >= 1 ? 1 : 0);
    if (count > MAX_ITEMS) count = MAX_ITEMS;
    puts_(out, "[");
    for (size_t i = 0; i < count; i++) {
        if (i > 0) puts_(out, ",");
        if (have_items) example(out, items, depth + 1);
        else puts_(out, "1");
    }
    puts_(out, "]");
}

static void string_example(text_t *out, ph_json_value_t schema) {
    double minimum = 0, maximum = INFINITY;
    number_member(schema, "minLength", &minimum);
    number_member(schema, "maxLength", &maximum);
    size_t length = 9;
    if (maximum < (double)length) length = maximum > 0 ? (size_t)maximum : 0;
    if (minimum > (double)length) length = minimum < MAX_STRING ? (size_t)minimum : MAX_STRING;
    static const char word[] = "validator";
    puts_(out, "\"");
    for (size_t i = 0; i < length; i++) put(out, i < 9 ? &word[i] : "v", 1);
    puts_(out, "\"");
}

static void example(text_t *out, ph_json_value_t schema, int depth) {
    ph_json_value_t chosen, item;
    if (depth > MAX_DEPTH || ph_json_type(schema) != PH_JSON_OBJECT) {
        puts_(out, "null");
        return;
    }
    if (member(schema, "const", &chosen)) {
        put(out, chosen.start, chosen.length);
        return;
    }
    if (member(schema, "enum", &chosen)) {
        ph_json_cursor_t cursor = {0, false};
        if (ph_json_array_next(chosen, &cursor, &item)) {
            put(out, item.start, item.length);
            return;
        }
    }
    char type[16];
    type_of(schema, type, sizeof type);
    if (strcmp(type, "object") == 0) object_example(out, schema, depth);
    else if (strcmp(type, "array") == 0) array_example(out, schema, depth);
    else if (strcmp(type, "string") == 0) string_example(out, schema);
    else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0) {
        char number[40];
        double value = pick_number(schema, strcmp(type, "integer") == 0);
        if (!isfinite(value)) value = 1;
        snprintf(number, sizeof number, strcmp(type, "integer") == 0 ? "%.0f" : "%.17g", value);
        puts_(out, number);
    } else if (strcmp(type, "boolean") == 0) puts_(out, "true");
    else puts_(out, "null");
}

char *vt_json_example(const char *schema) {
    if (schema == NULL) return NULL;
    text_t out = {0};
    example(&out, ph_json_root(schema, strlen(schema)), 0);
    if (out.failed) {
        free(out.data);
        return NULL;
    }
    return out.data;
}
