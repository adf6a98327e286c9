#define _GNU_SOURCE
#include "shared_cache.h"
#include "descriptor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STORE_MAGIC 0x70686373u  /* "phcs" */
#define STORE_LAYOUT 2u
#define ENTRY_MAGIC 0x656e7472u  /* "entr" */
#define FREE_MAGIC 0x66726565u   /* "free" */
#define NAMESPACES 1024
/* Block sizes: 64 B << class, up to 1 MiB. */
#define CLASSES 15
#define SMALLEST 64u
/* An alias keeps at most this many namespaces (its builds); the oldest goes first. */
#define BUILDS_PER_ALIAS 4
/* Evictions one set may make to find room before it gives up. */
#define EVICTIONS_PER_SET 256
/* The most links any walk follows (a cycle written by damage must end). */
#define WALK_LIMIT (1 << 24)

/* Both ends of an order of entries, oldest first (offsets; 0 when empty). */
typedef struct {
    uint64_t oldest, newest;
} list_t;

/* An entry's place in one order. */
typedef struct {
    uint64_t older, newer;
} links_t;

typedef struct {
    char alias[64];
    char fingerprint[96];
    uint32_t serial;
    uint32_t in_use;
    uint32_t max_entries;
    uint32_t entries;
    uint64_t max_bytes;
    uint64_t bytes;
    list_t order;
    uint64_t created;
} space_t;

typedef struct {
    uint32_t magic, layout;
    uint64_t size;
    pthread_mutex_t lock;
    uint64_t resets;
    uint64_t sequence;
    uint32_t next_serial;
    uint32_t bucket_count;
    uint64_t buckets_offset;
    uint64_t arena_offset;
    uint64_t arena_top;
    uint64_t free_lists[CLASSES];
    /* Every live entry of each block size, oldest first: what goes when the store is full
     * (the arena never shrinks and blocks are never split, so only a block of the same
     * size makes room, as memcached's slab classes). */
    list_t classes[CLASSES];
    space_t spaces[NAMESPACES];
} header_t;

typedef struct {
    uint32_t magic;
    uint32_t checksum;
    uint64_t chain;      /* next in its bucket, or in its free list */
    links_t order;       /* in its namespace */
    links_t class_order; /* among the store's entries of its block size */
    uint64_t expiry;     /* CLOCK_MONOTONIC ns; 0: never */
    uint64_t hash;
    uint64_t sequence;
    uint32_t space, space_serial;
    uint32_t key_length, value_length;
    uint32_t size_class;
    uint32_t reserved;
} entry_t;

/* The store's layout as this process mapped it: the shared header's copy of these
 * can be overwritten by any worker's plugin, so it is checked against this one. */
typedef struct {
    uint64_t size;
    uint32_t bucket_count;
    uint64_t buckets_offset;
    uint64_t arena_offset;
} layout_t;

struct ph_shared_cache {
    header_t *header;
    layout_t layout;
};

/* ---- Checks ---- */

