/* Counts calls to malloc, calloc, realloc and posix_memalign in this process.
 * Linked into the benchmark executable only: its definitions interpose glibc's. */
#pragma once
#include <stdint.h>

/** Number of allocations made so far by any thread. */
uint64_t malloc_counter_allocations(void);

/** Bytes of heap in use right now (glibc's mallinfo2().uordblks + hblkhd). */
uint64_t malloc_counter_bytes_in_use(void);
