/*
 * Test fixture: typed endpoints that speak JSON (ABI 1.3).
 *
 * json_endpoints_entry registers:
 *   POST /j/echo            json echo(json body)                 any JSON in, the same out
 *   POST /j/order           json order(json body)                body_schema and result_schema, status 201
 *   GET  /j/malformed       json malformed(void)                 answers "{oops": a 500 naming the plugin
 *   GET  /j/null            json nothing(void)                   answers NULL: a 500 naming the plugin
 *   GET  /j/off-schema      json off_schema(void)                breaks its own result_schema: a 500
 *   GET  /j/text            string text(void), text/plain        the string unquoted
 *   DELETE /j/item/:id      void remove(int64 id), status 204    no body
 *   GET  /j/handled/:id     handler form: {"id": id}, or a 404 it answers itself for id 0,
 *                           or malformed JSON for id 13
 *   POST /j/later           handler form with PH_MAY_DEFER: resumes from a thread with the body echoed
 *
 * json_refusals_entry registers nine endpoints the host must refuse (each for one reason)
 * and GET /r/ok, which it must accept; a refused one does not stop the plugin loading.
 *
 * json_legacy_entry is an ABI 1.2 plugin whose ph_typed_endpoint_t ends where 1.2's ends,
 * followed by garbage: GET /legacy/add/:a/:b must answer as before.
 */
#include <plughost/http.h>
#include <plughost/json.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const ph_http_t *http;
static _Thread_local char out[1024];

static const char *echo(const char *json, size_t length) {
    if (length >= sizeof out) return NULL;
    memcpy(out, json, length + 1);  /* the host puts a NUL after the document */
    return out;
}

static const char *order(const char *json, size_t length) {
    ph_json_value_t root = ph_json_root(json, length), item, quantity;
    char name[64];
    int64_t count = 0;
    if (!ph_json_member(root, "item", &item) || ph_json_string_copy(item, name, sizeof name) >= sizeof name) return NULL;
    if (ph_json_member(root, "quantity", &quantity)) ph_json_integer(quantity, &count);
    snprintf(out, sizeof out, "{\"item\":\"%s\",\"quantity\":%lld,\"state\":\"placed\"}", name, (long long)count);
    return out;
}

static const char *malformed(void) { return "{oops"; }
static const char *nothing(void) { return NULL; }
static const char *off_schema(void) { return "{\"count\":\"three\"}"; }
static const char *text(void) { return "plain \"text\""; }
static void remove_item(int64_t id) { (void)id; }

static ph_status_t handled(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    ph_type_t type;
    const void *value;
    size_t length;
    if (http->param(request, "id", &type, &value, &length) != PH_OK || type != PH_TYPE_INT64) return PH_ERR_FAILED;
    int64_t id;
    memcpy(&id, value, sizeof id);
    if (id == 0) {
        http->set_status(request, 404);
        http->set_header(request, "Content-Type", "application/json");
        const char *body = "{\"error\":\"no item 0\"}";
        return http->set_body(request, body, strlen(body));
    }
    if (id == 13) return http->set_body(request, "[1,", 3);
    int written = snprintf(out, sizeof out, "{\"id\":%lld}", (long long)id);
    return http->set_body(request, out, (size_t)written);
}

static void *finish_later(void *argument) {
    ph_http_request_t *request = argument;
    ph_type_t type;
    const void *value;
    size_t length;
    if (http->param(request, "body", &type, &value, &length) == PH_OK && type == PH_TYPE_JSON) {
        http->set_body(request, value, length);
        http->resume(request, PH_OK, NULL);
    } else {
        http->resume(request, PH_ERR_FAILED, "no json body");
    }
    return NULL;
}

static ph_status_t later(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    pthread_t thread;
    if (pthread_create(&thread, NULL, finish_later, request) != 0) return PH_ERR_FAILED;
    pthread_detach(thread);
    return PH_PENDING;
}