static uint64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* A 64-bit hash, eight bytes a step (FNV's bytewise loop was the cost of a large get). */
static uint64_t hash_bytes(uint64_t hash, const void *data, size_t length) {
    const unsigned char *bytes = data;
    size_t index = 0;
    for (; index + 8 <= length; index += 8) {
        uint64_t word;
        memcpy(&word, bytes + index, 8);
        hash = (hash ^ word) * 0x100000001b3ull;
        hash ^= hash >> 29;
    }
    for (; index < length; index++) hash = (hash ^ bytes[index]) * 0x100000001b3ull;
    return hash;
}

static uint64_t key_hash(uint32_t space, uint32_t serial, const void *key, size_t length) {
    uint64_t hash = 0xcbf29ce484222325ull;
    uint64_t prefix = ((uint64_t)space << 32) | serial;
    hash = hash_bytes(hash, &prefix, sizeof prefix);
    return hash_bytes(hash, key, length);
}

static size_t class_size(uint32_t size_class) { return (size_t)SMALLEST << size_class; }

static unsigned char *base(header_t *header) { return (unsigned char *)header; }

static unsigned char *payload(entry_t *entry) { return (unsigned char *)(entry + 1); }

/* The checksum of what does not change while an entry lives (its links do). */
static uint32_t checksum(entry_t *entry) {
    uint64_t fixed[5] = {entry->expiry, entry->hash, entry->sequence, ((uint64_t)entry->space << 32) | entry->space_serial,
                         ((uint64_t)entry->key_length << 32) | entry->value_length};
    uint64_t hash = hash_bytes(0xcbf29ce484222325ull, fixed, sizeof fixed);
    hash = hash_bytes(hash, &entry->size_class, sizeof entry->size_class);
    hash = hash_bytes(hash, payload(entry), (size_t)entry->key_length + entry->value_length);
    return (uint32_t)(hash ^ (hash >> 32));
}

/* The block at `offset` when it is one (`magic`), else NULL and `damaged` set. 0 is no block. */
static entry_t *block_at(header_t *header, uint64_t offset, uint32_t magic, int *damaged) {
    if (offset == 0) return NULL;
    if (offset < header->arena_offset || offset >= header->arena_top || offset % 8 != 0 ||
        header->arena_top - offset < sizeof(entry_t)) {
        *damaged = 1;
        return NULL;
    }
    entry_t *entry = (entry_t *)(base(header) + offset);
    if (entry->magic != magic || entry->size_class >= CLASSES || class_size(entry->size_class) > header->arena_top - offset ||
        (magic == ENTRY_MAGIC && sizeof(entry_t) + (uint64_t)entry->key_length + entry->value_length > class_size(entry->size_class))) {
        *damaged = 1;
        return NULL;
    }
    return entry;
}

static uint64_t offset_of(header_t *header, entry_t *entry) { return (uint64_t)((unsigned char *)entry - base(header)); }

static uint64_t *buckets(header_t *header) { return (uint64_t *)(base(header) + header->buckets_offset); }

/* ---- Orders ---- */

static links_t *links(entry_t *entry, size_t at) { return (links_t *)((unsigned char *)entry + at); }

/* Takes `entry` out of `list` (its links at `at` in the entry). */
static void list_unlink(header_t *header, list_t *list, entry_t *entry, size_t at, int *damaged) {
    links_t *own = links(entry, at);
    entry_t *older = block_at(header, own->older, ENTRY_MAGIC, damaged);
    entry_t *newer = block_at(header, own->newer, ENTRY_MAGIC, damaged);
    if (*damaged) return;
    if (older) links(older, at)->newer = own->newer; else list->oldest = own->newer;
    if (newer) links(newer, at)->older = own->older; else list->newest = own->older;
    own->older = own->newer = 0;
}

/* Puts `entry` (in no order) at the newest end of `list`. */
static void list_push(header_t *header, list_t *list, entry_t *entry, size_t at, int *damaged) {
    uint64_t offset = offset_of(header, entry);
    links_t *own = links(entry, at);
    entry_t *newest = block_at(header, list->newest, ENTRY_MAGIC, damaged);
    if (*damaged) return;
    own->older = list->newest;
    own->newer = 0;
    if (newest) links(newest, at)->newer = offset; else list->oldest = offset;
    list->newest = offset;
}

#define IN_SPACE offsetof(entry_t, order)
#define IN_CLASS offsetof(entry_t, class_order)

/* ---- The store as a whole ---- */

/* Forgets every entry; namespaces keep their names and limits. Under the lock. */
static void reset(header_t *header) {
    memset(buckets(header), 0, (size_t)header->bucket_count * sizeof(uint64_t));
    memset(header->free_lists, 0, sizeof header->free_lists);
    memset(header->classes, 0, sizeof header->classes);
    header->arena_top = header->arena_offset;
    for (int index = 0; index < NAMESPACES; index++) {
        header->spaces[index].entries = 0;
        header->spaces[index].bytes = 0;
        header->spaces[index].order = (list_t){0, 0};
    }
    __atomic_add_fetch(&header->resets, 1, __ATOMIC_RELAXED);
}

/* Takes the lock; a dead owner's store, or one whose layout was overwritten, is
 * cleared first (its layout put back from this process's copy). 0, or an errno. */
static int lock(ph_shared_cache_t *cache) {
    header_t *header = cache->header;
    int result = pthread_mutex_lock(&header->lock);
    if (result == EOWNERDEAD) {
        pthread_mutex_consistent(&header->lock);
    } else if (result != 0) {
        return result;
    }
    const layout_t *layout = &cache->layout;
    if (result == EOWNERDEAD || header->size != layout->size || header->bucket_count != layout->bucket_count ||
        header->buckets_offset != layout->buckets_offset || header->arena_offset != layout->arena_offset ||
        header->arena_top < layout->arena_offset || header->arena_top > layout->size) {
        header->size = layout->size;
        header->bucket_count = layout->bucket_count;
        header->buckets_offset = layout->buckets_offset;
        header->arena_offset = layout->arena_offset;
        reset(header);
    }
    return 0;
}

static void unlock(header_t *header, int damaged) {
    if (damaged) reset(header);
    pthread_mutex_unlock(&header->lock);
}

/* A handle on `header` mapped at `size` bytes, with the layout it says (checked by the caller). */
static ph_shared_cache_t *handle_on(header_t *header, size_t size) {
    ph_shared_cache_t *cache = malloc(sizeof *cache);
    if (cache == NULL) return NULL;
    cache->header = header;
    cache->layout = (layout_t){size, header->bucket_count, header->buckets_offset, header->arena_offset};
    return cache;
}

/* Whether the layout `header` states fits a mapping of `size` bytes. */
static int layout_fits(const header_t *header, size_t size) {
    uint32_t count = header->bucket_count;
    return header->size == size && count >= 1024 && (count & (count - 1)) == 0 &&
           header->buckets_offset >= sizeof(header_t) && header->buckets_offset % 64 == 0 &&
           header->arena_offset >= header->buckets_offset + (uint64_t)count * sizeof(uint64_t) && header->arena_offset < size &&
           header->arena_top >= header->arena_offset && header->arena_top <= size;
}

ph_shared_cache_t *ph_shared_cache_create(size_t bytes, int *fd) {
    if (bytes < PH_SHARED_CACHE_MIN_BYTES) bytes = PH_SHARED_CACHE_MIN_BYTES;
    bytes = (bytes + 4095) & ~(size_t)4095;
    int descriptor = -1;
    void *mapping;
    if (fd != NULL) {
        descriptor = ph_fd_move_high((int)syscall(SYS_memfd_create, "plughost:cache", MFD_CLOEXEC));
        if (descriptor < 0) return NULL;
        if (ftruncate(descriptor, (off_t)bytes) != 0) {
            int saved = errno;
            close(descriptor);
            errno = saved;
            return NULL;
        }
        mapping = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0);
    } else {
        mapping = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    }
    if (mapping == MAP_FAILED) {
        int saved = errno;
        if (descriptor >= 0) close(descriptor);
        errno = saved;
        return NULL;
    }
    header_t *header = mapping;
    header->size = bytes;
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&header->lock, &attributes);
    pthread_mutexattr_destroy(&attributes);
    /* One bucket per 256 bytes of store, a power of two. */
    uint32_t count = 1024;
    while ((uint64_t)count * 2 * 256 <= bytes && count < (1u << 24)) count *= 2;
    header->bucket_count = count;
    header->buckets_offset = (sizeof(header_t) + 63) & ~(uint64_t)63;
    header->arena_offset = (header->buckets_offset + (uint64_t)count * sizeof(uint64_t) + 63) & ~(uint64_t)63;
    header->arena_top = header->arena_offset;
    header->layout = STORE_LAYOUT;
    __atomic_store_n(&header->magic, STORE_MAGIC, __ATOMIC_RELEASE);
    ph_shared_cache_t *cache = handle_on(header, bytes);
    if (cache == NULL) {
        int saved = errno;
        munmap(mapping, bytes);
        if (descriptor >= 0) close(descriptor);
        errno = saved;
        return NULL;
    }
    if (fd != NULL) *fd = descriptor;
    return cache;
}

