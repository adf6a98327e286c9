/*
 * Validator fixture `badconfig` (alias bad-config). Breaks ONE rule: parse_config
 * must refuse a config it cannot use with a status, never crash. It takes one key,
 * `level` (string: debug | info | warning | error), like `good`, but it first reads
 * every key's value as a string, to trim it, without checking get_string's status:
 * for a value that is not a string (PH_ERR_TYPE) the pointer stays NULL and
 * is dereferenced (SIGSEGV).
 *
 * Crashes for:  level = 1 (or 1.5, true, an array, a table: any non-string), and for an
 *               unknown key with a non-string value (e.g. extra = 7), since the
 *               trimming comes before the key check.
 * Refuses, with a status and a message, without crashing: an unknown key with a string
 *               value, an unknown level string. Accepts: an empty config, level = "info".
 *
 * Must fail:  config (generated configs)   reason "crashed (SIGSEGV)" in parse_config.
 * lifecycle with an empty config passes. `plughost check` calls parse_config
 * with the (empty) config only: it passes.
 */
#include <plughost/plugin.h>

#include <stdlib.h>
#include <string.h>

static const char *const levels[] = {"debug", "info", "warning", "error"};

static ph_status_t badconfig_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        if (key == NULL) return PH_ERR_INVALID;
        const char *value = NULL;
        size_t length = 0;
        config->get_string(config, key, &value, &length);      /* THE BUG: status ignored */
        const char *start = value;
        while (*start == ' ') start++;                         /* NULL deref for a non-string value */
        length -= (size_t)(start - value);
        value = start;
        if (strcmp(key, "level") != 0) {
            ph_message_printf(error, "unknown key '%s' (this plugin takes only 'level')", key);
            return PH_ERR_INVALID;
        }
        bool known = false;
        for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
            if (strlen(levels[l]) == length && memcmp(levels[l], value, length) == 0) known = true;
        }
        if (!known) {
            ph_message_printf(error, "level: expected debug, info, warning or error");
            return PH_ERR_INVALID;
        }
    }
    return PH_OK;
}

static ph_status_t badconfig_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)host;
    int *self = calloc(1, sizeof *self);
    if (self == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *instance = self;
    return PH_OK;
}

static void badconfig_destroy(void *instance) { free(instance); }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.validate.badconfig", .version = "1.0.0",
    .parse_config = badconfig_parse_config, .create = badconfig_create, .destroy = badconfig_destroy,
};

PH_EXPORT const ph_plugin_t *badconfig_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
