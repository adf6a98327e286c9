/*
 * Test `typed`: every typed endpoint the plugin registered, called through libffi as the host calls
 * it (bool as uint8, int32, int64, uint64, double, a string as a NUL-terminated copy, bytes as a
 * copy plus its length; the copies freed when the call returns), on a started instance, with the
 * boundary values of each parameter's type: each parameter's values with the others at a neutral
 * value, then every pair of parameters. Only values the host can pass: strings are valid UTF-8
 * without NULs (what path, query, header, body and properties all guarantee), doubles are finite
 * unless the parameter comes from a request property (PH_SOURCE_PLUGIN), bytes are never NULL, a
 * JSON body is a well-formed document (a copy plus its length, a NUL after it): the example made
 * from its body_schema when it has one, else documents of every shape. A string result is read up
 * to its NUL, as the host does; a JSON result must be NULL or a well-formed document (the host
 * answers 500 otherwise), or the test fails naming the endpoint. Typed endpoints in the handler
 * form are called by the `endpoints` test.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <ffi.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG (1u << 20)
#define PAIR_LIMIT 4000u
#define BUDGET_NS (6ull * 1000000000u)   /* slow functions: fewer calls rather than the caller's time-out */

static uint64_t deadline_ns;

typedef struct vt_arg {
    ph_type_t type;
    int64_t integer;          /* bool, int32, int64 */
    uint64_t unsigned_integer;
    double number;
    const char *bytes;        /* string (NUL-terminated) or bytes */
    size_t length;
    const char *label;
} vt_arg_t;

static char big_text[BIG + 1];
static char big_bytes[BIG];
static char deep_json[2 * PH_JSON_MAX_DEPTH + 1];
static char big_json[BIG + 1];
static bool filled;

static void fill(void) {
    if (filled) return;
    memset(big_text, 'v', BIG);
    big_text[BIG] = 0;
    vt_random_bytes(big_bytes, BIG, 7);
    memset(deep_json, '[', PH_JSON_MAX_DEPTH);
    memset(deep_json + PH_JSON_MAX_DEPTH, ']', PH_JSON_MAX_DEPTH);
    big_json[0] = '[';
    for (size_t i = 1; i + 2 < BIG; i += 2) memcpy(big_json + i, "1,", 2);
    big_json[BIG - 2] = '1';
    big_json[BIG - 1] = ']';
    filled = true;
}

#define A_INT(t, v, l) {.type = t, .integer = v, .label = l}
static const vt_arg_t bools[] = {A_INT(PH_TYPE_BOOL, 0, "false"), A_INT(PH_TYPE_BOOL, 1, "true")};
static const vt_arg_t int32s[] = {A_INT(PH_TYPE_INT32, 0, "0"), A_INT(PH_TYPE_INT32, 1, "1"), A_INT(PH_TYPE_INT32, -1, "-1"),
                                  A_INT(PH_TYPE_INT32, INT32_MIN, "INT32_MIN"), A_INT(PH_TYPE_INT32, INT32_MAX, "INT32_MAX")};
static const vt_arg_t int64s[] = {A_INT(PH_TYPE_INT64, 0, "0"), A_INT(PH_TYPE_INT64, 1, "1"), A_INT(PH_TYPE_INT64, -1, "-1"),
                                  A_INT(PH_TYPE_INT64, INT64_MIN, "INT64_MIN"), A_INT(PH_TYPE_INT64, INT64_MAX, "INT64_MAX")};
static const vt_arg_t uint64s[] = {{.type = PH_TYPE_UINT64, .unsigned_integer = 0, .label = "0"},
                                   {.type = PH_TYPE_UINT64, .unsigned_integer = 1, .label = "1"},
                                   {.type = PH_TYPE_UINT64, .unsigned_integer = UINT64_MAX, .label = "UINT64_MAX"}};
#define A_DBL(v, l) {.type = PH_TYPE_DOUBLE, .number = v, .label = l}
/* The first 8 are finite (any source); the last 3 only reach a PH_SOURCE_PLUGIN parameter. */
static const vt_arg_t doubles[] = {A_DBL(0.0, "0"), A_DBL(-0.0, "-0"), A_DBL(1.0, "1"), A_DBL(-1.0, "-1"),
                                   A_DBL(DBL_MAX, "DBL_MAX"), A_DBL(-DBL_MAX, "-DBL_MAX"), A_DBL(DBL_MIN, "DBL_MIN"),
                                   A_DBL(4.9406564584124654e-324, "the smallest subnormal"), A_DBL(NAN, "NaN"),
                                   A_DBL(INFINITY, "+Inf"), A_DBL(-INFINITY, "-Inf")};
