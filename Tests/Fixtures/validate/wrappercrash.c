/*
 * Validator fixture `wrappercrash` (alias wrapper-crash). Breaks ONE rule: a wrapper's
 * prepare must handle every endpoint it accepts; this one accepts every endpoint
 * and, for each `:capture` in the endpoint's path, looks up a length rule by
 * capture name and reads the rule's field without checking that a rule was found.
 * Rules exist only for a capture named `user`: for any other capture the lookup
 * answers NULL, and `rule->max_length` is a NULL dereference (SIGSEGV).
 * Endpoints without a capture, and captures named `user`, prepare fine.
 *
 *   raw GET /wc/list          prepare fine
 *   raw GET /wc/item/:id      prepare crashes (its own endpoint, so the validator
 *                             needs no synthetic endpoint to find it)
 *   wrapper "limits"          pre, match "*", accepts, prepare, call, release
 *
 * Must fail:  wrappers (accepts/prepare x every endpoint)   reason "crashed (SIGSEGV)"
 *             in prepare for GET /wc/item/:id.
 * Needs the HTTP extension (PH_EXT_HTTP) to register; without it, create fails with a message.
 */
#include <plughost/http.h>

#include <stdlib.h>
#include <string.h>

typedef struct rule {
    const char *capture;
    size_t max_length;
} rule_t;

static const rule_t rules[] = {{"user", 64}};

static const ph_http_t *http;

/* noinline: inlined, the optimizer would see the NULL and turn the read into a trap (SIGILL). */
__attribute__((noinline)) static const rule_t *rule_for(const char *capture, size_t length) {
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        if (strlen(rules[i].capture) == length && memcmp(rules[i].capture, capture, length) == 0) return &rules[i];
    }
    return NULL;
}

static bool limits_accepts(void *user_data, const ph_endpoint_info_t *endpoint) {
    (void)user_data; (void)endpoint;
    return true;
}

static ph_status_t limits_prepare(void *user_data, const ph_endpoint_info_t *endpoint, void **state, ph_message_t *error) {
    (void)user_data;
    size_t *limit = malloc(sizeof *limit);
    if (limit == NULL) { ph_message_printf(error, "out of memory"); return PH_ERR_FAILED; }
    *limit = 0;
    for (const char *at = endpoint->path; at != NULL && (at = strstr(at, "/:")) != NULL; ) {
        const char *name = at + 2;
        size_t length = strcspn(name, "/");
        const rule_t *rule = rule_for(name, length);
        if (rule->max_length > *limit) *limit = rule->max_length;   /* THE BUG: rule is NULL for most captures */
        at = name + length;
    }
    *state = limit;
    return PH_OK;
}

static ph_status_t limits_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)state; (void)error;
    return http->call_next(request);
}

static void limits_release(void *user_data, void *state) {
    (void)user_data;
    free(state);
}

static ph_status_t item_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    const char *id = NULL;
    size_t length = 0;
    if (http->path_param(request, "id", &id, &length) != PH_OK) length = 0;
    return http->set_body(request, id != NULL ? id : "", length);
}

static ph_status_t list_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    return http->set_body(request, "[]", 2);
}

static ph_status_t wrappercrash_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension != NULL ? host->get_extension(host, PH_EXT_HTTP) : NULL;
    if (http == NULL) {
        ph_message_printf(error, "needs the HTTP extension %s", PH_EXT_HTTP);
        return PH_ERR_UNSUPPORTED;
    }
    const ph_endpoint_t list = {.struct_size = sizeof(ph_endpoint_t), .method = "GET", .path = "/wc/list",
                                .handler = list_handler};
    const ph_endpoint_t item = {.struct_size = sizeof(ph_endpoint_t), .method = "GET", .path = "/wc/item/:id",
                                .handler = item_handler};
    const ph_wrapper_t limits = {.struct_size = sizeof(ph_wrapper_t), .phase = PH_WRAP_PRE, .name = "limits",
                                 .match = "*", .accepts = limits_accepts, .prepare = limits_prepare,
                                 .call = limits_call, .release = limits_release};
    ph_status_t status = http->register_endpoint(host, &list, error);
    if (status == PH_OK) status = http->register_endpoint(host, &item, error);
    if (status == PH_OK) status = http->register_wrapper(host, &limits, error);
    if (status != PH_OK) return status;
    *instance = NULL;
    return PH_OK;
}

static void wrappercrash_destroy(void *instance) { (void)instance; }

static const ph_plugin_t descriptor = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.validate.wrappercrash", .version = "1.0.0",
    .create = wrappercrash_create, .destroy = wrappercrash_destroy,
};

PH_EXPORT const ph_plugin_t *wrappercrash_entry(uint32_t host_major, uint32_t host_minor) {
    (void)host_minor;
    return host_major == PH_ABI_MAJOR ? &descriptor : NULL;
}
