/*
 * Test fixture for HTTP: endpoints (typed and raw, good and refused) and a
 * wrapper whose behaviour is chosen by config.
 *
 * http_endpoints_entry registers:
 *   typed GET  /t/add/:a/:b      int64  add(int64, int64)
 *   typed GET  /t/small?n=       int32  twice(int32)
 *   typed GET  /t/hello          string hello(header X-Name string)
 *   typed POST /t/length         uint64 length(body bytes)
 *   typed GET  /t/not?flag=      bool   negate(bool)
 *   typed GET  /t/ratio/:x       double ratio(double)
 *   typed GET  /t/user           string user(plugin "user" string)
 *   raw   GET  /r/fail           fails with "handler exploded"
 *   raw   POST /r/echo           echoes the body, header X-Seen-User = property "user"
 *   raw   GET  /r/slow           answers "slow done" after 600 ms (for draining)
 *   raw   GET  /r/spans/:seg     answers the spans query(msg), path_param(seg) and header(X-Echo)
 *                                hand over, in hex, exactly `length` bytes each: "q|p|h"
 * and tries three it must be refused: a bytes result, a path parameter not in
 * the pattern, and a path under /_plughost/.
 *
 * http_bench_entry registers one typed GET <prefix>/add/:a/:b (config `prefix`),
 * so one runtime can serve the same endpoint behind different wrapper chains.
 *
 * http_wrapper_entry: config mode (pass | tag | block | fail | rescue |
 * post-param | user | rename | picky), match (default "*"), phase ("pre" | "post").
 * "pass" only calls the rest of the chain (benchmarks).
 */
#include <plughost/http.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const ph_http_t *http;

/** Exported too, so benchmarks can call it directly and through their own ffi_call. */
PH_EXPORT int64_t fixture_add(int64_t a, int64_t b) { return a + b; }
#define add fixture_add
static int32_t twice(int32_t n) { return n * 2; }
static _Thread_local char text[256];
static const char *hello(const char *name) { snprintf(text, sizeof text, "hello %s", name); return text; }
static uint64_t length(const uint8_t *data, size_t size) { (void)data; return size; }
static bool negate(bool flag) { return !flag; }
static double ratio(double x) { return x / 4; }
static const char *user(const char *name) { snprintf(text, sizeof text, "user=%s", name); return text; }

static ph_status_t fail_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)request;
    ph_message_printf(error, "handler exploded");
    return PH_ERR_FAILED;
}

static ph_status_t slow_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    struct timespec pause = {0, 600 * 1000 * 1000};
    nanosleep(&pause, NULL);
    http->set_body(request, "slow done", 9);
    return PH_OK;
}

static ph_status_t echo_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    const void *body; size_t size;
    http->body(request, &body, &size);
    http->set_body(request, body, size);
    ph_type_t type; const void *value; size_t value_length;
    if (http->get_property(request, "user", &type, &value, &value_length) == PH_OK && type == PH_TYPE_STRING) {
        http->set_header(request, "X-Seen-User", value);
    }
    return PH_OK;
}

/** Appends `length` bytes at `data` as hex (or "-" when the accessor found nothing). */
static size_t append_hex(char *out, size_t at, size_t room, ph_status_t status, const char *data, size_t length) {
    static const char digits[] = "0123456789abcdef";
    if (status != PH_OK) { if (at < room) out[at++] = '-'; return at; }
    for (size_t i = 0; i < length && at + 2 <= room; i++) {
        out[at++] = digits[(unsigned char)data[i] >> 4];
        out[at++] = digits[(unsigned char)data[i] & 0xF];
    }
    return at;
}