#define FINITE_DOUBLES 8
static const vt_arg_t strings[] = {{.type = PH_TYPE_STRING, .bytes = "", .label = "\"\""},
                                   {.type = PH_TYPE_STRING, .bytes = "x", .label = "\"x\""},
                                   {.type = PH_TYPE_STRING, .bytes = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 /?#%00&=", .label = "\"é€😀 /?#%00&=\""},
                                   {.type = PH_TYPE_STRING, .bytes = big_text, .label = "a 1 MiB string"}};
static const vt_arg_t bytes[] = {{.type = PH_TYPE_BYTES, .bytes = "", .length = 0, .label = "0 bytes"},
                                 {.type = PH_TYPE_BYTES, .bytes = "a\0b\0", .length = 4, .label = "\"a\\0b\\0\""},
                                 {.type = PH_TYPE_BYTES, .bytes = "\xff\xfe\xc3\x28", .length = 4, .label = "invalid UTF-8 ff fe c3 28"},
                                 {.type = PH_TYPE_BYTES, .bytes = big_bytes, .length = BIG, .label = "1 MiB of random bytes"}};

/* JSON bodies without a body_schema: every shape, up to the host's depth and 1 MiB. */
#define A_JSON(text, l) {.type = PH_TYPE_JSON, .bytes = text, .length = sizeof text - 1, .label = l}
static const vt_arg_t jsons[] = {
    A_JSON("{}", "{}"), A_JSON("[]", "[]"), A_JSON("null", "null"), A_JSON("0", "0"), A_JSON("-1.5e300", "-1.5e300"),
    A_JSON("true", "true"), A_JSON("\"validator\"", "\"validator\""),
    A_JSON("{\"a\":[1,2.5,true,null,\"\\u00e9\xe2\x82\xac\xf0\x9f\x98\x80\"],\"b\":{\"c\":{}}}", "an object of every kind of value"),
    {.type = PH_TYPE_JSON, .bytes = deep_json, .length = 2 * PH_JSON_MAX_DEPTH, .label = "arrays nested 64 deep"},
    {.type = PH_TYPE_JSON, .bytes = big_json, .length = BIG, .label = "a 1 MiB array"}};
/* The body made from the endpoint's body_schema: `bytes` NULL stands for it (it is the endpoint's). */
static const vt_arg_t schema_json[] = {{.type = PH_TYPE_JSON, .bytes = NULL, .label = "the example of its body_schema"}};

static const vt_arg_t neutral[] = {
    [PH_TYPE_BOOL] = A_INT(PH_TYPE_BOOL, 1, "true"),
    [PH_TYPE_INT32] = A_INT(PH_TYPE_INT32, 1, "1"),
    [PH_TYPE_INT64] = A_INT(PH_TYPE_INT64, 1, "1"),
    [PH_TYPE_UINT64] = {.type = PH_TYPE_UINT64, .unsigned_integer = 1, .label = "1"},
    [PH_TYPE_DOUBLE] = A_DBL(1.0, "1"),
    [PH_TYPE_STRING] = {.type = PH_TYPE_STRING, .bytes = "validator", .label = "\"validator\""},
    [PH_TYPE_BYTES] = {.type = PH_TYPE_BYTES, .bytes = "validator", .length = 9, .label = "\"validator\""},
    [PH_TYPE_JSON] = A_JSON("{}", "{}"),
};

/* A parameter's neutral value (a JSON body: its body_schema's example when it has one). */
static const vt_arg_t *neutral_of(const vh_endpoint_t *endpoint, const ph_param_t *param) {
    if (param->type == PH_TYPE_JSON && endpoint->body_example != NULL) return &schema_json[0];
    return &neutral[param->type];
}

/* The boundary values a parameter can get from the host. */
static const vt_arg_t *boundaries(const vh_endpoint_t *endpoint, const ph_param_t *param, size_t *count) {
    switch (param->type) {
    case PH_TYPE_BOOL: *count = 2; return bools;
    case PH_TYPE_INT32: *count = 5; return int32s;
    case PH_TYPE_INT64: *count = 5; return int64s;
    case PH_TYPE_UINT64: *count = 3; return uint64s;
    case PH_TYPE_DOUBLE: *count = param->source == PH_SOURCE_PLUGIN ? sizeof doubles / sizeof *doubles : FINITE_DOUBLES; return doubles;
    case PH_TYPE_STRING: *count = 4; return strings;
    case PH_TYPE_BYTES: *count = 4; return bytes;
    case PH_TYPE_JSON:
        if (endpoint->body_example != NULL) { *count = 1; return schema_json; }
        *count = sizeof jsons / sizeof *jsons;
        return jsons;
    default: *count = 0; return NULL;
    }
}

static ffi_type *ffi_of(ph_type_t type) {
    switch (type) {
    case PH_TYPE_VOID: return &ffi_type_void;
    case PH_TYPE_BOOL: return &ffi_type_uint8;
    case PH_TYPE_INT32: return &ffi_type_sint32;
    case PH_TYPE_INT64: return &ffi_type_sint64;
    case PH_TYPE_UINT64: return &ffi_type_uint64;
    case PH_TYPE_DOUBLE: return &ffi_type_double;
    default: return &ffi_type_pointer;
    }
}

typedef union slot {
    uint8_t flag;
    int32_t int32;
    int64_t int64;
    uint64_t uint64;
    double number;
    void *pointer;
} slot_t;

static bool out_of_time(void) { return deadline_ns != 0 && vt_now_ns() > deadline_ns; }

/* Says which call runs: "GET /a/:x (x = INT64_MIN, y = 1)", into `text`. */
static void describe_call(const vh_endpoint_t *endpoint, const vt_arg_t *const *args, char *text, size_t capacity) {
    size_t used = (size_t)snprintf(text, capacity, "%s %s (", endpoint->method, endpoint->path);
    for (size_t i = 0; i < endpoint->param_count && used + 100 < capacity; i++) {
        used += (size_t)snprintf(text + used, capacity - used, "%s%.40s = %s", i ? ", " : "", endpoint->params[i].name,
                                 args[i]->label);
    }
    if (used + 2 < capacity) snprintf(text + used, capacity - used, ")");
}

/* A JSON result: NULL or a well-formed document, else a failure naming the endpoint and the call
 * (once per endpoint: `*reported`). */
static void check_json_result(vt_run_t *run, const vh_endpoint_t *endpoint, const vt_arg_t *const *args, const char *text,
                              bool *reported) {
    char why[200];
    if (text == NULL || *reported || vt_json_problem(text, strlen(text), why, sizeof why) == NULL) return;
    *reported = true;
    char call[800];
    describe_call(endpoint, args, call, sizeof call);
    vt_fail(run, "typed %s returned malformed JSON: %s: return a NUL-terminated, well-formed JSON document (or NULL, "
                 "which the host answers with a 500)", call, why);
}

/* One call of `endpoint` with args[i] for parameter i, under the plugin lock. */
static void invoke(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint, const vt_arg_t *const *args, bool *reported) {
    ffi_type *types[2 * VH_MAX_PARAMS];
    void *pointers[2 * VH_MAX_PARAMS];
    slot_t slots[2 * VH_MAX_PARAMS];
    void *owned[VH_MAX_PARAMS];
    size_t lengths[2 * VH_MAX_PARAMS];
    size_t owned_count = 0;
    unsigned count = 0;
    for (size_t i = 0; i < endpoint->param_count; i++) {
        const vt_arg_t *arg = args[i];
        slot_t *slot = &slots[count];
        switch (arg->type) {
        case PH_TYPE_BOOL: slot->flag = arg->integer ? 1 : 0; break;
        case PH_TYPE_INT32: slot->int32 = (int32_t)arg->integer; break;
        case PH_TYPE_INT64: slot->int64 = arg->integer; break;
        case PH_TYPE_UINT64: slot->uint64 = arg->unsigned_integer; break;
        case PH_TYPE_DOUBLE: slot->number = arg->number; break;
        case PH_TYPE_STRING: {
            size_t length = strlen(arg->bytes);
            char *copy = malloc(length + 1);   /* exactly the text and its NUL, freed after the call */
            if (copy == NULL) goto done;
            memcpy(copy, arg->bytes, length + 1);
            owned[owned_count++] = slot->pointer = copy;
            break;
        }
        case PH_TYPE_BYTES: {
            void *copy = malloc(arg->length ? arg->length : 1);   /* never NULL, even for 0 bytes */
            if (copy == NULL) goto done;
            if (arg->length) memcpy(copy, arg->bytes, arg->length);
            owned[owned_count++] = slot->pointer = copy;
            break;
        }
        case PH_TYPE_JSON: {
            const char *text = arg->bytes != NULL ? arg->bytes : endpoint->body_example;
            size_t length = arg->bytes != NULL ? arg->length : strlen(text);
            char *copy = malloc(length + 1);   /* the body's bytes and one uncounted NUL */
            if (copy == NULL) goto done;
            memcpy(copy, text, length);
            copy[length] = 0;
            owned[owned_count++] = slot->pointer = copy;
            lengths[count] = length;
            break;
        }
        }
        types[count] = ffi_of(arg->type);
        pointers[count] = slot;
        count++;
        if (arg->type == PH_TYPE_BYTES || arg->type == PH_TYPE_JSON) {
            slots[count].uint64 = arg->type == PH_TYPE_JSON ? lengths[count - 1] : arg->length;
            types[count] = &ffi_type_uint64;
            pointers[count] = &slots[count];
            count++;
        }
    }
    ffi_cif cif;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, count, ffi_of(endpoint->result), types) == FFI_OK) {
        uint64_t result[2] = {0, 0};
        vh_plugin_enter(host);
        ffi_call(&cif, endpoint->function, result, pointers);
        vh_plugin_leave(host);
        if (endpoint->result == PH_TYPE_STRING) {
            const char *text;
            memcpy(&text, result, sizeof text);
            if (text != NULL) {
                volatile size_t length = strlen(text);   /* the host reads it to its NUL */
                (void)length;
            }
        } else if (endpoint->result == PH_TYPE_JSON) {
            const char *text;
            memcpy(&text, result, sizeof text);
            check_json_result(run, endpoint, args, text, reported);
        }
    }
