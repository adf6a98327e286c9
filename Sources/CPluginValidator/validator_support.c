/*
 * Support for the validator's tests: memory kept for the life of the process (outside the malloc
 * heap, never freed), monotonic time, the threads of the process, the size of the malloc heap and
 * deterministic random bytes.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- kept memory: mmap'ed chunks, bump-allocated ---- */

#define KEEP_CHUNK (1u << 20)

static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *keep_next;
static size_t keep_left;

static void *map_pages(size_t size) {
    void *pages = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == MAP_FAILED) {
        fprintf(stderr, "validate: out of memory (mmap of %zu bytes failed)\n", size);
        abort();
    }
    return pages;
}

void *vt_keep(size_t size) {
    size = (size + 15) & ~(size_t)15;
    if (size == 0) size = 16;
    if (size > KEEP_CHUNK / 4) return map_pages(size);   /* zeroed by the kernel */
    pthread_mutex_lock(&keep_lock);
    if (keep_left < size) {
        keep_next = map_pages(KEEP_CHUNK);
        keep_left = KEEP_CHUNK;
    }
    void *block = keep_next;
    keep_next += size;
    keep_left -= size;
    pthread_mutex_unlock(&keep_lock);
    return block;
}

char *vt_keep_bytes(const void *bytes, size_t length) {
    char *copy = vt_keep(length + 1);
    if (length > 0) memcpy(copy, bytes, length);
    copy[length] = 0;
    return copy;
}

/* ---- time ---- */

uint64_t vt_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

void vt_sleep_ms(unsigned milliseconds) {
    struct timespec pause = {milliseconds / 1000, (long)(milliseconds % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0) {}
}

/* ---- the malloc heap ---- */

/* Under AddressSanitizer, malloc is its own and mallinfo2 reports nothing: ask it instead. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

size_t vt_heap_bytes(void) {
    if (__sanitizer_get_current_allocated_bytes != NULL) return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

/* ---- threads ---- */

size_t vt_tasks(pid_t *tids, size_t capacity) {
    size_t count = 0;
    DIR *folder = opendir("/proc/self/task");
    if (folder == NULL) return 0;
    struct dirent *entry;
    while ((entry = readdir(folder)) != NULL && count < capacity) {
        if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') tids[count++] = (pid_t)atoi(entry->d_name);
    }
    closedir(folder);
    return count;
}

void vt_task_name(pid_t tid, char *name, size_t capacity) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    snprintf(name, capacity, "?");
    FILE *file = fopen(path, "r");
    if (file == NULL) return;
    if (fgets(name, (int)capacity, file) != NULL) name[strcspn(name, "\n")] = 0;
    fclose(file);
}

/* ---- random bytes (xorshift64*) ---- */

void vt_random_bytes(void *bytes, size_t length, uint64_t seed) {
    unsigned char *at = bytes;
    uint64_t x = seed ? seed : 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < length; i += 8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t word = x * 0x2545F4914F6CDD1Du;
        size_t n = length - i < 8 ? length - i : 8;
        memcpy(at + i, &word, n);
    }
}
