/*
 * Test `config`: generated configs, each given to parse_config as the host gives a plugin its
 * table (dotted leaves, exact string lengths, JSON), and, when accepted, to a whole lifecycle
 * (create → start → stop → destroy). The configs: empty; unknown keys; and every value type
 * (strings with NULs, long ones, integers at their limits, doubles with NaN and infinities, booleans,
 * arrays, tables, empty and nested) under common key names, under every key the plugin asks for
 * through get_string/get_int/get_double/get_bool (found as it goes), and under a random key.
 * A refusal must carry a message; accepted or refused are both fine; a crash is a crash.
 * A plugin without parse_config gets any key refused by the host, and nothing is called.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_KEYS 24
#define BUDGET_NS (6ull * 1000000000u)   /* stop generating after 6 s: the caller's time limit is for the whole test */
#define LONG_TEXT (64 * 1024)

static char long_text[LONG_TEXT + 1];

static const vc_value_t one_integer[] = {{.kind = VC_INTEGER, .integer = 1, .toml = "1"}};
static const vc_value_t mixed[] = {{.kind = VC_STRING, .text = "validator", .length = 9, .toml = "\"validator\""},
                                   {.kind = VC_INTEGER, .integer = 2, .toml = "2"}};
static const vc_value_t nested_array[] = {{.kind = VC_ARRAY, .items = one_integer, .count = 1, .toml = "[1]"}};
static const char *const table_names[] = {"validator-key"};
static const vc_value_t true_array[] = {{.kind = VC_BOOL, .flag = true, .toml = "true"}};
static const vc_value_t b_table[] = {{.kind = VC_ARRAY, .items = true_array, .count = 1, .toml = "[true]"}};
static const char *const b_names[] = {"b"};
static const vc_value_t a_table[] = {{.kind = VC_TABLE, .items = b_table, .names = b_names, .count = 1, .toml = "{b = [true]}"}};
static const char *const a_names[] = {"a"};

/* Every value type; `long` is filled in at first use. */
static vc_value_t values[] = {
    {.kind = VC_STRING, .text = "validator", .length = 9, .toml = "\"validator\""},
    {.kind = VC_STRING, .text = "", .length = 0, .toml = "\"\""},
    {.kind = VC_STRING, .text = "info", .length = 4, .toml = "\"info\""},
    {.kind = VC_STRING, .text = "a\0b", .length = 3, .toml = "\"a\\u0000b\""},
    {.kind = VC_STRING, .text = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", .length = 9, .toml = "\"\\u00e9\\u20ac\\U0001f600\""},
    {.kind = VC_STRING, .text = long_text, .length = LONG_TEXT, .toml = "\"vvvv…\" (65536 bytes)"},
    {.kind = VC_INTEGER, .integer = 0, .toml = "0"},
    {.kind = VC_INTEGER, .integer = 1, .toml = "1"},
    {.kind = VC_INTEGER, .integer = -1, .toml = "-1"},
    {.kind = VC_INTEGER, .integer = INT64_MAX, .toml = "9223372036854775807"},
    {.kind = VC_INTEGER, .integer = INT64_MIN, .toml = "-9223372036854775808"},
    {.kind = VC_DOUBLE, .number = 1.5, .toml = "1.5"},
    {.kind = VC_DOUBLE, .number = -0.0, .toml = "-0.0"},
    {.kind = VC_DOUBLE, .number = NAN, .toml = "nan"},
    {.kind = VC_DOUBLE, .number = INFINITY, .toml = "inf"},
    {.kind = VC_DOUBLE, .number = -INFINITY, .toml = "-inf"},
    {.kind = VC_BOOL, .flag = true, .toml = "true"},
    {.kind = VC_BOOL, .flag = false, .toml = "false"},
    {.kind = VC_ARRAY, .items = one_integer, .count = 1, .toml = "[1]"},
    {.kind = VC_ARRAY, .items = mixed, .count = 2, .toml = "[\"validator\", 2]"},
    {.kind = VC_ARRAY, .items = NULL, .count = 0, .toml = "[]"},
    {.kind = VC_ARRAY, .items = nested_array, .count = 1, .toml = "[[1]]"},
    {.kind = VC_TABLE, .items = one_integer, .names = table_names, .count = 1, .toml = "{validator-key = 1}"},
    {.kind = VC_TABLE, .items = NULL, .names = NULL, .count = 0, .toml = "{}"},
    {.kind = VC_TABLE, .items = a_table, .names = a_names, .count = 1, .toml = "{a = {b = [true]}}"},
};

