#include "host_guard.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct ph_host_guard {
    _Atomic(void *) instance;
    atomic_long calls;
    atomic_int retired;
    /* Every guard ever made, newest first: they are kept on purpose, and a
     * leak checker must see them (and the tables and alias strings after
     * them) as reachable. */
    struct ph_host_guard *next;
} ph_host_guard_t;

static _Atomic(ph_host_guard_t *) all_guards;

/* The table follows the guard at a 16-byte boundary. */
#define PH_GUARD_SPAN ((sizeof(ph_host_guard_t) + 15) & ~(size_t)15)

static ph_host_guard_t *guard_of(const void *table) {
    return (ph_host_guard_t *)((char *)table - PH_GUARD_SPAN);
}

void *ph_host_guard_new(size_t table_size, void *instance) {
    char *memory = aligned_alloc(16, PH_GUARD_SPAN + ((table_size + 15) & ~(size_t)15));
    if (memory == NULL) return NULL;
    for (size_t index = 0; index < PH_GUARD_SPAN + table_size; index++) memory[index] = 0;
    ph_host_guard_t *guard = (ph_host_guard_t *)memory;
    atomic_init(&guard->instance, instance);
    atomic_init(&guard->calls, 0);
    atomic_init(&guard->retired, 0);
    ph_host_guard_t *head = atomic_load(&all_guards);
    do {
        guard->next = head;
    } while (!atomic_compare_exchange_weak(&all_guards, &head, guard));
    return memory + PH_GUARD_SPAN;
}

void ph_host_guard_open(const void *table, void *instance) {
    atomic_store(&guard_of(table)->instance, instance);
}

void *ph_host_guard_enter(const void *table) {
    ph_host_guard_t *guard = guard_of(table);
    atomic_fetch_add(&guard->calls, 1);
    if (atomic_load(&guard->retired)) {
        atomic_fetch_sub(&guard->calls, 1);
        return NULL;
    }
    return atomic_load(&guard->instance);
}

void ph_host_guard_leave(const void *table) {
    atomic_fetch_sub(&guard_of(table)->calls, 1);
}

void ph_host_guard_retire(const void *table) {
    ph_host_guard_t *guard = guard_of(table);
    atomic_store(&guard->retired, 1);
    while (atomic_load(&guard->calls) > 0) {
        struct timespec pause = {0, 100 * 1000};
        nanosleep(&pause, NULL);
    }
    atomic_store(&guard->instance, NULL);
}

int ph_host_guard_retired(const void *table) {
    return atomic_load(&guard_of(table)->retired);
}
