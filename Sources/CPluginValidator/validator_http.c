/*
 * The validator's ph_http_t (plughost.http/1, ABI 1.3): registrations during create are checked
 * with the host's rules and words (method, path pattern, reserved prefix, typed signature and
 * ABI 1.3 members, wrapper phase and match) and copied, strings included, since the plugin's
 * structs are only read during the call. A typed endpoint is read as the host reads it: its 1.0
 * members always, the 1.3 ones (status, flags, content type, schemas, the handler form) only as
 * far as its struct_size reaches. The request accessors are in validator_accessors.c. Also the
 * pattern and match rules wrappers are tested with.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *vh_type_name(ph_type_t type) {
    static const char *const names[] = {"void", "bool", "int32", "int64", "uint64", "double", "string", "bytes", "json"};
    return type < sizeof names / sizeof *names ? names[type] : "unknown";
}

/* ---- patterns and matches ---- */

static bool valid_method(const char *method, size_t length) {
    if (length == 0 || length > 16) return false;
    for (size_t i = 0; i < length; i++) {
        if (method[i] < 'A' || method[i] > 'Z') return false;
    }
    return true;
}

/* The next non-empty segment at or after `*at`: its start and length; false at the end. */
static bool next_segment(const char **at, const char **segment, size_t *length) {
    while (**at == '/') (*at)++;
    if (**at == 0) return false;
    *segment = *at;
    *length = strcspn(*at, "/");
    *at += *length;
    return true;
}

const char *vh_pattern_problem(const char *path, char *why, size_t capacity) {
    if (path[0] != '/') {
        snprintf(why, capacity, "path '%s' must start with '/'", path);
        return why;
    }
    const char *at = path, *segment;
    size_t length;
    while (next_segment(&at, &segment, &length)) {
        if (segment[0] == ':') {
            bool repeated = length == 1;
            const char *earlier_at = path, *earlier;
            size_t earlier_length;
            while (!repeated && next_segment(&earlier_at, &earlier, &earlier_length) && earlier != segment) {
                repeated = earlier_length == length && memcmp(earlier, segment, length) == 0;
            }
            if (repeated) {
                snprintf(why, capacity, "path '%s' has an empty or repeated capture '%.*s'", path, (int)length, segment);
                return why;
            }
        } else if (memchr(segment, '?', length) || memchr(segment, '#', length) || memchr(segment, ' ', length)) {
            snprintf(why, capacity, "path '%s' contains '?', '#' or a space", path);
            return why;
        }
    }
    return NULL;
}

void vh_pattern_shape(const char *path, char *shape, size_t capacity) {
    size_t used = 0;
    const char *at = path, *segment;
    size_t length;
    shape[0] = 0;
    bool any = false;
    while (next_segment(&at, &segment, &length)) {
        any = true;
        int n = segment[0] == ':' ? snprintf(shape + used, capacity - used, "/:")
                                  : snprintf(shape + used, capacity - used, "/%.*s", (int)length, segment);
        if (n < 0 || (size_t)n >= capacity - used) return;
        used += (size_t)n;
    }
    if (!any) snprintf(shape, capacity, "/");
}

static bool same_shape(const char *a, const char *b) {
    char why[8], shape_a[1024], shape_b[1024];
    if (vh_pattern_problem(a, why, sizeof why) != NULL || vh_pattern_problem(b, why, sizeof why) != NULL) return false;
    vh_pattern_shape(a, shape_a, sizeof shape_a);
    vh_pattern_shape(b, shape_b, sizeof shape_b);
    return strcmp(shape_a, shape_b) == 0;
}

/* Whether `match` is one the host takes: "*", "/prefix*", "/path" or "METHOD /path". */
static bool valid_match(const char *match) {
    if (strcmp(match, "*") == 0 || match[0] == '/') return true;
    const char *space = strchr(match, ' ');
    return space != NULL && valid_method(match, (size_t)(space - match)) && space[1] == '/';
}

bool vh_match_covers(const char *match, const char *method, const char *path) {
    if (match == NULL || strcmp(match, "*") == 0) return true;
    size_t length = strlen(match);
    if (match[0] == '/') {
        if (match[length - 1] == '*') return strncmp(path, match, length - 1) == 0;   /* the pattern's text */
        return same_shape(match, path);
    }
    const char *space = strchr(match, ' ');
    if (space == NULL) return false;
    size_t method_length = (size_t)(space - match);
    return strlen(method) == method_length && strncmp(method, match, method_length) == 0 && same_shape(space + 1, path);
}

/* ---- registration ---- */

