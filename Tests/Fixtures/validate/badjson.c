/*
 * Validator fixture `badjson` (alias bad-json). Breaks ONE rule: a typed endpoint's json result
 * (ABI 1.3, PH_TYPE_JSON) must be NULL or a well-formed JSON document. GET /badjson/ratio?a=&b=
 * answers {"ratio": a / b} built with snprintf's %g, which writes "inf" or "nan" when b is 0:
 * not JSON (the host answers 500 naming the plugin).
 *
 * Must fail:  typed   reason "returned malformed JSON" (b = 0), naming GET /badjson/ratio.
 */
#include <plughost/http.h>

#include <stdio.h>

static _Thread_local char answer[64];

static const char *ratio(double a, double b) {
    snprintf(answer, sizeof answer, "{\"ratio\":%g}", a / b);   /* THE BUG: inf and nan are not JSON */
    return answer;
}

static const ph_param_t ratio_params[] = {{"a", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}, {"b", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}};

static ph_status_t badjson_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) {
        ph_message_printf(error, "this host serves no HTTP");
        return PH_ERR_UNSUPPORTED;
    }
    const ph_typed_endpoint_t endpoint = {.struct_size = sizeof(ph_typed_endpoint_t), .method = "GET", .path = "/badjson/ratio",
                                          .function = (void (*)(void))ratio, .params = ratio_params, .param_count = 2,
                                          .result = PH_TYPE_JSON};
    ph_status_t status = http->register_typed_endpoint(host, &endpoint, error);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static void badjson_destroy(void *instance) { (void)instance; }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.badjson", .version = "1.0.0",
    .create = badjson_create, .destroy = badjson_destroy,
};

PH_EXPORT const ph_plugin_t *badjson_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
