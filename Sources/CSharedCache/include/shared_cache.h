/* The host cache every worker shares: one store in a shared memory mapping
 * the supervisor makes before it starts the workers (as nginx's shared-memory
 * zones), so a value set through one worker is read through every other, an
 * invalidation reaches all of them at once, and entries outlive a worker.
 * With one process it is the same store in an anonymous shared mapping.
 *
 * One robust, process-shared mutex guards the store: a worker that dies
 * holding it leaves it EOWNERDEAD, and the next taker clears the store (a
 * cache may forget; a half-written table must not be followed) and carries on.
 * Every entry carries a checksum over its header, key and value, every
 * offset is checked against the mapping before it is followed, and the
 * store's layout is checked against the one each process mapped whenever it
 * takes the lock: damage (another plugin in a worker can write anywhere in
 * it) is detected, the store cleared, and the damage counted.
 *
 * Namespaces: one per plugin build (alias and fingerprint), so a new build or
 * config starts empty and never sees its predecessor's entries; an alias keeps
 * at most four namespaces (the oldest build's is cleared when a fifth comes).
 * Limits per namespace: entries and bytes, the oldest entry evicted first.
 * Blocks come in sizes of 64 bytes times a power of two and are never split:
 * when the store is full, the oldest entry of the same block size in the
 * whole store goes (as memcached's slab classes); with none of that size, the
 * set fails FULL and nothing is evicted.
 * Host-side only: plugins never see this header. */
#ifndef PLUGHOST_SHARED_CACHE_H
#define PLUGHOST_SHARED_CACHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ph_shared_cache ph_shared_cache_t;

/* The smallest store (room for the header and some entries). */
#define PH_SHARED_CACHE_MIN_BYTES (1u << 20)
/* The largest entry (key, value and its header), whatever the limits say. */
#define PH_SHARED_CACHE_MAX_ENTRY (1u << 20)

/* Results of the calls below. */
#define PH_SHARED_CACHE_OK 0
#define PH_SHARED_CACHE_NOT_FOUND 1
#define PH_SHARED_CACHE_TOO_SMALL 2
#define PH_SHARED_CACHE_FULL 3
#define PH_SHARED_CACHE_INVALID 4

/* Makes a store of `bytes` (at least PH_SHARED_CACHE_MIN_BYTES). With `fd`
 * non-NULL it lives in an in-memory file whose descriptor (close-on-exec, above
 * 9) is stored there, for workers to inherit; else in an anonymous shared
 * mapping. The handle is this process's (it holds the layout mapped) until
 * ph_shared_cache_close. Returns NULL with errno set. */
ph_shared_cache_t *ph_shared_cache_create(size_t bytes, int *fd);

/* Maps the store a supervisor made, inherited at `fd`. Returns NULL with errno
 * set (EINVAL when it is not one). */
ph_shared_cache_t *ph_shared_cache_attach(int fd);

/* Unmaps this process's view of the store and frees the handle (the store
 * lives on in every other process that mapped it). Nothing may use the handle
 * afterwards. */
void ph_shared_cache_close(ph_shared_cache_t *cache);

/* The namespace of plugin `alias` built as `fingerprint`, made when missing,
 * with its limits (0 entries: the plugin stores nothing). Its handle goes into
 * the calls below. Returns 0 with the handle, or a PH_SHARED_CACHE_ code. */
int ph_shared_cache_namespace(ph_shared_cache_t *cache, const char *alias, const char *fingerprint, uint32_t max_entries,
                              uint64_t max_bytes, uint64_t *handle);

/* Stores `value` under `key` in namespace `handle`; `ttl_ns` 0 never expires. */
int ph_shared_cache_set(ph_shared_cache_t *cache, uint64_t handle, const void *key, size_t key_length, const void *value,
                        size_t value_length, uint64_t ttl_ns);

/* Copies the value under `key` into `buffer` when it fits in `capacity`
 * (its length always goes to `length`): OK, NOT_FOUND (or expired) or TOO_SMALL. */
int ph_shared_cache_get(ph_shared_cache_t *cache, uint64_t handle, const void *key, size_t key_length, void *buffer,
                        size_t capacity, size_t *length);

/* Removes every entry of namespace `handle` whose key starts with `prefix` (empty: all). */
int ph_shared_cache_invalidate(ph_shared_cache_t *cache, uint64_t handle, const void *prefix, size_t prefix_length);

/* Figures: live entries in namespace `handle` (all namespaces when 0), and how
 * often the store was cleared (a dead owner of its lock, or damage found). */
uint64_t ph_shared_cache_entries(ph_shared_cache_t *cache, uint64_t handle);
uint64_t ph_shared_cache_resets(ph_shared_cache_t *cache);

/* Forks a child that takes the store's lock and exits holding it (tests only: the
 * next taker must find the store cleared, not wedged). Returns 0 once it died. */
int ph_shared_cache_die_holding_lock_for_testing(ph_shared_cache_t *cache);

/* Writes garbage over the first entry's checksum (tests only: damage must be found, never followed). */
void ph_shared_cache_damage_for_testing(ph_shared_cache_t *cache);

/* Writes garbage over the store's layout without the lock, as a stray plugin
 * would (tests only: the next caller must clear the store, never follow it). */
void ph_shared_cache_damage_layout_for_testing(ph_shared_cache_t *cache);

#ifdef __cplusplus
}
#endif

#endif
