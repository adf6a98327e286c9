/*
 * Test `typed`: every typed endpoint the plugin registered, called through libffi as the host calls
 * it (bool as uint8, int32, int64, uint64, double, a string as a NUL-terminated copy, bytes as a
 * copy plus its length; the copies freed when the call returns), on a started instance, with the
 * boundary values of each parameter's type: each parameter's values with the others at a neutral
 * value, then every pair of parameters. Only values the host can pass: strings are valid UTF-8
 * without NULs (what path, query, header, body and properties all guarantee), doubles are finite
 * unless the parameter comes from a request property (PH_SOURCE_PLUGIN), bytes are never NULL.
 * A string result is read up to its NUL, as the host does.
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
static bool filled;

static void fill(void) {
    if (filled) return;
    memset(big_text, 'v', BIG);
    big_text[BIG] = 0;
    vt_random_bytes(big_bytes, BIG, 7);
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

static const vt_arg_t neutral[] = {
    [PH_TYPE_BOOL] = A_INT(PH_TYPE_BOOL, 1, "true"),
    [PH_TYPE_INT32] = A_INT(PH_TYPE_INT32, 1, "1"),
    [PH_TYPE_INT64] = A_INT(PH_TYPE_INT64, 1, "1"),
    [PH_TYPE_UINT64] = {.type = PH_TYPE_UINT64, .unsigned_integer = 1, .label = "1"},
    [PH_TYPE_DOUBLE] = A_DBL(1.0, "1"),
    [PH_TYPE_STRING] = {.type = PH_TYPE_STRING, .bytes = "validator", .label = "\"validator\""},
    [PH_TYPE_BYTES] = {.type = PH_TYPE_BYTES, .bytes = "validator", .length = 9, .label = "\"validator\""},
};

/* The boundary values a parameter can get from the host. */
static const vt_arg_t *boundaries(const ph_param_t *param, size_t *count) {
    switch (param->type) {
    case PH_TYPE_BOOL: *count = 2; return bools;
    case PH_TYPE_INT32: *count = 5; return int32s;
    case PH_TYPE_INT64: *count = 5; return int64s;
    case PH_TYPE_UINT64: *count = 3; return uint64s;
    case PH_TYPE_DOUBLE: *count = param->source == PH_SOURCE_PLUGIN ? sizeof doubles / sizeof *doubles : FINITE_DOUBLES; return doubles;
    case PH_TYPE_STRING: *count = 4; return strings;
    case PH_TYPE_BYTES: *count = 4; return bytes;
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

/* One call of `endpoint` with args[i] for parameter i, under the plugin lock. */
static void invoke(vh_host_t *host, const vh_endpoint_t *endpoint, const vt_arg_t *const *args) {
    ffi_type *types[2 * VH_MAX_PARAMS];
    void *pointers[2 * VH_MAX_PARAMS];
    slot_t slots[2 * VH_MAX_PARAMS];
    void *owned[VH_MAX_PARAMS];
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
        }
        types[count] = ffi_of(arg->type);
        pointers[count] = slot;
        count++;
        if (arg->type == PH_TYPE_BYTES) {
            slots[count].uint64 = arg->length;
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
        }
    }
done:
    for (size_t i = 0; i < owned_count; i++) free(owned[i]);
}

void vt_typed_call_neutral(vh_host_t *host, const vh_endpoint_t *endpoint) {
    const vt_arg_t *args[VH_MAX_PARAMS];
    for (size_t i = 0; i < endpoint->param_count; i++) args[i] = &neutral[endpoint->params[i].type];
    invoke(host, endpoint, args);
}

/* Says which call runs: "GET /a/:x (x = INT64_MIN, y = 1)". */
static void step_call(vt_run_t *run, const vh_endpoint_t *endpoint, const vt_arg_t *const *args) {
    char list[700] = "";
    size_t used = 0;
    for (size_t i = 0; i < endpoint->param_count && used < sizeof list - 100; i++) {
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%.40s = %s", i ? ", " : "", endpoint->params[i].name,
                                 args[i]->label);
    }
    vt_step(run, "typed %s %s (%s)", endpoint->method, endpoint->path, list);
}

/* Every value of each parameter alone, then every pair; the number of calls. */
static unsigned call_all(vt_run_t *run, vh_host_t *host, const vh_endpoint_t *endpoint) {
    const vt_arg_t *args[VH_MAX_PARAMS];
    size_t n = endpoint->param_count;
    unsigned calls = 0;
    for (size_t i = 0; i < n; i++) args[i] = &neutral[endpoint->params[i].type];
    step_call(run, endpoint, args);
    invoke(host, endpoint, args);
    calls++;
    for (size_t p = 0; p < n; p++) {
        size_t count;
        const vt_arg_t *values = boundaries(&endpoint->params[p], &count);
        for (size_t v = 0; v < count && !out_of_time(); v++) {
            args[p] = &values[v];
            step_call(run, endpoint, args);
            invoke(host, endpoint, args);
            calls++;
        }
        args[p] = &neutral[endpoint->params[p].type];
    }
    for (size_t p = 0; p < n; p++) {
        for (size_t q = p + 1; q < n; q++) {
            size_t count_p, count_q;
            const vt_arg_t *values_p = boundaries(&endpoint->params[p], &count_p);
            const vt_arg_t *values_q = boundaries(&endpoint->params[q], &count_q);
            for (size_t v = 0; v < count_p; v++) {
                for (size_t w = 0; w < count_q && calls < PAIR_LIMIT && !out_of_time(); w++) {
                    args[p] = &values_p[v];
                    args[q] = &values_q[w];
                    step_call(run, endpoint, args);
                    invoke(host, endpoint, args);
                    calls++;
                }
            }
            args[p] = &neutral[endpoint->params[p].type];
            args[q] = &neutral[endpoint->params[q].type];
        }
    }
    return calls;
}

void vt_test_typed(vt_run_t *run) {
    fill();
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, false)) return;
    size_t typed = 0;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        if (vh_endpoint(instance.host, i)->kind == PH_ENDPOINT_TYPED) typed++;
    }
    if (typed == 0) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "no typed endpoints");
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
        if (endpoint->kind == PH_ENDPOINT_TYPED) calls += call_all(run, instance.host, endpoint);
    }
    bool stopped = out_of_time();
    deadline_ns = 0;
    vi_destroy(&instance);
    vt_note(run, "%u calls to %zu typed endpoint%s (each parameter's boundary values, alone and in pairs)%s", calls, typed,
            typed == 1 ? "" : "s", stopped ? " (stopped after 6 s)" : "");
}