static vh_host_t *registering(const ph_host_t *table, const char *function) {
    vh_host_t *host = vh_enter(table, function);
    if (host != NULL && !vh_creating(host)) {
        vh_leave(host);
        return NULL;
    }
    return host;
}

static ph_status_t refuse(vh_host_t *host, ph_status_t status, ph_message_t *error, const char *reason) {
    ph_message_copy(error, reason, strlen(reason));
    char line[1200];
    snprintf(line, sizeof line, "registration refused: %s", reason);
    vt_progress("host", line);
    vh_leave(host);
    return status;
}

/* The host's checks of method and path; NULL when both are fine. */
static const char *route_problem(const char *method, const char *path, char *why, size_t capacity) {
    if (method == NULL || path == NULL) return "method and path are required";
    if (!valid_method(method, strlen(method))) {
        snprintf(why, capacity, "method '%s' must be upper-case letters, e.g. GET", method);
        return why;
    }
    if (strncmp(path, PH_HTTP_RESERVED_PREFIX, strlen(PH_HTTP_RESERVED_PREFIX)) == 0 || strcmp(path, "/_plughost") == 0) {
        snprintf(why, capacity, "path '%s' is under the host's reserved prefix %s", path, PH_HTTP_RESERVED_PREFIX);
        return why;
    }
    return vh_pattern_problem(path, why, capacity);
}

void vh_endpoint_free(vh_endpoint_t *endpoint) {
    free(endpoint->method);
    free(endpoint->path);
    for (size_t i = 0; i < endpoint->param_count; i++) free((char *)endpoint->params[i].name);
    free(endpoint->body_schema);
    free(endpoint->result_schema);
    free(endpoint->body_example);
    memset(endpoint, 0, sizeof *endpoint);
}

void vh_wrapper_free(vh_wrapper_t *wrapper) {
    free((char *)wrapper->raw.name);
    free((char *)wrapper->raw.match);
    memset(wrapper, 0, sizeof *wrapper);
}

static ph_status_t x_register_endpoint(const ph_host_t *table, const ph_endpoint_t *endpoint, ph_message_t *error) {
    vh_host_t *host = registering(table, "register_endpoint");
    if (host == NULL) return PH_ERR_STATE;
    if (endpoint == NULL || endpoint->handler == NULL) return refuse(host, PH_ERR_INVALID, error, "endpoint without a handler");
    char why[600];
    const char *problem = route_problem(endpoint->method, endpoint->path, why, sizeof why);
    if (problem != NULL) return refuse(host, PH_ERR_INVALID, error, problem);
    vh_endpoint_t record = {.kind = PH_ENDPOINT_RAW, .method = strdup(endpoint->method), .path = strdup(endpoint->path),
                            .handler = endpoint->handler, .user_data = endpoint->user_data, .result = PH_TYPE_VOID};
    /* flags is ABI 1.2: read only when the plugin's struct has it */
    if (endpoint->struct_size >= offsetof(ph_endpoint_t, flags) + sizeof endpoint->flags) record.flags = endpoint->flags;
    vh_add_endpoint(host, &record);
    vh_leave(host);
    return PH_OK;
}

/* The host's checks of a typed signature's parameters; NULL when it can parse them. */
static const char *signature_problem(const ph_typed_endpoint_t *endpoint, char *why, size_t capacity) {
    size_t count = endpoint->param_count;
    if (count > VH_MAX_PARAMS) {
        snprintf(why, capacity, "%zu parameters; at most 16 are supported", count);
        return why;
    }
    if (count > 0 && endpoint->params == NULL) {
        snprintf(why, capacity, "param_count is %zu but params is NULL", count);
        return why;
    }
    unsigned bodies = 0;
    for (size_t i = 0; i < count; i++) {
        const ph_param_t *param = &endpoint->params[i];
        if (param->name == NULL || param->name[0] == 0) {
            snprintf(why, capacity, "parameter %zu has no name", i);
            return why;
        }
        if (param->type < PH_TYPE_BOOL || param->type > PH_TYPE_JSON) {
            snprintf(why, capacity, "parameter '%s' has unknown type %u (known: PH_TYPE_BOOL … PH_TYPE_JSON)", param->name, param->type);
            return why;
        }
        switch (param->source) {
        case PH_SOURCE_PATH: {
            bool found = false;
            const char *at = endpoint->path, *segment;
            size_t length;
            while (!found && next_segment(&at, &segment, &length)) {
                found = segment[0] == ':' && length - 1 == strlen(param->name) && memcmp(segment + 1, param->name, length - 1) == 0;
            }
            if (!found) {
                snprintf(why, capacity, "path parameter '%s' is not a ':%s' segment of the path", param->name, param->name);
                return why;
            }
            break;
        }
        case PH_SOURCE_BODY:
            if (++bodies > 1) return "more than one parameter reads the body";
            break;
        case PH_SOURCE_QUERY: case PH_SOURCE_HEADER: case PH_SOURCE_PLUGIN:
            break;
        default:
            snprintf(why, capacity, "parameter '%s' has unknown source %u", param->name, param->source);
            return why;
        }
    }
    return NULL;
}

