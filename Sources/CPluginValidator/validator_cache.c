/*
 * One instance's cache namespace, as ph_host_t.cache_set/cache_get/cache_invalidate promise it:
 * keys and values copied in and out, a TTL in milliseconds (0: none), the oldest entry evicted past
 * the limit, PH_ERR_TOO_SMALL with the needed length when a value does not fit. [thread-safe];
 * cleared (and its memory freed) when the instance's host table is retired.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdlib.h>
#include <string.h>

#define VH_CACHE_LIMIT 256u

void vh_cache_init(vh_cache_t *cache) {
    memset(cache, 0, sizeof *cache);
    pthread_mutex_init(&cache->lock, NULL);
}

static void drop(vh_cache_t *cache, size_t index) {
    free(cache->entries[index].key);
    free(cache->entries[index].value);
    memmove(&cache->entries[index], &cache->entries[index + 1], (cache->count - index - 1) * sizeof *cache->entries);
    cache->count--;
}

/* The live entry of `key`, dropping expired ones on the way; -1 when absent. */
static long find(vh_cache_t *cache, const void *key, size_t length) {
    uint64_t now = vt_now_ns();
    for (size_t i = 0; i < cache->count;) {
        const vh_cache_entry_t *entry = &cache->entries[i];
        if (entry->expires_ns != 0 && entry->expires_ns <= now) {
            drop(cache, i);
            continue;
        }
        if (entry->key_length == length && (length == 0 || memcmp(entry->key, key, length) == 0)) return (long)i;
        i++;
    }
    return -1;
}

ph_status_t vh_cache_set(vh_cache_t *cache, const void *key, size_t key_length, const void *value, size_t value_length,
                         uint64_t ttl_ms) {
    if ((key == NULL && key_length > 0) || (value == NULL && value_length > 0)) return PH_ERR_INVALID;
    vh_cache_entry_t entry = {malloc(key_length + 1), key_length, malloc(value_length + 1), value_length,
                              ttl_ms ? vt_now_ns() + ttl_ms * 1000000u : 0};
    if (entry.key == NULL || entry.value == NULL) {
        free(entry.key);
        free(entry.value);
        return PH_ERR_FAILED;
    }
    if (key_length) memcpy(entry.key, key, key_length);
    if (value_length) memcpy(entry.value, value, value_length);
    ph_status_t status = PH_OK;
    pthread_mutex_lock(&cache->lock);
    long found = find(cache, key, key_length);
    if (found >= 0) drop(cache, (size_t)found);
    if (cache->count >= VH_CACHE_LIMIT) drop(cache, 0);   /* the oldest */
    if (cache->count == cache->capacity) {
        size_t more = cache->capacity ? cache->capacity * 2 : 8;
        vh_cache_entry_t *bigger = realloc(cache->entries, more * sizeof *bigger);
        if (bigger != NULL) {
            cache->entries = bigger;
            cache->capacity = more;
        }
    }
    if (cache->count < cache->capacity) {
        cache->entries[cache->count++] = entry;
    } else {
        free(entry.key);
        free(entry.value);
        status = PH_ERR_FAILED;
    }
    pthread_mutex_unlock(&cache->lock);
    return status;
}

ph_status_t vh_cache_get(vh_cache_t *cache, const void *key, size_t key_length, void *buffer, size_t capacity, size_t *length) {
    if (key == NULL && key_length > 0) return PH_ERR_INVALID;
    ph_status_t status = PH_ERR_NOT_FOUND;
    pthread_mutex_lock(&cache->lock);
    long found = find(cache, key, key_length);
    if (found >= 0) {
        const vh_cache_entry_t *entry = &cache->entries[found];
        if (length != NULL) *length = entry->value_length;
        if (entry->value_length > capacity) {
            status = PH_ERR_TOO_SMALL;
        } else {
            if (buffer != NULL && entry->value_length) memcpy(buffer, entry->value, entry->value_length);
            status = PH_OK;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return status;
}

ph_status_t vh_cache_invalidate(vh_cache_t *cache, const void *prefix, size_t length) {
    if (prefix == NULL && length > 0) return PH_ERR_INVALID;
    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < cache->count;) {
        const vh_cache_entry_t *entry = &cache->entries[i];
        if (entry->key_length >= length && (length == 0 || memcmp(entry->key, prefix, length) == 0)) drop(cache, i);
        else i++;
    }
    pthread_mutex_unlock(&cache->lock);
    return PH_OK;
}

void vh_cache_clear(vh_cache_t *cache) {
    pthread_mutex_lock(&cache->lock);
    while (cache->count > 0) drop(cache, cache->count - 1);
    free(cache->entries);
    cache->entries = NULL;
    cache->capacity = 0;
    pthread_mutex_unlock(&cache->lock);
}