done:
    for (size_t i = 0; i < owned_count; i++) free(owned[i]);
}

void vt_typed_call_neutral(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint) {
    const vt_arg_t *args[VH_MAX_PARAMS];
    for (size_t i = 0; i < endpoint->param_count; i++) args[i] = neutral_of(endpoint, &endpoint->params[i]);
    bool reported = false;
    invoke(run, host, endpoint, args, &reported);
}

/* Says which call runs, as the step. */
static void step_call(vt_run_t *run, const vh_endpoint_t *endpoint, const vt_arg_t *const *args) {
    char call[800];
    describe_call(endpoint, args, call, sizeof call);
    vt_step(run, "typed %s", call);
}

/* Every value of each parameter alone, then every pair; the number of calls. */
static unsigned call_all(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint) {
    const vt_arg_t *args[VH_MAX_PARAMS];
    size_t n = endpoint->param_count;
    unsigned calls = 0;
    bool reported = false;
    for (size_t i = 0; i < n; i++) args[i] = neutral_of(endpoint, &endpoint->params[i]);
    step_call(run, endpoint, args);
    invoke(run, host, endpoint, args, &reported);
    calls++;
    for (size_t p = 0; p < n; p++) {
        size_t count;
        const vt_arg_t *values = boundaries(endpoint, &endpoint->params[p], &count);
        for (size_t v = 0; v < count && !out_of_time(); v++) {
            args[p] = &values[v];
            step_call(run, endpoint, args);
            invoke(run, host, endpoint, args, &reported);
            calls++;
        }
        args[p] = neutral_of(endpoint, &endpoint->params[p]);
    }
    for (size_t p = 0; p < n; p++) {
        for (size_t q = p + 1; q < n; q++) {
            size_t count_p, count_q;
            const vt_arg_t *values_p = boundaries(endpoint, &endpoint->params[p], &count_p);
            const vt_arg_t *values_q = boundaries(endpoint, &endpoint->params[q], &count_q);
            for (size_t v = 0; v < count_p; v++) {
                for (size_t w = 0; w < count_q && calls < PAIR_LIMIT && !out_of_time(); w++) {
                    args[p] = &values_p[v];
                    args[q] = &values_q[w];
                    step_call(run, endpoint, args);
                    invoke(run, host, endpoint, args, &reported);
                    calls++;
                }
            }
            args[p] = neutral_of(endpoint, &endpoint->params[p]);
            args[q] = neutral_of(endpoint, &endpoint->params[q]);
        }
    }
    return calls;
}

