/*
 * The validator's ph_config_t, built as the host builds it: the plugin's table flattened to
 * dotted leaves (`limits.max`, `tokens.0`) sorted by key, string values with their exact length
 * and a NUL after them, integers readable as doubles, and the whole table as JSON. A config lives
 * as long as the process (kept memory), so a plugin that keeps a pointer reads nothing freed; once
 * the instance it belongs to is destroyed, a call into it is recorded as a late call. It also
 * records the keys the plugin asks for that the config lacks, from which the config test generates more configs.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VC_ASKED 32u

typedef struct vc_leaf {
    const char *key;
    const vc_value_t *value;
} vc_leaf_t;

typedef struct vc_config {
    ph_config_t table;                  /* first: what the plugin gets */
    vc_leaf_t *leaves;
    size_t count;
    vh_host_t *_Atomic owner;           /* set at create */
    pthread_mutex_t lock;
    char asked[VC_ASKED][64];
    size_t asked_count;
} vc_config_t;

/* ---- flattening ---- */

static size_t leaf_count(const vc_value_t *value) {
    if (value->kind != VC_ARRAY && value->kind != VC_TABLE) return 1;
    size_t count = 0;
    for (size_t i = 0; i < value->count; i++) count += leaf_count(&value->items[i]);
    return count;
}

static void flatten(const char *prefix, const vc_value_t *value, vc_leaf_t *leaves, size_t *count) {
    if (value->kind != VC_ARRAY && value->kind != VC_TABLE) {
        leaves[(*count)++] = (vc_leaf_t){vt_keep_bytes(prefix, strlen(prefix)), value};
        return;
    }
    for (size_t i = 0; i < value->count; i++) {
        char key[512];
        if (value->kind == VC_ARRAY) snprintf(key, sizeof key, "%s.%zu", prefix, i);
        else snprintf(key, sizeof key, "%s.%s", prefix, value->names[i]);
        flatten(key, &value->items[i], leaves, count);
    }
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const vc_leaf_t *)a)->key, ((const vc_leaf_t *)b)->key);
}

/* ---- JSON ---- */

typedef struct json {
    char *text;
    size_t length, capacity;
} json_t;

static void put(json_t *json, const char *text, size_t length) {
    if (json->length + length + 1 > json->capacity) {
        size_t more = (json->length + length + 1) * 2;
        char *bigger = realloc(json->text, more);
        if (bigger == NULL) return;
        json->text = bigger;
        json->capacity = more;
    }
    memcpy(json->text + json->length, text, length);
    json->length += length;
    json->text[json->length] = 0;
}

static void put_text(json_t *json, const char *text) { put(json, text, strlen(text)); }

static void put_quoted(json_t *json, const char *text, size_t length) {
    put_text(json, "\"");
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        char escape[8];
        if (c == '"') put_text(json, "\\\"");
        else if (c == '\\') put_text(json, "\\\\");
        else if (c == '\n') put_text(json, "\\n");
        else if (c == '\r') put_text(json, "\\r");
        else if (c == '\t') put_text(json, "\\t");
        else if (c < 0x20) { snprintf(escape, sizeof escape, "\\u%04x", c); put_text(json, escape); }
        else put(json, (const char *)&text[i], 1);
    }
    put_text(json, "\"");
}

static void put_value(json_t *json, const vc_value_t *value) {
    char number[64];
    switch (value->kind) {
    case VC_STRING: put_quoted(json, value->text, value->length); break;
    case VC_INTEGER: snprintf(number, sizeof number, "%lld", (long long)value->integer); put_text(json, number); break;
    case VC_DOUBLE:
        if (isfinite(value->number)) { snprintf(number, sizeof number, "%.17g", value->number); put_text(json, number); }
        else put_text(json, "null");
        break;
    case VC_BOOL: put_text(json, value->flag ? "true" : "false"); break;
    case VC_ARRAY:
        put_text(json, "[");
        for (size_t i = 0; i < value->count; i++) {
            if (i) put_text(json, ",");
            put_value(json, &value->items[i]);
        }
        put_text(json, "]");
        break;
    case VC_TABLE: {
        put_text(json, "{");
        bool done[64] = {false};
        for (size_t n = 0; n < value->count && n < 64; n++) {   /* keys sorted */
            size_t best = value->count;
            for (size_t i = 0; i < value->count && i < 64; i++) {
                if (!done[i] && (best == value->count || strcmp(value->names[i], value->names[best]) < 0)) best = i;
            }
            done[best] = true;
            if (n) put_text(json, ",");
            put_quoted(json, value->names[best], strlen(value->names[best]));
            put_text(json, ":");
            put_value(json, &value->items[best]);
        }
        put_text(json, "}");
        break;
    }
    }
}

/* A dotted top-level key nests tables: "a.b" = 1 is {"a":{"b":1}}. */
static void put_member(json_t *json, const char *key, const vc_value_t *value) {
    const char *dot = strchr(key, '.');
    size_t length = dot != NULL ? (size_t)(dot - key) : strlen(key);
    put_quoted(json, key, length);
    put_text(json, ":");
    if (dot == NULL) {
        put_value(json, value);
        return;
    }
    put_text(json, "{");
    put_member(json, dot + 1, value);
    put_text(json, "}");
}

/* ---- the ph_config_t functions ---- */

static vc_config_t *config_of(const ph_config_t *table) { return (vc_config_t *)table; }

static const vc_value_t *find(vc_config_t *config, const char *key) {
    for (size_t i = 0; i < config->count; i++) {
        if (strcmp(config->leaves[i].key, key) == 0) return config->leaves[i].value;
    }
    return NULL;
}