static ph_status_t spans_handler(void *user_data, ph_http_request_t *request, ph_message_t *error) {
    (void)user_data; (void)error;
    static _Thread_local char out[4096];
    size_t at = 0;
    const char *value; size_t length;
    ph_status_t status = http->query(request, "msg", &value, &length);
    at = append_hex(out, at, 1000, status, value, length);
    out[at++] = '|';
    status = http->path_param(request, "seg", &value, &length);
    at = append_hex(out, at, 2000, status, value, length);
    out[at++] = '|';
    status = http->header(request, "X-Echo", &value, &length);
    at = append_hex(out, at, sizeof out - 1, status, value, length);
    http->set_body(request, out, at);
    return PH_OK;
}

#define TYPED(m, p, fn, params, count, res) {sizeof(ph_typed_endpoint_t), m, p, (void (*)(void))fn, params, count, res}

static const ph_param_t add_p[] = {{"a", PH_SOURCE_PATH, PH_TYPE_INT64}, {"b", PH_SOURCE_PATH, PH_TYPE_INT64}};
static const ph_param_t twice_p[] = {{"n", PH_SOURCE_QUERY, PH_TYPE_INT32}};
static const ph_param_t hello_p[] = {{"X-Name", PH_SOURCE_HEADER, PH_TYPE_STRING}};
static const ph_param_t length_p[] = {{"data", PH_SOURCE_BODY, PH_TYPE_BYTES}};
static const ph_param_t negate_p[] = {{"flag", PH_SOURCE_QUERY, PH_TYPE_BOOL}};
static const ph_param_t ratio_p[] = {{"x", PH_SOURCE_PATH, PH_TYPE_DOUBLE}};
static const ph_param_t user_p[] = {{"user", PH_SOURCE_PLUGIN, PH_TYPE_STRING}};
static const ph_param_t missing_p[] = {{"x", PH_SOURCE_PATH, PH_TYPE_INT64}};

static ph_status_t endpoints_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin; (void)error;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    const ph_typed_endpoint_t good[] = {
        TYPED("GET", "/t/add/:a/:b", add, add_p, 2, PH_TYPE_INT64),
        TYPED("GET", "/t/small", twice, twice_p, 1, PH_TYPE_INT32),
        TYPED("GET", "/t/hello", hello, hello_p, 1, PH_TYPE_STRING),
        TYPED("POST", "/t/length", length, length_p, 1, PH_TYPE_UINT64),
        TYPED("GET", "/t/not", negate, negate_p, 1, PH_TYPE_BOOL),
        TYPED("GET", "/t/ratio/:x", ratio, ratio_p, 1, PH_TYPE_DOUBLE),
        TYPED("GET", "/t/user", user, user_p, 1, PH_TYPE_STRING),
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (http->register_typed_endpoint(host, &good[i], error) != PH_OK) return PH_ERR_FAILED;
    }
    ph_endpoint_t fail = {sizeof(ph_endpoint_t), "GET", "/r/fail", fail_handler, NULL};
    ph_endpoint_t echo = {sizeof(ph_endpoint_t), "POST", "/r/echo", echo_handler, NULL};
    http->register_endpoint(host, &fail, error);
    http->register_endpoint(host, &echo, error);
    ph_endpoint_t slow = {sizeof(ph_endpoint_t), "GET", "/r/slow", slow_handler, NULL};
    http->register_endpoint(host, &slow, error);
    ph_endpoint_t spans = {sizeof(ph_endpoint_t), "GET", "/r/spans/:seg", spans_handler, NULL};
    http->register_endpoint(host, &spans, error);

    /* These must be refused with a reason; the plugin still loads. */
    char ignored[256];
    ph_message_t refusal = {ignored, sizeof ignored};
    const ph_typed_endpoint_t bytes_result = TYPED("GET", "/t/bad-result", length, length_p, 1, PH_TYPE_BYTES);
    const ph_typed_endpoint_t missing_capture = TYPED("GET", "/t/bad-path", add, missing_p, 1, PH_TYPE_INT64);
    ph_endpoint_t reserved = {sizeof(ph_endpoint_t), "GET", "/_plughost/mine", echo_handler, NULL};
    if (http->register_typed_endpoint(host, &bytes_result, &refusal) == PH_OK ||
        http->register_typed_endpoint(host, &missing_capture, &refusal) == PH_OK ||
        http->register_endpoint(host, &reserved, &refusal) == PH_OK) {
        ph_message_printf(error, "a bad registration was accepted");
        return PH_ERR_FAILED;
    }
    *instance = NULL;
    return PH_OK;
}

