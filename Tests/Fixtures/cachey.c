/* A plugin that uses the host cache, for the shared-cache tests:
 *   GET /cache/set?key=K&value=V[&ttl=MS]  stores V under K (answers "set")
 *   GET /cache/get?key=K                   answers the value, or 404 "miss"
 *   GET /cache/invalidate?prefix=P         removes every key starting with P
 *   GET /cache/pid                         the worker's pid (which worker answered) */
#include <plughost/http.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const ph_http_t *http;
static const ph_host_t *the_host;

static const char *parameter(ph_http_request_t *request, const char *name, size_t *length) {
    const char *value = NULL;
    if (http->query(request, name, &value, length) != PH_OK) {
        *length = 0;
        return "";
    }
    return value;
}

static ph_status_t set(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    size_t key_length, value_length, ttl_length;
    const char *key = parameter(request, "key", &key_length);
    const char *value = parameter(request, "value", &value_length);
    const char *ttl = parameter(request, "ttl", &ttl_length);
    char ttl_text[24] = {0};
    memcpy(ttl_text, ttl, ttl_length < sizeof ttl_text - 1 ? ttl_length : sizeof ttl_text - 1);
    ph_status_t status = the_host->cache_set(the_host, key, key_length, value, value_length, strtoull(ttl_text, NULL, 10));
    return http->set_body(request, status == PH_OK ? "set" : "refused", status == PH_OK ? 3 : 7);
}

static ph_status_t get(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    size_t key_length, length = 0;
    const char *key = parameter(request, "key", &key_length);
    char buffer[1024];
    if (the_host->cache_get(the_host, key, key_length, buffer, sizeof buffer, &length) != PH_OK) {
        http->set_status(request, 404);
        return http->set_body(request, "miss", 4);
    }
    return http->set_body(request, buffer, length);
}

static ph_status_t invalidate(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    size_t length;
    const char *prefix = parameter(request, "prefix", &length);
    the_host->cache_invalidate(the_host, prefix, length);
    return http->set_body(request, "invalidated", 11);
}

static ph_status_t pid(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    char text[24];
    int length = snprintf(text, sizeof text, "%d", (int)getpid());
    return http->set_body(request, text, (size_t)length);
}

static ph_status_t create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    the_host = host;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    const ph_endpoint_t endpoints[] = {
        {sizeof(ph_endpoint_t), "GET", "/cache/set", set, NULL},
        {sizeof(ph_endpoint_t), "GET", "/cache/get", get, NULL},
        {sizeof(ph_endpoint_t), "GET", "/cache/invalidate", invalidate, NULL},
        {sizeof(ph_endpoint_t), "GET", "/cache/pid", pid, NULL},
    };
    for (size_t index = 0; index < sizeof endpoints / sizeof endpoints[0]; index++) {
        ph_status_t status = http->register_endpoint(host, &endpoints[index], error);
        if (status != PH_OK) return status;
    }
    *instance = NULL;
    return PH_OK;
}

static void destroy(void *instance) { (void)instance; }

static const ph_plugin_t plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS, .id = "test.cachey", .version = "1.0.0",
    .create = create, .destroy = destroy,
};

PH_EXPORT const ph_plugin_t *cachey_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &plugin : NULL;
}