static const ph_param_t json_body[] = {{"body", PH_SOURCE_BODY, PH_TYPE_JSON}};
static const ph_param_t id_path[] = {{"id", PH_SOURCE_PATH, PH_TYPE_INT64}};

#define ORDER_SCHEMA \
    "{\"type\":\"object\",\"required\":[\"item\"],\"additionalProperties\":false,\"properties\":{" \
    "\"item\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":20,\"description\":\"what to order\"}," \
    "\"quantity\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":99}," \
    "\"size\":{\"enum\":[\"S\",\"M\",\"L\"]}," \
    "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":3}}}"
#define PLACED_SCHEMA \
    "{\"type\":\"object\",\"required\":[\"item\",\"state\"],\"properties\":{\"state\":{\"const\":\"placed\"}}}"

static ph_status_t endpoints_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) return PH_ERR_UNSUPPORTED;
    const size_t size = sizeof(ph_typed_endpoint_t);
    const ph_typed_endpoint_t endpoints[] = {
        {.struct_size = size, .method = "POST", .path = "/j/echo", .function = (void (*)(void))echo,
         .params = json_body, .param_count = 1, .result = PH_TYPE_JSON, .summary = "Echoes any JSON"},
        {.struct_size = size, .method = "POST", .path = "/j/order", .function = (void (*)(void))order,
         .params = json_body, .param_count = 1, .result = PH_TYPE_JSON, .status = 201,
         .body_schema = ORDER_SCHEMA, .result_schema = PLACED_SCHEMA},
        {.struct_size = size, .method = "GET", .path = "/j/malformed", .function = (void (*)(void))malformed, .result = PH_TYPE_JSON},
        {.struct_size = size, .method = "GET", .path = "/j/null", .function = (void (*)(void))nothing, .result = PH_TYPE_JSON},
        {.struct_size = size, .method = "GET", .path = "/j/off-schema", .function = (void (*)(void))off_schema, .result = PH_TYPE_JSON,
         .result_schema = "{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"}}}"},
        {.struct_size = size, .method = "GET", .path = "/j/text", .function = (void (*)(void))text, .result = PH_TYPE_STRING,
         .content_type = "text/plain; charset=utf-8"},
        {.struct_size = size, .method = "DELETE", .path = "/j/item/:id", .function = (void (*)(void))remove_item,
         .params = id_path, .param_count = 1, .result = PH_TYPE_VOID, .status = 204},
        {.struct_size = size, .method = "GET", .path = "/j/handled/:id", .handler = handled,
         .params = id_path, .param_count = 1, .result = PH_TYPE_JSON, .result_schema = "{\"type\":\"object\"}"},
        {.struct_size = size, .method = "POST", .path = "/j/later", .handler = later, .flags = PH_MAY_DEFER,
         .params = json_body, .param_count = 1, .result = PH_TYPE_JSON},
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++) {
        if (http->register_typed_endpoint(host, &endpoints[i], error) != PH_OK) return PH_ERR_FAILED;
    }
    *instance = NULL;
    return PH_OK;
}

