/*
 * Fixture for a test-only host extension, "test.broker/1" (defined by the
 * test, not by plughost): the plugin registers the topic named by its config
 * (`topic`) through the extension's table while `create` runs. When the host
 * offers no such extension, create fails saying so.
 */
#include <plughost/plugin.h>
#include <stdlib.h>
#include <string.h>

/** The test extension's table, as the test defines it. */
typedef struct test_broker {
    uint32_t struct_size;
    uint32_t reserved;
    /** Registers `topic` for the calling plugin. [create] */
    ph_status_t (*add_topic)(const ph_host_t *host, const char *topic);
} test_broker_t;

static ph_status_t broker_create(const ph_plugin_t *p, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)p;
    const test_broker_t *broker = host->get_extension(host, "test.broker/1");
    if (broker == NULL) {
        ph_message_printf(error, "host offers no test.broker/1");
        return PH_ERR_UNSUPPORTED;
    }
    const char *topic = "none";
    host->config->get_string(host->config, "topic", &topic, NULL);
    ph_status_t status = broker->add_topic(host, topic);
    if (status != PH_OK) {
        ph_message_printf(error, "add_topic failed: %d", status);
        return status;
    }
    *instance = NULL;
    return PH_OK;
}

static void broker_destroy(void *instance) { (void)instance; }

/** Accepts one string key, `topic`. */
static ph_status_t broker_parse_config(const ph_plugin_t *p, const ph_config_t *config, ph_message_t *error) {
    (void)p;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        if (strcmp(key, "topic") != 0) {
            ph_message_printf(error, "unknown key '%s' (known: topic)", key);
            return PH_ERR_INVALID;
        }
    }
    return PH_OK;
}

static const ph_plugin_t broker = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.broker-user", .version = "1.0.0",
    .parse_config = broker_parse_config, .create = broker_create, .destroy = broker_destroy,
};

PH_EXPORT const ph_plugin_t *broker_entry(uint32_t major, uint32_t minor) { (void)minor; return major == PH_ABI_MAJOR ? &broker : NULL; }
