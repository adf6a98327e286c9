/*
 * audit — an example plugin in C.
 *
 * - logs every host lifecycle event;
 * - counts "greeter.greeted" events other plugins publish;
 * - answers the "access.check" check: denies the users listed in its config;
 * - offers the "audit.log/1" service (see include/audit.h) to other plugins.
 *
 * Config ([plugin.audit] in the host config):
 *   deny = ["mallory"]   # users the access check denies
 */
#include <plughost/plugin.h>
#include "include/audit.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DENIED 16

typedef struct audit {
    const ph_host_t *host;
    audit_service_t service;
    atomic_llong records;
    size_t denied_count;
    const char *denied[MAX_DENIED]; /* host-owned config strings, valid until destroy */
} audit_t;

static void log_line(const audit_t *audit, ph_log_level_t level, const char *format, const char *text) {
    char line[512];
    snprintf(line, sizeof line, format, text);
    audit->host->log(audit->host, level, line);
}

static void service_record(void *context, const char *line) {
    audit_t *audit = context;
    atomic_fetch_add(&audit->records, 1);
    log_line(audit, PH_LOG_INFO, "record: %s", line);
}

static int64_t service_count(void *context) {
    return atomic_load(&((audit_t *)context)->records);
}

static void on_lifecycle(void *user_data, const ph_event_t *event) {
    log_line(user_data, PH_LOG_INFO, "lifecycle event %s", event->name);
}

static void on_greeted(void *user_data, const ph_event_t *event) {
    audit_t *audit = user_data;
    char text[256];
    size_t length = event->payload_length < sizeof text - 1 ? event->payload_length : sizeof text - 1;
    memcpy(text, event->payload, length);
    text[length] = 0;
    atomic_fetch_add(&audit->records, 1);
    log_line(audit, PH_LOG_INFO, "greeting seen: %s", text);
}

static ph_verdict_t on_access_check(void *user_data, const ph_event_t *event, ph_message_t *reason) {
    const audit_t *audit = user_data;
    for (size_t i = 0; i < audit->denied_count; i++) {
        if (strlen(audit->denied[i]) == event->payload_length &&
            memcmp(audit->denied[i], event->payload, event->payload_length) == 0) {
            ph_message_printf(reason, "user '%s' is on audit's deny list", audit->denied[i]);
            return PH_DENY;
        }
    }
    return PH_ALLOW;
}

static ph_status_t audit_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    size_t denied = 0;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        if (strncmp(key, "deny.", 5) != 0) {
            ph_message_printf(error, "unknown key '%s' (known: deny)", key);
            return PH_ERR_INVALID;
        }
        const char *value;
        if (config->get_string(config, key, &value, NULL) != PH_OK) {
            ph_message_printf(error, "key '%s' must be a string (a user name)", key);
            return PH_ERR_INVALID;
        }
        if (++denied > MAX_DENIED) {
            ph_message_printf(error, "key 'deny' lists more than %d users", MAX_DENIED);
            return PH_ERR_INVALID;
        }
    }
    return PH_OK;
}

static ph_status_t audit_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    audit_t *audit = calloc(1, sizeof *audit);
    if (audit == NULL) {
        ph_message_printf(error, "out of memory");
        return PH_ERR_FAILED;
    }
    audit->host = host;
    audit->service = (audit_service_t){sizeof(audit_service_t), audit, service_record, service_count};
    char key[32];
    for (size_t i = 0; i < MAX_DENIED; i++) {
        snprintf(key, sizeof key, "deny.%zu", i);
        if (host->config->get_string(host->config, key, &audit->denied[i], NULL) != PH_OK) break;
        audit->denied_count++;
    }

    const char *lifecycle[] = {"plughost.pre-start", "plughost.post-start", "plughost.pre-shutdown",
                               "plughost.post-shutdown", "plughost.plugin-loaded"};
    for (size_t i = 0; i < sizeof lifecycle / sizeof *lifecycle; i++) {
        host->subscribe(host, host->event_id(host, lifecycle[i]), PH_PRIORITY_DEFAULT, on_lifecycle, audit);
    }
    if (host->subscribe(host, host->event_id(host, "greeter.greeted"), PH_PRIORITY_DEFAULT, on_greeted, audit) != PH_OK ||
        host->subscribe_check(host, host->event_id(host, "access.check"), PH_PRIORITY_DEFAULT, on_access_check, audit) != PH_OK ||
        host->provide_service(host, AUDIT_SERVICE_ID, &audit->service) != PH_OK) {
        ph_message_printf(error, "could not register with the host");
        free(audit);
        return PH_ERR_FAILED;
    }
    *instance = audit;
    return PH_OK;
}

static ph_status_t audit_stop(void *instance, ph_message_t *error) {
    (void)error;
    audit_t *audit = instance;
    char count[32];
    snprintf(count, sizeof count, "%lld", (long long)atomic_load(&audit->records));
    log_line(audit, PH_LOG_INFO, "stopping after %s record(s)", count);
    return PH_OK;
}

static void audit_destroy(void *instance) { free(instance); }

static const ph_plugin_t audit_plugin = {
    .abi_major = PH_ABI_MAJOR,
    .abi_minor = PH_ABI_MINOR,
    .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE,
    .id = "dev.plughost.examples.audit",
    .version = "1.0.0",
    .description = "Audits lifecycle and greetings; denies listed users; offers audit.log/1",
    .parse_config = audit_parse_config,
    .create = audit_create,
    .stop = audit_stop,
    .destroy = audit_destroy,
};

PH_EXPORT const ph_plugin_t *audit_entry(uint32_t host_abi_major, uint32_t host_abi_minor) {
    (void)host_abi_minor;
    return host_abi_major == PH_ABI_MAJOR ? &audit_plugin : NULL;
}
