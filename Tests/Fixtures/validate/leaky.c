/*
 * Validator fixture `leaky` (alias leaky). Breaks ONE rule: destroy must free what
 * create allocated; this create allocates a 64 KiB scratch buffer (and writes it,
 * so it is resident: RSS grows as well as the malloc counters) that destroy never
 * frees. 100 create/destroy cycles leave 6.25 MiB (100 x 65536 bytes) behind.
 * 64 KiB is below glibc's mmap threshold (128 KiB), so it comes from the heap
 * arenas that mallinfo2() counts (uordblks).
 *
 * Must fail:  heap (create/destroy x100)   reason "grew the heap" (by about 6.4 MB;
 *             `good` grows it by a few hundred bytes at most, after a warm-up cycle).
 */
#include <plughost/plugin.h>

#include <stdlib.h>
#include <string.h>

#define SCRATCH_SIZE (64 * 1024)

typedef struct leaky {
    unsigned char *scratch;
} leaky_t;

static ph_status_t leaky_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    leaky_t *self = calloc(1, sizeof *self);
    if (self != NULL) self->scratch = malloc(SCRATCH_SIZE);
    if (self == NULL || self->scratch == NULL) {
        free(self);
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    memset(self->scratch, 0xA5, SCRATCH_SIZE);
    *instance = self;
    return PH_OK;
}

static void leaky_destroy(void *instance) {
    free(instance);                                            /* THE BUG: self->scratch is never freed */
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.leaky", .version = "1.0.0",
    .create = leaky_create, .destroy = leaky_destroy,
};

PH_EXPORT const ph_plugin_t *leaky_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
