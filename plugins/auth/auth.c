// auth — a bearer-token wrapper configured from the host config.
//
//   [plugin.auth]
//   protect = "/api/*"                 # which endpoints (a wrapper match)
//   [plugin.auth.tokens]
//   "secret-token" = "alice"           # token = user
//
// No `Authorization: Bearer …` header: 401. An unknown token: 403. A known
// one: the request property "user" is set to its user, for endpoints and
// typed parameters with source PH_SOURCE_PLUGIN, and the chain continues.
#include <plughost/http.h>

#include <stdlib.h>
#include <string.h>

typedef struct auth {
    const ph_host_t *host;
    const ph_http_t *http;
    ph_wrapper_t wrapper;
} auth_t;

static void deny(const ph_http_t *http, ph_http_request_t *request, uint32_t status, const char *reason) {
    char body[256];
    snprintf(body, sizeof body, "{\"error\":\"%s\"}", reason);
    http->set_status(request, status);
    http->set_header(request, "Content-Type", "application/json");
    if (status == 401) http->set_header(request, "WWW-Authenticate", "Bearer");
    http->set_body(request, body, strlen(body));
}

static ph_status_t auth_call(void *user_data, void *state, ph_http_request_t *request, ph_message_t *error) {
    (void)state; (void)error;
    const auth_t *auth = user_data;
    const ph_http_t *http = auth->http;
    const char *header;
    size_t length;
    if (http->header(request, "Authorization", &header, &length) != PH_OK || length < 8 || strncmp(header, "Bearer ", 7) != 0) {
        deny(http, request, 401, "missing bearer token");
        return PH_OK;
    }
    char key[320];
    snprintf(key, sizeof key, "tokens.%s", header + 7);
    const char *user;
    size_t user_length;
    if (auth->host->config->get_string(auth->host->config, key, &user, &user_length) != PH_OK) {
        deny(http, request, 403, "unknown token");
        return PH_OK;
    }
    http->set_property(request, "user", PH_TYPE_STRING, user, user_length);
    return http->call_next(request);
}

static ph_status_t auth_parse_config(const ph_plugin_t *plugin, const ph_config_t *config, ph_message_t *error) {
    (void)plugin;
    size_t tokens = 0;
    for (size_t i = 0; i < config->key_count; i++) {
        const char *key = config->key_at(config, i);
        const char *value;
        if (strcmp(key, "protect") == 0) {
            if (config->get_string(config, key, &value, NULL) != PH_OK || value[0] != '/') {
                ph_message_printf(error, "key 'protect' must be a path pattern such as \"/api/*\"");
                return PH_ERR_INVALID;
            }
        } else if (strncmp(key, "tokens.", 7) == 0) {
            if (config->get_string(config, key, &value, NULL) != PH_OK) {
                ph_message_printf(error, "key '%s' must be a string (the token's user)", key);
                return PH_ERR_INVALID;
            }
            tokens++;
        } else {
            ph_message_printf(error, "unknown key '%s' (known: protect, tokens)", key);
            return PH_ERR_INVALID;
        }
    }
    if (tokens == 0) {
        ph_message_printf(error, "key 'tokens' must list at least one token = \"user\"");
        return PH_ERR_INVALID;
    }
    return PH_OK;
}

static ph_status_t auth_create(const ph_plugin_t *plugin, const ph_host_t *host, void **instance, ph_message_t *error) {
    (void)plugin;
    auth_t *auth = calloc(1, sizeof *auth);
    auth->host = host;
    auth->http = host->get_extension(host, PH_EXT_HTTP);
    if (auth->http == NULL) {
        free(auth);
        ph_message_printf(error, "this host serves no HTTP");
        return PH_ERR_UNSUPPORTED;
    }
    const char *protect = "/api/*";
    host->config->get_string(host->config, "protect", &protect, NULL);
    auth->wrapper = (ph_wrapper_t){
        .struct_size = sizeof(ph_wrapper_t), .phase = PH_WRAP_PRE, .name = "bearer-auth",
        .match = protect, .user_data = auth, .call = auth_call,
    };
    if (auth->http->register_wrapper(host, &auth->wrapper, error) != PH_OK) {
        free(auth);
        return PH_ERR_FAILED;
    }
    *instance = auth;
    return PH_OK;
}

static void auth_destroy(void *instance) { free(instance); }

static const ph_plugin_t auth_plugin = {
    .abi_major = PH_ABI_MAJOR, .abi_minor = PH_ABI_MINOR, .struct_size = sizeof(ph_plugin_t),
    .flags = PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS, .id = "dev.plughost.examples.auth", .version = "1.0.0",
    .description = "Bearer-token auth wrapper; sets the request property 'user'",
    .parse_config = auth_parse_config, .create = auth_create, .destroy = auth_destroy,
};

PH_EXPORT const ph_plugin_t *auth_entry(uint32_t major, uint32_t minor) {
    (void)minor;
    return major == PH_ABI_MAJOR ? &auth_plugin : NULL;
}