void vt_test_typed(vt_run_t *run) {
    fill();
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, false)) return;
    size_t typed = 0, handlers = 0;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(instance.host, i);
        if (endpoint->kind == PH_ENDPOINT_TYPED && endpoint->function != NULL) typed++;
        else if (endpoint->kind == PH_ENDPOINT_TYPED) handlers++;
    }
    if (typed == 0) {
        vi_destroy(&instance);
        if (!vt_decided(run)) {
            if (handlers > 0) {
                vt_skip(run, "no typed endpoints in the function form (the endpoints test calls the %zu in the handler form)", handlers);
            }
            else vt_skip(run, "no typed endpoints");
        }
        return;
    }
    if (!vi_start(&instance)) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "with an empty config, %s: typed endpoints are served by a started instance", instance.refusal);
        return;
    }
    unsigned calls = 0;
    deadline_ns = vt_now_ns() + BUDGET_NS;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(instance.host, i);
        if (endpoint->kind == PH_ENDPOINT_TYPED && endpoint->function != NULL) calls += call_all(run, instance.host, endpoint);
    }
    bool stopped = out_of_time();
    deadline_ns = 0;
    vi_destroy(&instance);
    vt_note(run, "%u calls to %zu typed endpoint%s (each parameter's boundary values, alone and in pairs)%s", calls, typed,
            typed == 1 ? "" : "s", stopped ? " (stopped after 6 s)" : "");
}
