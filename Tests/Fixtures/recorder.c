/*
 * Test fixture: a configurable C plugin that appends every lifecycle call and
 * every event it sees to a log file, one line each: "<alias> <what> [<detail>]".
 *
 * Config: log (string, required), fail ("create" | "start"), deny (string:
 * payload that the "test.check" check denies), allow (bool: allow anything
 * else, otherwise abstain), priority (int), reject (bool: parse_config
 * refuses), publish (string: event published from start), provide (string:
 * service id offered), lookup (string: service id looked up in start).
 */
#include <plughost/plugin.h>

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct recorder {
    const ph_host_t *host;
    const char *log;
    const char *fail;
    const char *deny;
    const char *publish;
    const char *lookup;
    bool allow;
    const char *service_alias; /* the "service" this instance provides: its alias */
    atomic_int inside;         /* callbacks running right now, to catch unserialised calls */
} recorder_t;

static void record(const recorder_t *r, const char *what, const char *detail, size_t detail_length) {
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s", r->host->alias, what);
    if (detail != NULL && n < (int)sizeof line) {
        n += snprintf(line + n, sizeof line - n, " %.*s", (int)detail_length, detail);
    }
    if (n >= (int)sizeof line) n = sizeof line - 1;
    line[n++] = '\n';
    int fd = open(r->log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        ssize_t written = write(fd, line, n);
        (void)written;
        close(fd);
    }
}

static const char *string_or(const ph_config_t *c, const char *key, const char *fallback) {
    const char *value;
    return c->get_string(c, key, &value, NULL) == PH_OK ? value : fallback;
}

static void on_event(void *user_data, const ph_event_t *event) {
    recorder_t *r = user_data;
    if (atomic_fetch_add(&r->inside, 1) != 0) record(r, "OVERLAP", NULL, 0);
    record(r, event->name, event->payload, event->payload_length);
    atomic_fetch_sub(&r->inside, 1);
}

static ph_verdict_t on_check(void *user_data, const ph_event_t *event, ph_message_t *reason) {
    const recorder_t *r = user_data;
    record(r, "check", event->payload, event->payload_length);
    if (r->deny && strlen(r->deny) == event->payload_length && memcmp(r->deny, event->payload, event->payload_length) == 0) {
        ph_message_printf(reason, "%s denies %s", r->host->alias, r->deny);
        return PH_DENY;
    }
    return r->allow ? PH_ALLOW : PH_ABSTAIN;
}

static ph_status_t recorder_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    const char *log;
    if (config->get_string(config, "log", &log, NULL) != PH_OK) {
        ph_message_printf(error, "key 'log' is required (a file path)");
        return PH_ERR_INVALID;
    }
    bool reject = false;
    if (config->get_bool(config, "reject", &reject) == PH_OK && reject) {
        ph_message_printf(error, "key 'reject' is true, so this config is refused");
        return PH_ERR_INVALID;
    }
    return PH_OK;
}

static ph_status_t recorder_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_config_t *c = host->config;
    recorder_t *r = calloc(1, sizeof *r);
    r->host = host;
    r->log = string_or(c, "log", "/dev/null");
    r->fail = string_or(c, "fail", "");
    r->deny = string_or(c, "deny", NULL);
    r->publish = string_or(c, "publish", NULL);
    r->lookup = string_or(c, "lookup", NULL);
    r->service_alias = host->alias;
    c->get_bool(c, "allow", &r->allow);
    int64_t priority = 0;
    c->get_int(c, "priority", &priority);
    record(r, "create", NULL, 0);
    if (strcmp(r->fail, "create") == 0) {
        ph_message_printf(error, "asked to fail in create");
        free(r);
        return PH_ERR_FAILED;
    }
    const char *events[] = {"plughost.pre-start", "plughost.post-start", "plughost.pre-shutdown",
                            "plughost.post-shutdown", "plughost.plugin-loaded", "plughost.plugin-unloaded",
                            "plughost.request-received", "plughost.response-sent", "plughost.client-connected",
                            "plughost.client-disconnected", "test.ping"};
    for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
        host->subscribe(host, host->event_id(host, events[i]), (int32_t)priority, on_event, r);
    }
    host->subscribe_check(host, host->event_id(host, "test.check"), (int32_t)priority, on_check, r);
    if (strcmp(r->fail, "create-late") == 0) {
        /* Fails after subscribing and providing a service: the host must never call back. */
        host->provide_service(host, "late.svc/1", &r->service_alias);
        ph_message_printf(error, "asked to fail late in create");
        memset(r, 0xAB, sizeof *r);
        free(r);
        return PH_ERR_FAILED;
    }
    const char *provide = string_or(c, "provide", NULL);
    if (provide != NULL) {
        ph_status_t status = host->provide_service(host, provide, &r->service_alias);
        record(r, status == PH_OK ? "provided" : "provide-refused", provide, strlen(provide));
    }
    *instance = r;
    return PH_OK;
}

static ph_status_t recorder_start(void *instance, ph_message_t *error) {
    recorder_t *r = instance;
    record(r, "start", NULL, 0);
    if (strcmp(r->fail, "start") == 0) {
        ph_message_printf(error, "asked to fail in start");
        return PH_ERR_FAILED;
    }
    /* Probes of the host's rules: both must be refused. */
    char status[64];
    snprintf(status, sizeof status, "%d", r->host->subscribe(r->host, r->host->event_id(r->host, "test.ping"), 0, on_event, r));
    record(r, "late-subscribe", status, strlen(status));
    snprintf(status, sizeof status, "%d", r->host->publish(r->host, PH_EVENT_PRE_START, NULL, 0));
    record(r, "publish-builtin", status, strlen(status));
    if (r->lookup != NULL) {
        const char *const *provider = r->host->get_service(r->host, r->lookup);
        const char *who = provider ? *provider : "none";
        record(r, "service", who, strlen(who));
    }
    if (r->publish != NULL) {
        const char payload[] = "hello";
        r->host->publish(r->host, r->host->event_id(r->host, r->publish), payload, sizeof payload - 1);
    }
    return PH_OK;
}

static ph_status_t recorder_stop(void *instance, ph_message_t *error) {
    (void)error;
    record(instance, "stop", NULL, 0);
    return PH_OK;
}

static void recorder_destroy(void *instance) {
    record(instance, "destroy", NULL, 0);
    free(instance);
}

static const ph_plugin_t recorder = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.recorder", .version = "2.1.0",
    .description = "records what it sees",
    .parse_config = recorder_parse_config, .create = recorder_create, .start = recorder_start,
    .stop = recorder_stop, .destroy = recorder_destroy,
};

static const ph_plugin_t recorder_serial = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = 0, .id = "test.recorder-serial", .version = "2.1.0",
    .parse_config = recorder_parse_config, .create = recorder_create, .start = recorder_start,
    .stop = recorder_stop, .destroy = recorder_destroy,
};

PH_EXPORT const ph_plugin_t *recorder_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &recorder : NULL;
}

PH_EXPORT const ph_plugin_t *recorder_serial_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &recorder_serial : NULL;
}