ph_shared_cache_t *ph_shared_cache_attach(int fd) {
    struct stat info;
    if (fstat(fd, &info) != 0) return NULL;
    if ((size_t)info.st_size < PH_SHARED_CACHE_MIN_BYTES) {
        errno = EINVAL;
        return NULL;
    }
    size_t size = (size_t)info.st_size;
    void *mapping = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) return NULL;
    header_t *header = mapping;
    ph_shared_cache_t *cache = NULL;
    if (__atomic_load_n(&header->magic, __ATOMIC_ACQUIRE) != STORE_MAGIC || header->layout != STORE_LAYOUT ||
        !layout_fits(header, size)) {
        errno = EINVAL;
    } else {
        cache = handle_on(header, size);
    }
    if (cache == NULL) {
        int saved = errno;
        munmap(mapping, size);
        errno = saved;
    }
    return cache;
}

void ph_shared_cache_close(ph_shared_cache_t *cache) {
    if (cache == NULL) return;
    munmap(cache->header, (size_t)cache->layout.size);
    free(cache);
}

/* ---- Entries ---- */

static space_t *space_of(header_t *header, uint64_t handle) {
    uint32_t index = (uint32_t)(handle >> 32), serial = (uint32_t)handle;
    if (index >= NAMESPACES) return NULL;
    space_t *space = &header->spaces[index];
    return space->in_use && space->serial == serial ? space : NULL;
}