/* Looks `key` up for `function`: a late call when the instance is gone, and a key of the plugin's
 * own when the config does not have it (keys the config has tell nothing new). */
static const vc_value_t *lookup(const ph_config_t *table, const char *key, const char *function) {
    vc_config_t *config = config_of(table);
    vh_host_t *owner = atomic_load(&config->owner);
    if (owner != NULL) vh_leave(vh_enter(vh_table(owner), function));
    const vc_value_t *found = find(config, key);
    if (found != NULL) return found;
    pthread_mutex_lock(&config->lock);
    bool known = strlen(key) >= 64;
    for (size_t i = 0; i < config->asked_count && !known; i++) known = strcmp(config->asked[i], key) == 0;
    if (!known && config->asked_count < VC_ASKED) snprintf(config->asked[config->asked_count++], 64, "%s", key);
    pthread_mutex_unlock(&config->lock);
    return NULL;
}

static const char *c_key_at(const ph_config_t *table, size_t index) {
    if (table == NULL) return NULL;
    vc_config_t *config = config_of(table);
    vh_host_t *owner = atomic_load(&config->owner);
    if (owner != NULL) vh_leave(vh_enter(vh_table(owner), "config.key_at"));
    return index < config->count ? config->leaves[index].key : NULL;
}

static ph_status_t c_get_string(const ph_config_t *table, const char *key, const char **value, size_t *length) {
    if (table == NULL || key == NULL) return PH_ERR_INVALID;
    const vc_value_t *found = lookup(table, key, "config.get_string");
    if (found == NULL) return PH_ERR_NOT_FOUND;
    if (found->kind != VC_STRING) return PH_ERR_TYPE;
    if (value != NULL) *value = found->text;
    if (length != NULL) *length = found->length;
    return PH_OK;
}

static ph_status_t c_get_int(const ph_config_t *table, const char *key, int64_t *value) {
    if (table == NULL || key == NULL) return PH_ERR_INVALID;
    const vc_value_t *found = lookup(table, key, "config.get_int");
    if (found == NULL) return PH_ERR_NOT_FOUND;
    if (found->kind != VC_INTEGER) return PH_ERR_TYPE;
    if (value != NULL) *value = found->integer;
    return PH_OK;
}

static ph_status_t c_get_double(const ph_config_t *table, const char *key, double *value) {
    if (table == NULL || key == NULL) return PH_ERR_INVALID;
    const vc_value_t *found = lookup(table, key, "config.get_double");
    if (found == NULL) return PH_ERR_NOT_FOUND;
    if (found->kind == VC_INTEGER) {
        if (value != NULL) *value = (double)found->integer;
        return PH_OK;
    }
    if (found->kind != VC_DOUBLE) return PH_ERR_TYPE;
    if (value != NULL) *value = found->number;
    return PH_OK;
}

static ph_status_t c_get_bool(const ph_config_t *table, const char *key, bool *value) {
    if (table == NULL || key == NULL) return PH_ERR_INVALID;
    const vc_value_t *found = lookup(table, key, "config.get_bool");
    if (found == NULL) return PH_ERR_NOT_FOUND;
    if (found->kind != VC_BOOL) return PH_ERR_TYPE;
    if (value != NULL) *value = found->flag;
    return PH_OK;
}

/* ---- building one ---- */

const ph_config_t *vc_config_new(const char *const *keys, const vc_value_t *values, size_t count) {
    vc_config_t *config = vt_keep(sizeof *config);
    pthread_mutex_init(&config->lock, NULL);
    size_t leaves = 0;
    for (size_t i = 0; i < count; i++) leaves += leaf_count(&values[i]);
    config->leaves = vt_keep((leaves + 1) * sizeof *config->leaves);
    for (size_t i = 0; i < count; i++) flatten(keys[i], &values[i], config->leaves, &config->count);
    qsort(config->leaves, config->count, sizeof *config->leaves, by_key);

    json_t json = {NULL, 0, 0};
    put_text(&json, "{");
    bool done[64] = {false};
    for (size_t n = 0; n < count && n < 64; n++) {   /* top-level keys sorted */
        size_t best = count;
        for (size_t i = 0; i < count && i < 64; i++) {
            if (!done[i] && (best == count || strcmp(keys[i], keys[best]) < 0)) best = i;
        }
        done[best] = true;
        if (n) put_text(&json, ",");
        put_member(&json, keys[best], &values[best]);
    }
    put_text(&json, "}");
    const char *text = vt_keep_bytes(json.text != NULL ? json.text : "{}", json.text != NULL ? json.length : 2);
    size_t length = json.text != NULL ? json.length : 2;
    free(json.text);

    config->table = (ph_config_t){
        .struct_size = sizeof(ph_config_t), .reserved = 0, .host_data = config, .key_count = config->count,
        .key_at = c_key_at, .get_string = c_get_string, .get_int = c_get_int, .get_double = c_get_double,
        .get_bool = c_get_bool, .json = text, .json_length = length,
    };
    return &config->table;
}

void vc_config_attach(const ph_config_t *table, vh_host_t *host) { atomic_store(&config_of(table)->owner, host); }

size_t vc_config_asked(const ph_config_t *table, char keys[][64], size_t capacity) {
    vc_config_t *config = config_of(table);
    pthread_mutex_lock(&config->lock);
    size_t count = config->asked_count < capacity ? config->asked_count : capacity;
    for (size_t i = 0; i < count; i++) memcpy(keys[i], config->asked[i], 64);
    pthread_mutex_unlock(&config->lock);
    return count;
}
