/* Counters of event dispatch and check verdicts, kept per thread so the
 * dispatch path pays one plain add to thread-local memory: no atomic
 * read-modify-write, no lock, no shared cache line (a relaxed atomic add per
 * publish measured as a fifth of a 26 ns dispatch to 10 plugins).
 *
 * Each thread that counts gets a block on first use, linked into a list under
 * a mutex; a reader (a metrics scrape) sums every block with relaxed loads. A
 * thread that ends folds its block into a retired one first, so nothing is
 * lost. Only the owning thread writes a block, so a relaxed load and store
 * stand in for an atomic add; the reader may miss the increments of the last
 * nanoseconds, never see a torn value. */
#ifndef PLUGHOST_EVENT_COUNTERS_H
#define PLUGHOST_EVENT_COUNTERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Event ids counted one by one; higher ids are counted together as "other". */
#define PH_COUNTED_EVENTS 1024
/* Check subscriber slots (an event and an alias, see ph_check_slot) counted one by one. */
#define PH_COUNTED_CHECK_SLOTS 512

/* One thread's counts. */
typedef struct ph_event_counter_block {
    uint64_t published[PH_COUNTED_EVENTS];
    uint64_t delivered[PH_COUNTED_EVENTS];
    /* [slot * 3 + 0] allow, + 1 deny, + 2 abstain. */
    uint64_t verdicts[PH_COUNTED_CHECK_SLOTS * 3];
    struct ph_event_counter_block *next;
    struct ph_event_counter_block *previous;
} ph_event_counter_block_t;

/* This thread's block, NULL until it first counts. */
extern __thread ph_event_counter_block_t *ph_thread_event_counters;

/* Allocates this thread's block (or counts an id past the limits) and counts. */
void ph_count_event_slow(uint32_t id, uint32_t delivered);
void ph_count_verdict_slow(uint32_t slot, uint32_t verdict_index);

static inline void ph_counter_add(uint64_t *counter, uint64_t amount) {
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + amount, __ATOMIC_RELAXED);
}

/* One publish of event `id`, handed to `delivered` subscribers. */
static inline void ph_count_event(uint32_t id, uint32_t delivered) {
    ph_event_counter_block_t *block = ph_thread_event_counters;
    if (__builtin_expect(block == 0 || id >= PH_COUNTED_EVENTS, 0)) {
        ph_count_event_slow(id, delivered);
        return;
    }
    ph_counter_add(&block->published[id], 1);
    ph_counter_add(&block->delivered[id], delivered);
}

/* One verdict of the check subscriber in `slot`: 0 allow, 1 deny, 2 abstain. */
static inline void ph_count_verdict(uint32_t slot, uint32_t verdict_index) {
    ph_event_counter_block_t *block = ph_thread_event_counters;
    if (__builtin_expect(block == 0 || slot >= PH_COUNTED_CHECK_SLOTS || verdict_index > 2, 0)) {
        ph_count_verdict_slow(slot, verdict_index);
        return;
    }
    ph_counter_add(&block->verdicts[slot * 3 + verdict_index], 1);
}

/* Sums over every thread, living and ended. `published` and `delivered` get
 * PH_COUNTED_EVENTS + 1 entries (the last: ids past the limit); `verdicts`
 * PH_COUNTED_CHECK_SLOTS * 3 + 3 (the last three: slots past the limit). */
void ph_event_counters_read(uint64_t *published, uint64_t *delivered, uint64_t *verdicts);

#ifdef __cplusplus
}
#endif

#endif