/* Unlinks `entry` from its bucket, its namespace and its class and frees its block.
 * An entry missing from its bucket, or of no namespace, is damage. */
static void remove_entry(header_t *header, entry_t *entry, int *damaged) {
    uint64_t offset = offset_of(header, entry);
    uint64_t *slot = &buckets(header)[entry->hash & (header->bucket_count - 1)];
    int found = 0;
    for (int guard = 0; *slot != 0 && guard < WALK_LIMIT; guard++) {
        if (*slot == offset) {
            *slot = entry->chain;
            found = 1;
            break;
        }
        entry_t *next = block_at(header, *slot, ENTRY_MAGIC, damaged);
        if (next == NULL) return;
        slot = &next->chain;
    }
    if (!found || entry->space >= NAMESPACES) {
        *damaged = 1;
        return;
    }
    space_t *space = &header->spaces[entry->space];
    list_unlink(header, &space->order, entry, IN_SPACE, damaged);
    list_unlink(header, &header->classes[entry->size_class], entry, IN_CLASS, damaged);
    if (*damaged) return;
    if (space->entries > 0) space->entries--;
    uint64_t size = (uint64_t)entry->key_length + entry->value_length;
    space->bytes = space->bytes >= size ? space->bytes - size : 0;
    entry->magic = FREE_MAGIC;
    entry->chain = header->free_lists[entry->size_class];
    header->free_lists[entry->size_class] = offset;
}

/* The entry of namespace `space` (index and serial) under `key`, or NULL. */
static entry_t *find(header_t *header, uint32_t space, uint32_t serial, const void *key, size_t length, uint64_t hash, int *damaged) {
    uint64_t offset = buckets(header)[hash & (header->bucket_count - 1)];
    for (int guard = 0; offset != 0 && guard < WALK_LIMIT; guard++) {
        entry_t *entry = block_at(header, offset, ENTRY_MAGIC, damaged);
        if (entry == NULL) return NULL;
        if (entry->hash == hash && entry->space == space && entry->space_serial == serial && entry->key_length == length &&
            memcmp(payload(entry), key, length) == 0) {
            if (entry->checksum != checksum(entry)) {
                *damaged = 1;
                return NULL;
            }
            return entry;
        }
        offset = entry->chain;
    }
    return NULL;
}

/* Removes the oldest entry of `list`; 0 when there was none, or damage. */
static int evict_oldest(header_t *header, list_t *list, int *damaged) {
    entry_t *oldest = block_at(header, list->oldest, ENTRY_MAGIC, damaged);
    if (oldest == NULL) return 0;
    remove_entry(header, oldest, damaged);
    return !*damaged;
}