static ph_status_t refusals_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) return PH_ERR_UNSUPPORTED;
    const size_t size = sizeof(ph_typed_endpoint_t);
    static const ph_param_t json_query[] = {{"q", PH_SOURCE_QUERY, PH_TYPE_JSON}};
    const ph_typed_endpoint_t refused[] = {
        /* a keyword outside the subset */
        {.struct_size = size, .method = "POST", .path = "/r/pattern", .function = (void (*)(void))echo, .params = json_body,
         .param_count = 1, .result = PH_TYPE_JSON, .body_schema = "{\"type\":\"string\",\"pattern\":\"^a\"}"},
        /* a schema that is not JSON */
        {.struct_size = size, .method = "POST", .path = "/r/not-json", .function = (void (*)(void))echo, .params = json_body,
         .param_count = 1, .result = PH_TYPE_JSON, .body_schema = "{type: object}"},
        /* not a success status */
        {.struct_size = size, .method = "GET", .path = "/r/status", .function = (void (*)(void))malformed, .result = PH_TYPE_JSON, .status = 404},
        /* JSON from the query */
        {.struct_size = size, .method = "GET", .path = "/r/query", .function = (void (*)(void))echo, .params = json_query,
         .param_count = 1, .result = PH_TYPE_JSON},
        /* a JSON result under a content type that is not JSON */
        {.struct_size = size, .method = "GET", .path = "/r/type", .function = (void (*)(void))malformed, .result = PH_TYPE_JSON,
         .content_type = "text/plain"},
        /* both forms */
        {.struct_size = size, .method = "GET", .path = "/r/both", .function = (void (*)(void))malformed, .handler = handled,
         .result = PH_TYPE_JSON},
        /* a body schema without a JSON body */
        {.struct_size = size, .method = "GET", .path = "/r/schema", .function = (void (*)(void))malformed, .result = PH_TYPE_JSON,
         .body_schema = "{}"},
        /* a function cannot defer */
        {.struct_size = size, .method = "GET", .path = "/r/defer", .function = (void (*)(void))malformed, .result = PH_TYPE_JSON,
         .flags = PH_MAY_DEFER},
        /* a handler answering a string */
        {.struct_size = size, .method = "GET", .path = "/r/handler-string", .handler = handled, .result = PH_TYPE_STRING},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (http->register_typed_endpoint(host, &refused[i], error) == PH_OK) {
            ph_message_printf(error, "the host accepted refused[%zu]", i);
            return PH_ERR_FAILED;
        }
    }
    const ph_typed_endpoint_t ok = {.struct_size = size, .method = "GET", .path = "/r/ok", .function = (void (*)(void))text,
                                    .result = PH_TYPE_STRING};
    if (http->register_typed_endpoint(host, &ok, error) != PH_OK) return PH_ERR_FAILED;
    *instance = NULL;
    return PH_OK;
}

static int64_t add(int64_t a, int64_t b) { return a + b; }
static const ph_param_t add_params[] = {{"a", PH_SOURCE_PATH, PH_TYPE_INT64}, {"b", PH_SOURCE_PATH, PH_TYPE_INT64}};

/* An ABI 1.2 typed endpoint: the struct as 1.2 laid it out, then bytes a host must not read. */
static _Alignas(8) unsigned char legacy_storage[sizeof(ph_typed_endpoint_t)];

static ph_status_t legacy_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) return PH_ERR_UNSUPPORTED;
    memset(legacy_storage, 0xA5, sizeof legacy_storage);
    const ph_typed_endpoint_t endpoint = {.struct_size = PH_TYPED_ENDPOINT_SIZE_1_0, .method = "GET", .path = "/legacy/add/:a/:b",
                                          .function = (void (*)(void))add, .params = add_params, .param_count = 2,
                                          .result = PH_TYPE_INT64};
    memcpy(legacy_storage, &endpoint, PH_TYPED_ENDPOINT_SIZE_1_0);
    *instance = NULL;
    return http->register_typed_endpoint(host, (const ph_typed_endpoint_t *)legacy_storage, error);
}

static void none(void *instance) { (void)instance; }

static const ph_plugin_t endpoints_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.json", .version = "1.0.0", .create = endpoints_create, .destroy = none,
};
static const ph_plugin_t refusals_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.json.refusals", .version = "1.0.0", .create = refusals_create, .destroy = none,
};
static const ph_plugin_t legacy_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = 2, .struct_size = PH_PLUGIN_SIZE_1_1,
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.json.legacy", .version = "1.2.0", .create = legacy_create, .destroy = none,
};

PH_EXPORT const ph_plugin_t *json_endpoints_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &endpoints_plugin : NULL;
}

PH_EXPORT const ph_plugin_t *json_refusals_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &refusals_plugin : NULL;
}

PH_EXPORT const ph_plugin_t *json_legacy_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &legacy_plugin : NULL;
}