/* Whether content type `type` is JSON (application/json, or ending in +json), as the host decides. */
static bool json_content_type(const char *type) {
    size_t length = strcspn(type, ";");
    while (length > 0 && (type[length - 1] == ' ' || type[length - 1] == '\t')) length--;
    while (length > 0 && (*type == ' ' || *type == '\t')) { type++; length--; }
    return (length == 16 && strncasecmp(type, "application/json", 16) == 0) ||
           (length >= 5 && strncasecmp(type + length - 5, "+json", 5) == 0);
}

/* The host's checks of the rest (ABI 1.3 members, the two forms, the result); NULL when fine. */
static const char *form_problem(const ph_typed_endpoint_t *e, char *why, size_t capacity) {
    uint32_t status = e->status == 0 ? 200 : e->status;
    if (status < 200 || status > 299) {
        snprintf(why, capacity, "status %u is not a success status (200–299; 0 means 200)", e->status);
        return why;
    }
    const char *type = e->content_type != NULL ? e->content_type : "application/json";
    bool printable = type[0] != 0 && strlen(type) <= 200 && strchr(type, '/') != NULL;
    for (const char *c = type; printable && *c; c++) printable = *c >= 0x20 && *c < 0x7F;
    if (!printable) {
        snprintf(why, capacity, "content_type '%.200s' is not a media type such as application/json", type);
        return why;
    }
    bool json_body = false;
    for (size_t i = 0; i < e->param_count; i++) {
        if (e->params[i].type != PH_TYPE_JSON) continue;
        if (e->params[i].source != PH_SOURCE_BODY) {
            snprintf(why, capacity, "parameter '%s' is json: only a body parameter (PH_SOURCE_BODY) can be", e->params[i].name);
            return why;
        }
        json_body = true;
    }
    if (e->result == PH_TYPE_JSON && !json_content_type(type)) {
        snprintf(why, capacity, "a json result needs a JSON content type, not '%.200s'", type);
        return why;
    }
    const char *schemas[2] = {e->body_schema, e->result_schema}, *names[2] = {"body_schema", "result_schema"};
    bool applies[2] = {json_body, e->result == PH_TYPE_JSON};
    for (int i = 0; i < 2; i++) {
        if (schemas[i] == NULL) continue;
        if (!applies[i]) {
            snprintf(why, capacity, "%s is set but %s is not of type json", names[i], i == 0 ? "no body parameter" : "the result");
            return why;
        }
        char problem[300];
        if (vt_json_problem(schemas[i], strlen(schemas[i]), problem, sizeof problem) != NULL) {
            snprintf(why, capacity, "%s is not JSON: %s", names[i], problem);
            return why;
        }
    }
    if ((e->flags & ~PH_MAY_DEFER) != 0) {
        snprintf(why, capacity, "unknown flags 0x%x", e->flags);
        return why;
    }
    if (e->function != NULL && e->handler != NULL) return "typed endpoint with both a function and a handler: set one";
    if (e->function == NULL && e->handler == NULL) return "typed endpoint without a function or a handler";
    if (e->function != NULL) {
        if (e->flags != 0) return "PH_MAY_DEFER needs the handler form (a function cannot defer)";
        if (e->result == PH_TYPE_BYTES || e->result > PH_TYPE_JSON) {
            snprintf(why, capacity, "result type %s cannot be returned (use json, string, a number, bool or void)",
                     vh_type_name(e->result));
            return why;
        }
    } else if (e->result != PH_TYPE_JSON && e->result != PH_TYPE_VOID) {
        snprintf(why, capacity, "a handler-form typed endpoint answers json or void, not %s", vh_type_name(e->result));
        return why;
    }
    return NULL;
}

/* The plugin's struct as the host reads it: the 1.0 members always, the 1.3 ones as far as its
 * struct_size reaches (the rest zero: absent). */
