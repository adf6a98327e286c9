/*
 * calc — typed endpoints in C: plain C functions the host calls through libffi
 * after parsing and validating their parameters from the request.
 *
 *   GET  /calc/add/:a/:b            int64 add(int64 a, int64 b)
 *   GET  /calc/divide?a=..&b=..     double divide(double a, double b)
 *   GET  /calc/square/:n            int64 square(int32 n)        (n must fit in 32 bits)
 *   POST /calc/shout                string shout(string body)
 *   GET  /api/calc/whoami           string whoami(string user)   (user set by the auth wrapper)
 */
#include <plughost/http.h>

#include <ctype.h>
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

static const ph_param_t add_params[] = {{"a", PH_SOURCE_PATH, PH_TYPE_INT64}, {"b", PH_SOURCE_PATH, PH_TYPE_INT64}};
static const ph_param_t divide_params[] = {{"a", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}, {"b", PH_SOURCE_QUERY, PH_TYPE_DOUBLE}};
static const ph_param_t square_params[] = {{"n", PH_SOURCE_PATH, PH_TYPE_INT32}};
static const ph_param_t shout_params[] = {{"text", PH_SOURCE_BODY, PH_TYPE_STRING}};
static const ph_param_t whoami_params[] = {{"user", PH_SOURCE_PLUGIN, PH_TYPE_STRING}};

#define TYPED(m, p, fn, params, res) \
    {sizeof(ph_typed_endpoint_t), m, p, (void (*)(void))fn, params, sizeof params / sizeof *params, res}

static const ph_typed_endpoint_t endpoints[] = {
    TYPED("GET", "/calc/add/:a/:b", add, add_params, PH_TYPE_INT64),
    TYPED("GET", "/calc/divide", divide, divide_params, PH_TYPE_DOUBLE),
    TYPED("GET", "/calc/square/:n", square, square_params, PH_TYPE_INT64),
    TYPED("POST", "/calc/shout", shout, shout_params, PH_TYPE_STRING),
    TYPED("GET", "/api/calc/whoami", whoami, whoami_params, PH_TYPE_STRING),
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
    .description = "Typed endpoints: add, divide, square, shout, whoami",
    .create = calc_create, .destroy = calc_destroy,
};

PH_EXPORT const ph_plugin_t *calc_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &calc_plugin : NULL;
}