/* A free block of `size_class`: a freed one, or a new one from the arena; NULL when neither. */
static entry_t *allocate(header_t *header, uint32_t size_class, int *damaged) {
    uint64_t offset = header->free_lists[size_class];
    if (offset != 0) {
        entry_t *block = block_at(header, offset, FREE_MAGIC, damaged);
        if (block == NULL || block->size_class != size_class) {
            *damaged = 1;
            return NULL;
        }
        header->free_lists[size_class] = block->chain;
        return block;
    }
    uint64_t size = class_size(size_class);
    if (size > header->size - header->arena_top) return NULL;
    entry_t *block = (entry_t *)(base(header) + header->arena_top);
    header->arena_top += size;
    block->size_class = size_class;
    return block;
}

/* Takes the lock and finds namespace `handle`: OK with the lock held and `*space` set, or
 * INVALID (an unknown namespace, or the lock failed) with the lock not held. */
static int lock_space(ph_shared_cache_t *cache, uint64_t handle, space_t **space) {
    if (lock(cache) != 0) return PH_SHARED_CACHE_INVALID;
    *space = space_of(cache->header, handle);
    if (*space == NULL) {
        unlock(cache->header, 0);
        return PH_SHARED_CACHE_INVALID;
    }
    return PH_SHARED_CACHE_OK;
}

/* `now` plus `ttl_ns`, saturated (a TTL too large to add never expires); 0 for no TTL. */
static uint64_t expiry_after(uint64_t ttl_ns) {
    if (ttl_ns == 0) return 0;
    uint64_t now = now_ns();
    return ttl_ns > UINT64_MAX - now ? UINT64_MAX : now + ttl_ns;
}

int ph_shared_cache_set(ph_shared_cache_t *cache, uint64_t handle, const void *key, size_t key_length, const void *value,
                        size_t value_length, uint64_t ttl_ns) {
    header_t *header = cache->header;
    size_t needed = sizeof(entry_t) + key_length + value_length;
    if (needed > PH_SHARED_CACHE_MAX_ENTRY || key_length > UINT32_MAX || value_length > UINT32_MAX) return PH_SHARED_CACHE_FULL;
    uint32_t size_class = 0;
    while (class_size(size_class) < needed) size_class++;
    uint64_t expiry = expiry_after(ttl_ns);
    uint32_t index = (uint32_t)(handle >> 32), serial = (uint32_t)handle;
    uint64_t hash = key_hash(index, serial, key, key_length);
    uint64_t size = (uint64_t)key_length + value_length;
    space_t *space;
    if (lock_space(cache, handle, &space) != PH_SHARED_CACHE_OK) return PH_SHARED_CACHE_INVALID;
    int damaged = 0;
    if (space->max_entries == 0 || (space->max_bytes > 0 && size > space->max_bytes)) {
        int result = space->max_entries == 0 ? PH_SHARED_CACHE_OK : PH_SHARED_CACHE_FULL;
        unlock(header, 0);
        return result;
    }
    entry_t *entry = find(header, index, serial, key, key_length, hash, &damaged);
    if (entry != NULL && entry->size_class == size_class &&
        (space->max_bytes == 0 || space->bytes - entry->value_length + value_length <= space->max_bytes)) {
        /* The same key again in a block of the same size: rewritten in place, its bucket
         * unchanged, moved to the newest end of its orders. */
        list_unlink(header, &space->order, entry, IN_SPACE, &damaged);
        list_push(header, &space->order, entry, IN_SPACE, &damaged);
        list_unlink(header, &header->classes[size_class], entry, IN_CLASS, &damaged);
        list_push(header, &header->classes[size_class], entry, IN_CLASS, &damaged);
        if (!damaged) {
            space->bytes = space->bytes - entry->value_length + value_length;
            entry->expiry = expiry;
            entry->sequence = ++header->sequence;
            entry->value_length = (uint32_t)value_length;
            if (value_length) memcpy(payload(entry) + key_length, value, value_length);
            entry->checksum = checksum(entry);
        }
        unlock(header, damaged);
        return damaged ? PH_SHARED_CACHE_FULL : PH_SHARED_CACHE_OK;
    }
    if (entry != NULL) remove_entry(header, entry, &damaged);
    /* The namespace's limits: its oldest entries go first. */
    while (!damaged && space->entries >= space->max_entries && evict_oldest(header, &space->order, &damaged)) {}
    while (!damaged && space->max_bytes > 0 && space->bytes + size > space->max_bytes &&
           evict_oldest(header, &space->order, &damaged)) {}
    entry = damaged ? NULL : allocate(header, size_class, &damaged);
    /* No room in the store: the store's oldest entry of this size goes (one of another size
     * would free a block this one cannot use). None of this size: the store is full. */
    for (int tries = 0; entry == NULL && !damaged && tries < EVICTIONS_PER_SET; tries++) {
        if (!evict_oldest(header, &header->classes[size_class], &damaged)) break;
        entry = allocate(header, size_class, &damaged);
    }
    if (entry == NULL || damaged) {
        unlock(header, damaged);
        return PH_SHARED_CACHE_FULL;
    }
    entry->magic = ENTRY_MAGIC;
    entry->size_class = size_class;
    entry->expiry = expiry;
    entry->hash = hash;
    entry->sequence = ++header->sequence;
    entry->space = index;
    entry->space_serial = serial;
    entry->key_length = (uint32_t)key_length;
    entry->value_length = (uint32_t)value_length;
    entry->reserved = 0;
    if (key_length) memcpy(payload(entry), key, key_length);
    if (value_length) memcpy(payload(entry) + key_length, value, value_length);
    entry->checksum = checksum(entry);
    uint64_t *bucket = &buckets(header)[hash & (header->bucket_count - 1)];
    entry->chain = *bucket;
    *bucket = offset_of(header, entry);
    list_push(header, &space->order, entry, IN_SPACE, &damaged);
    list_push(header, &header->classes[size_class], entry, IN_CLASS, &damaged);
    space->entries++;
    space->bytes += size;
    unlock(header, damaged);
    return damaged ? PH_SHARED_CACHE_FULL : PH_SHARED_CACHE_OK;
}

