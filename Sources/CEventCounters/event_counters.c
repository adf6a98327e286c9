#include "event_counters.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

__thread ph_event_counter_block_t *ph_thread_event_counters;

/* Every living thread's block, and what ended threads counted. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ph_event_counter_block_t *living;
static ph_event_counter_block_t retired;
/* Ids and slots past the limits (rare: shared, so atomic). */
static uint64_t other_published, other_delivered, other_verdicts[3];

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

/* A thread ends: its counts move to `retired`, its block leaves the list. */
static void fold_on_exit(void *value) {
    ph_event_counter_block_t *block = value;
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < PH_COUNTED_EVENTS; i++) {
        ph_counter_add(&retired.published[i], block->published[i]);
        ph_counter_add(&retired.delivered[i], block->delivered[i]);
    }
    for (size_t i = 0; i < PH_COUNTED_CHECK_SLOTS * 3; i++) ph_counter_add(&retired.verdicts[i], block->verdicts[i]);
    if (block->previous != NULL) block->previous->next = block->next; else living = block->next;
    if (block->next != NULL) block->next->previous = block->previous;
    pthread_mutex_unlock(&registry_lock);
    ph_thread_event_counters = NULL;
    free(block);
}

static void make_exit_key(void) { pthread_key_create(&exit_key, fold_on_exit); }

/* This thread's block, made on first use; NULL if memory ran out (then nothing is counted here). */
static ph_event_counter_block_t *this_thread_block(void) {
    if (ph_thread_event_counters != NULL) return ph_thread_event_counters;
    ph_event_counter_block_t *block = calloc(1, sizeof *block);
    if (block == NULL) return NULL;
    pthread_once(&exit_key_once, make_exit_key);
    pthread_mutex_lock(&registry_lock);
    block->next = living;
    if (living != NULL) living->previous = block;
    living = block;
    pthread_mutex_unlock(&registry_lock);
    pthread_setspecific(exit_key, block);
    ph_thread_event_counters = block;
    return block;
}

void ph_count_event_slow(uint32_t id, uint32_t delivered) {
    if (id >= PH_COUNTED_EVENTS) {
        __atomic_fetch_add(&other_published, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&other_delivered, delivered, __ATOMIC_RELAXED);
        return;
    }
    ph_event_counter_block_t *block = this_thread_block();
    if (block == NULL) return;
    ph_counter_add(&block->published[id], 1);
    ph_counter_add(&block->delivered[id], delivered);
}

void ph_count_verdict_slow(uint32_t slot, uint32_t verdict_index) {
    if (verdict_index > 2) return;
    if (slot >= PH_COUNTED_CHECK_SLOTS) {
        __atomic_fetch_add(&other_verdicts[verdict_index], 1, __ATOMIC_RELAXED);
        return;
    }
    ph_event_counter_block_t *block = this_thread_block();
    if (block == NULL) return;
    ph_counter_add(&block->verdicts[slot * 3 + verdict_index], 1);
}

static uint64_t load(const uint64_t *counter) { return __atomic_load_n(counter, __ATOMIC_RELAXED); }

void ph_event_counters_read(uint64_t *published, uint64_t *delivered, uint64_t *verdicts) {
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < PH_COUNTED_EVENTS; i++) {
        published[i] = load(&retired.published[i]);
        delivered[i] = load(&retired.delivered[i]);
    }
    for (size_t i = 0; i < PH_COUNTED_CHECK_SLOTS * 3; i++) verdicts[i] = load(&retired.verdicts[i]);
    for (const ph_event_counter_block_t *block = living; block != NULL; block = block->next) {
        for (size_t i = 0; i < PH_COUNTED_EVENTS; i++) {
            published[i] += load(&block->published[i]);
            delivered[i] += load(&block->delivered[i]);
        }
        for (size_t i = 0; i < PH_COUNTED_CHECK_SLOTS * 3; i++) verdicts[i] += load(&block->verdicts[i]);
    }
    pthread_mutex_unlock(&registry_lock);
    published[PH_COUNTED_EVENTS] = load(&other_published);
    delivered[PH_COUNTED_EVENTS] = load(&other_delivered);
    for (size_t i = 0; i < 3; i++) verdicts[PH_COUNTED_CHECK_SLOTS * 3 + i] = load(&other_verdicts[i]);
}