static ph_typed_endpoint_t typed_copy(const ph_typed_endpoint_t *endpoint) {
    ph_typed_endpoint_t raw;
    memset(&raw, 0, sizeof raw);
    size_t size = endpoint->struct_size;
    if (size < PH_TYPED_ENDPOINT_SIZE_1_0) size = PH_TYPED_ENDPOINT_SIZE_1_0;
    if (size > sizeof raw) size = sizeof raw;
    memcpy(&raw, endpoint, size);
    return raw;
}

static char *copy_or_null(const char *text) { return text != NULL ? strdup(text) : NULL; }

static ph_status_t x_register_typed_endpoint(const ph_host_t *table, const ph_typed_endpoint_t *endpoint, ph_message_t *error) {
    vh_host_t *host = registering(table, "register_typed_endpoint");
    if (host == NULL) return PH_ERR_STATE;
    if (endpoint == NULL) return refuse(host, PH_ERR_INVALID, error, "typed endpoint is NULL");
    ph_typed_endpoint_t raw = typed_copy(endpoint);
    char why[600];
    const char *problem = route_problem(raw.method, raw.path, why, sizeof why);
    if (problem != NULL) return refuse(host, PH_ERR_INVALID, error, problem);
    char signature[600], labelled[1300];
    problem = signature_problem(&raw, signature, sizeof signature);
    if (problem == NULL) problem = form_problem(&raw, signature, sizeof signature);
    if (problem != NULL) {
        snprintf(labelled, sizeof labelled, "%s %s: %s", raw.method, raw.path, problem);
        return refuse(host, PH_ERR_UNSUPPORTED, error, labelled);
    }
    vh_endpoint_t record = {.kind = PH_ENDPOINT_TYPED, .method = strdup(raw.method), .path = strdup(raw.path),
                            .function = raw.function, .handler = raw.handler, .user_data = raw.user_data,
                            .flags = raw.flags, .param_count = raw.param_count, .result = raw.result,
                            .status = raw.status == 0 ? 200 : raw.status, .body_schema = copy_or_null(raw.body_schema),
                            .result_schema = copy_or_null(raw.result_schema)};
    record.body_example = vt_json_example(record.body_schema);
    for (size_t i = 0; i < raw.param_count; i++) {
        record.params[i] = raw.params[i];
        record.params[i].name = strdup(raw.params[i].name);
    }
    vh_add_endpoint(host, &record);
    vh_leave(host);
    return PH_OK;
}

static ph_status_t x_register_wrapper(const ph_host_t *table, const ph_wrapper_t *wrapper, ph_message_t *error) {
    vh_host_t *host = registering(table, "register_wrapper");
    if (host == NULL) return PH_ERR_STATE;
    if (wrapper == NULL || wrapper->call == NULL) return refuse(host, PH_ERR_INVALID, error, "wrapper without a call function");
    /* Field by field up to the plugin's struct_size: an older plugin's struct is shorter. */
    ph_wrapper_t raw;
    memset(&raw, 0, sizeof raw);
    size_t size = wrapper->struct_size < sizeof raw ? wrapper->struct_size : sizeof raw;
    memcpy(&raw, wrapper, size);
    char why[600];
    if (raw.phase != PH_WRAP_PRE && raw.phase != PH_WRAP_POST) {
        snprintf(why, sizeof why, "wrapper phase %u is neither PH_WRAP_PRE nor PH_WRAP_POST", raw.phase);
        return refuse(host, PH_ERR_INVALID, error, why);
    }
    const char *name = raw.name != NULL ? raw.name : "wrapper";
    const char *match = raw.match != NULL ? raw.match : "*";
    if (!valid_match(match)) {
        snprintf(why, sizeof why, "wrapper '%s': match '%s' is not '*', '/prefix/*', '/path' or 'METHOD /path'", name, match);
        return refuse(host, PH_ERR_INVALID, error, why);
    }
    raw.name = strdup(name);
    raw.match = strdup(match);
    vh_add_wrapper(host, &(vh_wrapper_t){raw});
    vh_leave(host);
    return PH_OK;
}

/* ---- the table: registration here, request accessors in validator_accessors.c ---- */

static ph_http_t http_table;
static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_fill(void) {
    http_table = (ph_http_t){
        .struct_size = sizeof(ph_http_t), .reserved = 0,
        .register_endpoint = x_register_endpoint, .register_typed_endpoint = x_register_typed_endpoint,
        .register_wrapper = x_register_wrapper,
    };
    vq_fill_accessors(&http_table);
}

const ph_http_t *vh_http_table(void) {
    pthread_once(&http_once, http_fill);
    return &http_table;
}