int ph_shared_cache_get(ph_shared_cache_t *cache, uint64_t handle, const void *key, size_t key_length, void *buffer,
                        size_t capacity, size_t *length) {
    header_t *header = cache->header;
    uint32_t index = (uint32_t)(handle >> 32), serial = (uint32_t)handle;
    uint64_t hash = key_hash(index, serial, key, key_length);
    space_t *space;
    if (lock_space(cache, handle, &space) != PH_SHARED_CACHE_OK) return PH_SHARED_CACHE_INVALID;
    int damaged = 0;
    entry_t *entry = find(header, index, serial, key, key_length, hash, &damaged);
    int result = PH_SHARED_CACHE_NOT_FOUND;
    if (entry != NULL && entry->expiry != 0 && entry->expiry <= now_ns()) {
        remove_entry(header, entry, &damaged);
        entry = NULL;
    }
    if (entry != NULL) {
        if (length) *length = entry->value_length;
        if (entry->value_length <= capacity) {
            if (buffer && entry->value_length) memcpy(buffer, payload(entry) + entry->key_length, entry->value_length);
            result = PH_SHARED_CACHE_OK;
        } else {
            result = PH_SHARED_CACHE_TOO_SMALL;
        }
    }
    unlock(header, damaged);
    return damaged ? PH_SHARED_CACHE_NOT_FOUND : result;
}

int ph_shared_cache_invalidate(ph_shared_cache_t *cache, uint64_t handle, const void *prefix, size_t prefix_length) {
    header_t *header = cache->header;
    space_t *space;
    if (lock_space(cache, handle, &space) != PH_SHARED_CACHE_OK) return PH_SHARED_CACHE_INVALID;
    int damaged = 0;
    uint64_t offset = space->order.oldest;
    for (int guard = 0; offset != 0 && !damaged && guard < WALK_LIMIT; guard++) {
        entry_t *entry = block_at(header, offset, ENTRY_MAGIC, &damaged);
        if (entry == NULL) break;
        offset = entry->order.newer;
        if (entry->key_length >= prefix_length && memcmp(payload(entry), prefix, prefix_length) == 0) remove_entry(header, entry, &damaged);
    }
    /* Damage clears the whole store on unlock: the entries asked for are gone either way. */
    unlock(header, damaged);
    return PH_SHARED_CACHE_OK;
}

/* ---- Namespaces ---- */