static void nothing(void *instance) { (void)instance; }

static const ph_plugin_t endpoints_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.http-endpoints", .version = "1.0.0",
    .create = endpoints_create, .destroy = nothing,
};

PH_EXPORT const ph_plugin_t *http_endpoints_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &endpoints_plugin : NULL;
}

/* ---- one typed endpoint under a configured prefix (benchmarks) ---- */

static ph_status_t bench_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    const char *prefix;
    if (config->get_string(config, "prefix", &prefix, NULL) != PH_OK || prefix[0] != '/') {
        ph_message_printf(error, "prefix: a string starting with '/' is required");
        return PH_ERR_INVALID;
    }
    return PH_OK;
}

static ph_status_t bench_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    const char *prefix;
    host->config->get_string(host->config, "prefix", &prefix, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/add/:a/:b", prefix);
    const ph_typed_endpoint_t endpoint = TYPED("GET", path, add, add_p, 2, PH_TYPE_INT64);
    *instance = NULL;
    return http->register_typed_endpoint(host, &endpoint, error);
}

static const ph_plugin_t bench_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.http-bench", .version = "1.0.0",
    .parse_config = bench_parse_config, .create = bench_create, .destroy = nothing,
};

PH_EXPORT const ph_plugin_t *http_bench_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &bench_plugin : NULL;
}

/* ---- the configurable wrapper ---- */

typedef struct wrapper {
    const ph_host_t *host;
    char mode[32];
    char match[128];
    ph_wrapper_t registration;
} wrapper_t;

static void append_header(ph_http_request_t *request, const char *name, const char *piece) {
    /* Response headers are replaced, so keep the chain trace in a property. */
    ph_type_t type; const void *value; size_t size;
    char trace[256] = "";
    if (http->get_property(request, "trace", &type, &value, &size) == PH_OK) snprintf(trace, sizeof trace, "%s", (const char *)value);
    strncat(trace, piece, sizeof trace - strlen(trace) - 1);
    http->set_property(request, "trace", PH_TYPE_STRING, trace, strlen(trace));
    http->set_header(request, name, trace);
}

static ph_status_t wrapper_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    wrapper_t *w = user_data;
    if (w->mode[0] == 'p' && w->mode[1] == 'a') return http->call_next(request); /* "pass" */
    const char *alias = w->host->alias;
    char piece[64];
    if (strcmp(w->mode, "tag") == 0) {
        snprintf(piece, sizeof piece, "%s>", alias);
        append_header(request, "X-Chain", piece);
        ph_status_t status = http->call_next(request);
        snprintf(piece, sizeof piece, "<%s", alias);
        append_header(request, "X-Chain", piece);
        return status;
    }
    if (strcmp(w->mode, "block") == 0) {
        http->set_status(request, 418);
        http->set_body(request, "blocked", 7);
        return PH_OK;
    }
    if (strcmp(w->mode, "fail") == 0) {
        ph_message_printf(error, "wrapper exploded");
        return PH_ERR_FAILED;
    }
    if (strcmp(w->mode, "rescue") == 0) {
        ph_status_t status = http->call_next(request);
        if (status != PH_OK || http->status(request) >= 500) {
            http->set_status(request, 200);
            http->set_body(request, "rescued", 7);
        }
        /* A second call_next must be refused. */
        char again[16];
        snprintf(again, sizeof again, "%d", http->call_next(request));
        http->set_header(request, "X-Second-Next", again);
        return PH_OK;
    }
    if (strcmp(w->mode, "post-param") == 0) {
        ph_type_t type; const void *value; size_t size;
        ph_status_t found = http->param(request, "a", &type, &value, &size);
        if (found == PH_OK && type == PH_TYPE_INT64) {
            snprintf(piece, sizeof piece, "%lld", (long long)*(const int64_t *)value);
            http->set_header(request, "X-Param-A", piece);
        } else {
            snprintf(piece, sizeof piece, "status %d", found);
            http->set_header(request, "X-Param-A", piece);
        }
        return http->call_next(request);
    }
    if (strcmp(w->mode, "rename") == 0) {
        http->set_request_header(request, "x-name", "wrapped");
        return http->call_next(request);
    }
    if (strcmp(w->mode, "user") == 0) {
        http->set_property(request, "user", PH_TYPE_STRING, "carol", 5);
        return http->call_next(request);
    }
    if (strcmp(w->mode, "user-nul") == 0) {
        /* Six bytes with a NUL inside: a C string argument would end after "car". */
        http->set_property(request, "user", PH_TYPE_STRING, "car\0ol", 6);
        return http->call_next(request);
    }
    if (strcmp(w->mode, "picky") == 0) {
        http->set_header(request, "X-Picky", state ? (const char *)state : "?");
        return http->call_next(request);
    }
    ph_message_printf(error, "unknown mode %s", w->mode);
    return PH_ERR_FAILED;
}

