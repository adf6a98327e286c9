/*
 * calc — typed endpoints in C: plain C functions the host calls through libffi
 * after parsing and validating their parameters from the request.
 *
 *   GET  /calc/add/:a/:b            int64 add(int64 a, int64 b)
 *   GET  /calc/divide?a=..&b=..     double divide(double a, double b)
 *   GET  /calc/square/:n            int64 square(int32 n)        (n must fit in 32 bits)
 *   POST /calc/shout                string shout(string body)
 *   GET  /api/calc/whoami           string whoami(string user)   (user set by the auth wrapper)
 *   POST /calc/stats                json stats(json body)        {"values":[1,2,3]} -> {"count":3,"mean":2}
 *
 * stats (ABI 1.3) takes the JSON body, which the host has checked against its body_schema, reads it
 * and builds its answer with <plughost/json.h>.
 */
#include <plughost/http.h>
#include <plughost/json.h>

#include <ctype.h>
#include <math.h>
#include <string.h>

static int64_t add(int64_t a, int64_t b) { return a + b; }
static double divide(double a, double b) { return a / b; }
static int64_t square(int32_t n) { return (int64_t)n * n; }

/* String results must outlive the call: a thread-local buffer does. */
static _Thread_local char result[512];

static const char *shout(const char *text) {
    size_t i = 0;
    for (; text[i] != 0 && i < sizeof result - 2; i++) result[i] = (char)toupper((unsigned char)text[i]);
    result[i++] = '!';
    result[i] = 0;
    return result;
}

static const char *whoami(const char *user) {
    snprintf(result, sizeof result, "you are %s", user);
    return result;
}

/* JSON results must outlive the call too: a thread-local builder, emptied at the thread's next call
 * (its buffer is kept for reuse; each thread that ever called keeps one small buffer). */
static _Thread_local ph_json_t stats_result;

/* The host has checked the body against STATS_BODY_SCHEMA; anything unexpected anyway answers
 * NULL, which the host turns into a 500. */
static const char *stats(const char *json, size_t length) {
    ph_json_reset(&stats_result);
    ph_json_value_t values, item;
    if (!ph_json_member(ph_json_root(json, length), "values", &values)) return NULL;
    ph_json_cursor_t cursor = {0};
    int64_t count = 0;
    double sum = 0, x;
    while (ph_json_array_next(values, &cursor, &item)) {
        if (!ph_json_number(item, &x)) return NULL;
        sum += x;
        count++;
    }
    if (cursor.failed || count == 0) return NULL;
    double mean = sum / (double)count;
    if (!isfinite(mean)) {   /* the sum overflowed (values near 1e308): add them divided by the count */
        mean = 0;
        ph_json_cursor_t again = {0};
        while (ph_json_array_next(values, &again, &item) && ph_json_number(item, &x)) mean += x / (double)count;
    }
    ph_json_begin_object(&stats_result);
    ph_json_key(&stats_result, "count");
    ph_json_int64(&stats_result, count);
    ph_json_key(&stats_result, "mean");
    ph_json_double(&stats_result, mean);
    ph_json_end_object(&stats_result);
    return ph_json_text(&stats_result);   /* NULL if the builder failed (out of memory) */
}

#define STATS_BODY_SCHEMA                                                                            \
    "{\"type\":\"object\",\"required\":[\"values\"],\"properties\":{\"values\":{\"type\":\"array\","          \
    "\"description\":\"The numbers to average\",\"items\":{\"type\":\"number\"},\"minItems\":1}}}"
#define STATS_RESULT_SCHEMA                                                                          \
    "{\"type\":\"object\",\"required\":[\"count\",\"mean\"],\"properties\":{"                           \
    "\"count\":{\"type\":\"integer\",\"minimum\":1},\"mean\":{\"type\":\"number\"}}}"

static const ph_param_t add_params[] = {{"a", PH_SOURCE_PATH, PH_TYPE_INT64}, {"b", PH_SOURCE_PATH, PH_TYPE_INT64}};
static const ph_param_t divide_params[] = {{"a", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}, {"b", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}};
static const ph_param_t square_params[] = {{"n", PH_SOURCE_PATH, PH_TYPE_INT32}};
static const ph_param_t shout_params[] = {{"text", PH_SOURCE_BODY, PH_TYPE_STRING}};
static const ph_param_t whoami_params[] = {{"user", PH_SOURCE_PLUGIN, PH_TYPE_STRING}};
static const ph_param_t stats_params[] = {{"body", PH_SOURCE_BODY, PH_TYPE_JSON}};

#define TYPED(m, p, fn, params, res) \
    {sizeof(ph_typed_endpoint_t), m, p, (void (*)(void))fn, params, sizeof params / sizeof *params, res}

/* The same with ABI 1.3 members after it, as designated initialisers: TYPED_13(..., .summary = "..."). */
#define TYPED_13(m, p, fn, ps, res, ...)                                                                        \
    {.struct_size = sizeof(ph_typed_endpoint_t), .method = m, .path = p, .function = (void (*)(void))fn,        \
     .params = ps, .param_count = sizeof ps / sizeof *ps, .result = res, __VA_ARGS__}

static const ph_typed_endpoint_t endpoints[] = {
    TYPED("GET", "/calc/add/:a/:b", add, add_params, PH_TYPE_INT64),
    TYPED("GET", "/calc/divide", divide, divide_params, PH_TYPE_DOUBLE),
    TYPED("GET", "/calc/square/:n", square, square_params, PH_TYPE_INT64),
    TYPED("POST", "/calc/shout", shout, shout_params, PH_TYPE_STRING),
    TYPED("GET", "/api/calc/whoami", whoami, whoami_params, PH_TYPE_STRING),
    TYPED_13("POST", "/calc/stats", stats, stats_params, PH_TYPE_JSON,
             .status = 0, .content_type = NULL,   /* 200, application/json */
             .summary = "Count and mean of a list of numbers",
             .body_schema = STATS_BODY_SCHEMA, .result_schema = STATS_RESULT_SCHEMA),
};

static ph_status_t calc_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    const ph_http_t *http = host->get_extension(host, PH_EXT_HTTP);
    if (http == NULL) {
        ph_message_printf(error, "this host serves no HTTP");
        return PH_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < sizeof endpoints / sizeof *endpoints; i++) {
        if (http->register_typed_endpoint(host, &endpoints[i], error) != PH_OK) return PH_ERR_FAILED;
    }
    *instance = NULL;
    return PH_OK;
}

static void calc_destroy(void *instance) { (void)instance; }

static const ph_plugin_t calc_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS, .id = "dev.plughost.examples.calc", .version = "1.0.0",
    .description = "Typed endpoints: add, divide, square, shout, whoami, stats",
    .create = calc_create, .destroy = calc_destroy,
};

PH_EXPORT const ph_plugin_t *calc_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &calc_plugin : NULL;
}