/* Empties a namespace and frees its slot. */
static void drop_space(header_t *header, space_t *space, int *damaged) {
    while (!*damaged && space->order.oldest != 0 && evict_oldest(header, &space->order, damaged)) {}
    space->in_use = 0;
}

int ph_shared_cache_namespace(ph_shared_cache_t *cache, const char *alias, const char *fingerprint, uint32_t max_entries,
                              uint64_t max_bytes, uint64_t *handle) {
    header_t *header = cache->header;
    if (strlen(alias) >= sizeof header->spaces[0].alias || strlen(fingerprint) >= sizeof header->spaces[0].fingerprint) {
        return PH_SHARED_CACHE_INVALID;
    }
    if (lock(cache) != 0) return PH_SHARED_CACHE_INVALID;
    int damaged = 0;
    space_t *found = NULL, *free_slot = NULL, *oldest_build = NULL;
    int builds = 0;
    for (int index = 0; index < NAMESPACES; index++) {
        space_t *space = &header->spaces[index];
        if (!space->in_use) {
            if (free_slot == NULL) free_slot = space;
            continue;
        }
        if (strncmp(space->alias, alias, sizeof space->alias) != 0) continue;
        if (strncmp(space->fingerprint, fingerprint, sizeof space->fingerprint) == 0) {
            found = space;
            break;
        }
        builds++;
        if (oldest_build == NULL || space->created < oldest_build->created) oldest_build = space;
    }
    if (found == NULL) {
        /* A new build of the alias: the oldest of its earlier builds goes when it had its share. */
        if (builds >= BUILDS_PER_ALIAS && oldest_build != NULL) {
            drop_space(header, oldest_build, &damaged);
            if (free_slot == NULL) free_slot = oldest_build;
        }
        if (free_slot == NULL) {
            unlock(header, damaged);
            return PH_SHARED_CACHE_FULL;
        }
        found = free_slot;
        memset(found, 0, sizeof *found);
        strncpy(found->alias, alias, sizeof found->alias - 1);
        strncpy(found->fingerprint, fingerprint, sizeof found->fingerprint - 1);
        found->serial = ++header->next_serial;
        if (found->serial == 0) found->serial = ++header->next_serial;
        found->created = ++header->sequence;
        found->in_use = 1;
    }
    found->max_entries = max_entries;
    found->max_bytes = max_bytes;
    *handle = ((uint64_t)(uint32_t)(found - header->spaces) << 32) | found->serial;
    unlock(header, damaged);
    return PH_SHARED_CACHE_OK;
}

uint64_t ph_shared_cache_entries(ph_shared_cache_t *cache, uint64_t handle) {
    header_t *header = cache->header;
    if (lock(cache) != 0) return 0;
    uint64_t count = 0;
    if (handle == 0) {
        for (int index = 0; index < NAMESPACES; index++) if (header->spaces[index].in_use) count += header->spaces[index].entries;
    } else {
        space_t *space = space_of(header, handle);
        count = space ? space->entries : 0;
    }
    unlock(header, 0);
    return count;
}

uint64_t ph_shared_cache_resets(ph_shared_cache_t *cache) {
    return __atomic_load_n(&cache->header->resets, __ATOMIC_RELAXED);
}

void ph_shared_cache_damage_for_testing(ph_shared_cache_t *cache) {
    header_t *header = cache->header;
    if (lock(cache) != 0) return;
    if (header->arena_top > header->arena_offset) {
        entry_t *first = (entry_t *)(base(header) + header->arena_offset);
        first->checksum ^= 0x5a5a5a5au;
    }
    unlock(header, 0);
}

void ph_shared_cache_damage_layout_for_testing(ph_shared_cache_t *cache) {
    cache->header->bucket_count = 0xffffffffu;
    cache->header->arena_top = UINT64_MAX / 2;
}

int ph_shared_cache_die_holding_lock_for_testing(ph_shared_cache_t *cache) {
    pid_t child = fork();
    if (child < 0) return -1;
    if (child == 0) {
        pthread_mutex_lock(&cache->header->lock);
        _exit(0);
    }
    int status = 0;
    return waitpid(child, &status, 0) == child ? 0 : -1;
}