#define VALUE_COUNT (sizeof values / sizeof *values)

static const char *const common_keys[] = {"level", "name", "greeting", "count", "enabled"};

typedef struct tally {
    uint64_t began;
    bool out_of_time;
    unsigned accepted, refused, configs;
    char keys[MAX_KEYS][64];
    size_t key_count;
} tally_t;

static void add_key(tally_t *tally, const char *key) {
    if (strlen(key) == 0 || strlen(key) >= 64 || tally->key_count >= MAX_KEYS) return;
    for (size_t i = 0; i < tally->key_count; i++) {
        if (strcmp(tally->keys[i], key) == 0) return;
    }
    snprintf(tally->keys[tally->key_count++], 64, "%s", key);
}

/* One config through the lifecycle; false once the run failed or the time is up. */
static bool try_config(vt_run_t *run, tally_t *tally, const char *key, const vc_value_t *value) {
    if (vt_now_ns() - tally->began > BUDGET_NS) {
        tally->out_of_time = true;
        return false;
    }
    const char *keys[1] = {key};
    const ph_config_t *config = key != NULL ? vc_config_new(keys, value, 1) : vc_config_new(NULL, NULL, 0);
    vi_instance_t instance;
    vi_init(&instance, run, config);
    if (key != NULL) snprintf(instance.context, sizeof instance.context, "with %.60s = %s", key, value->toml);
    else snprintf(instance.context, sizeof instance.context, "with an empty config");
    tally->configs++;
    if (vi_parse_config(&instance)) {
        tally->accepted++;
        if (vi_create(&instance)) vi_start(&instance);
        vi_destroy(&instance);
    } else if (!vt_failed(run)) {
        tally->refused++;
    }
    char asked[32][64];
    size_t count = vc_config_asked(config, asked, 32);
    for (size_t i = 0; i < count; i++) add_key(tally, asked[i]);
    return !vt_failed(run);
}

void vt_test_config(vt_run_t *run) {
    memset(long_text, 'v', LONG_TEXT);
    long_text[LONG_TEXT] = 0;
    tally_t tally;
    memset(&tally, 0, sizeof tally);
    tally.began = vt_now_ns();
    if (!try_config(run, &tally, NULL, NULL)) return;
    for (size_t i = 0; i < sizeof common_keys / sizeof *common_keys; i++) add_key(&tally, common_keys[i]);
    char random_key[64];
    uint32_t salt;
    vt_random_bytes(&salt, sizeof salt, (uint64_t)vt_now_ns());
    snprintf(random_key, sizeof random_key, "validator-random-%08x", salt);

    static const vc_value_t unknown[] = {{.kind = VC_INTEGER, .integer = 1, .toml = "1"},
                                  {.kind = VC_STRING, .text = "validator", .length = 9, .toml = "\"validator\""}};
    bool going = true;
    for (size_t i = 0; i < 2 && going; i++) going = try_config(run, &tally, "validator-unknown-key", &unknown[i]);
    /* The key list grows with the keys the plugin asks for. */
    for (size_t k = 0; k < tally.key_count && going; k++) {
        char key[64];
        snprintf(key, sizeof key, "%s", tally.keys[k]);
        for (size_t v = 0; v < VALUE_COUNT && going; v++) going = try_config(run, &tally, key, &values[v]);
    }
    for (size_t v = 0; v < VALUE_COUNT && going; v++) going = try_config(run, &tally, random_key, &values[v]);
    if (vt_failed(run)) return;
    char keys[400] = "";
    size_t used = 0;
    for (size_t k = 0; k < tally.key_count && used < sizeof keys - 70; k++) {
        used += (size_t)snprintf(keys + used, sizeof keys - used, "%s%s", k ? ", " : "", tally.keys[k]);
    }
    vt_note(run, "%u configs: %u accepted, %u refused with a message; keys %s and a random one%s", tally.configs,
            tally.accepted, tally.refused, keys, tally.out_of_time ? " (stopped after 6 s)" : "");
}
