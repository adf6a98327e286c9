/*
 * Validator fixture `staterandom` (alias state-random). Breaks ONE rule: restore_state
 * must refuse bytes it cannot read, never crash. Its state is
 *     uint64 name_length | name_length bytes of name | uint64 restores
 * and restore trusts the length prefix: it checks only that at least 16 bytes
 * arrived, then mallocs name_length + 1 bytes and memcpy's name_length bytes from
 * the input. For random input the prefix is a random 64-bit number: malloc fails
 * (NULL) or the copy runs past the end of the input; either way SIGSEGV. (A random
 * prefix below 1 MB, the only case that would not crash, has odds of 2^-44.)
 * Its own bytes round-trip exactly; fewer than 16 bytes (empty ones included) are refused.
 *
 * Must fail:  state (1 MB of random bytes)   reason "crashed (SIGSEGV)" in restore_state.
 *             Round trip and empty bytes pass.
 */
#include <plughost/plugin.h>

#include <stdlib.h>
#include <string.h>

typedef struct staterandom {
    char *name;                  /* NUL-terminated, malloc'd */
    size_t name_length;
    uint64_t restores;           /* [control] only */
} staterandom_t;

static ph_status_t staterandom_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    staterandom_t *self = calloc(1, sizeof *self);
    const char *alias = host->alias != NULL ? host->alias : "state-random";
    if (self != NULL) {
        self->name_length = strlen(alias);
        self->name = malloc(self->name_length + 1);
    }
    if (self == NULL || self->name == NULL) {
        free(self);
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    memcpy(self->name, alias, self->name_length + 1);
    *instance = self;
    return PH_OK;
}

static void staterandom_destroy(void *instance) {
    staterandom_t *self = instance;
    free(self->name);
    free(self);
}

static ph_status_t staterandom_save_state(void *instance, ph_state_write_fn write, void *sink, ph_message_t *error) {
    staterandom_t *self = instance;
    (void)error;
    uint64_t length = self->name_length;
    ph_status_t status = write(sink, &length, sizeof length);
    if (status == PH_OK) status = write(sink, self->name, self->name_length);
    if (status == PH_OK) status = write(sink, &self->restores, sizeof self->restores);
    return status;
}

static ph_status_t staterandom_restore_state(void *instance, const char *from_version, const void *bytes, size_t length,
                                             ph_message_t *error) {
    staterandom_t *self = instance;
    if (bytes == NULL || length < 16) {
        ph_message_printf(error, "state too short (%zu bytes from version %s)", length, from_version ? from_version : "?");
        return PH_ERR_INVALID;
    }
    const unsigned char *at = bytes;
    uint64_t name_length;
    memcpy(&name_length, at, 8);
    /* THE BUG: name_length is not checked against length - 16. */
    char *name = malloc((size_t)name_length + 1);
    memcpy(name, at + 8, (size_t)name_length);                 /* NULL, or reads past the input: SIGSEGV */
    name[name_length] = 0;
    memcpy(&self->restores, at + 8 + name_length, 8);
    free(self->name);
    self->name = name;
    self->name_length = (size_t)name_length;
    return PH_OK;
}

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.staterandom", .version = "1.0.0",
    .create = staterandom_create, .destroy = staterandom_destroy,
    .save_state = staterandom_save_state, .restore_state = staterandom_restore_state,
};

PH_EXPORT const ph_plugin_t *staterandom_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