/* picky: wraps typed endpoints only; its prepare fails for /t/ratio/:x. */
static bool picky_accepts(void *user_data, const ph_endpoint_info_t *endpoint) {
    (void)user_data;
    return endpoint->kind == PH_ENDPOINT_TYPED;
}

static ph_status_t picky_prepare(void *user_data, const ph_endpoint_info_t *endpoint, void **state, ph_message_t *error) {
    (void)user_data;
    if (strstr(endpoint->path, "/ratio") != NULL) {
        ph_message_printf(error, "cannot wrap %s", endpoint->path);
        return PH_ERR_FAILED;
    }
    char *prepared = malloc(64);
    snprintf(prepared, 64, "%s %zu params", endpoint->method, endpoint->param_count);
    *state = prepared;
    return PH_OK;
}

static void picky_release(void *user_data, void *state) { (void)user_data; free(state); }

static ph_status_t wrapper_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) { ph_message_printf(error, "no HTTP"); return PH_ERR_UNSUPPORTED; }
    wrapper_t *w = calloc(1, sizeof *w);
    w->host = host;
    const char *value = "tag";
    host->config->get_string(host->config, "mode", &value, NULL);
    snprintf(w->mode, sizeof w->mode, "%s", value);
    value = "*";
    host->config->get_string(host->config, "match", &value, NULL);
    snprintf(w->match, sizeof w->match, "%s", value);
    value = "pre";
    host->config->get_string(host->config, "phase", &value, NULL);
    bool picky = strcmp(w->mode, "picky") == 0;
    w->registration = (ph_wrapper_t){
        .struct_size = sizeof(ph_wrapper_t), .phase = strcmp(value, "post") == 0 ? PH_WRAP_POST : PH_WRAP_PRE,
        .name = w->mode, .match = w->match, .user_data = w, .call = wrapper_call,
        .accepts = picky ? picky_accepts : NULL, .prepare = picky ? picky_prepare : NULL,
        .release = picky ? picky_release : NULL,
    };
    if (http->register_wrapper(host, &w->registration, error) != PH_OK) { free(w); return PH_ERR_FAILED; }
    *instance = w;
    return PH_OK;
}

static void wrapper_destroy(void *instance) { free(instance); }

static ph_status_t wrapper_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin; (void)config; (void)error;
    return PH_OK;
}

static const ph_plugin_t wrapper_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE, .id = "test.http-wrapper", .version = "1.0.0",
    .parse_config = wrapper_parse_config, .create = wrapper_create, .destroy = wrapper_destroy,
};

PH_EXPORT const ph_plugin_t *http_wrapper_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &wrapper_plugin : NULL;
}
