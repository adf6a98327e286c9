/*
 * Checks of PluginSDK/include/plughost/json.h: builder output and reader results.
 *
 * `swift test` builds and runs it (CHelperTests); by hand, from the checkout's root:
 *   cc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
 *      -I PluginSDK/include -o /tmp/json_check Tests/CHelpers/json_check.c && /tmp/json_check
 * It prints "json_check: N checks passed" and exits 0, or lists the failures and exits 1.
 */

#include "plughost/json.h"

#include <stdio.h>

static int checks, failures;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        checks++;                                                                     \
        if (!(cond)) { failures++; fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

/* Compares the builder's text (NULL allowed) with `expected` (NULL: the builder must have failed). */
#define CHECK_TEXT(j, expected) check_text(__LINE__, ph_json_text(j), expected)

static void check_text(int line, const char *got, const char *expected) {
    checks++;
    bool same = got == NULL || expected == NULL ? got == expected : strcmp(got, expected) == 0;
    if (!same) {
        failures++;
        fprintf(stderr, "%s:%d: got %s, expected %s\n", __FILE__, line, got ? got : "(NULL)", expected ? expected : "(NULL)");
    }
}

static const char *double_text(ph_json_t *j, double v) {
    ph_json_reset(j);
    ph_json_double(j, v);
    return ph_json_text(j);
}

static void builder_checks(void) {
    ph_json_t j = {0};

    /* Nesting, every kind of value, commas. */
    ph_json_begin_object(&j);
    ph_json_key(&j, "a");
    ph_json_begin_array(&j);
    ph_json_int64(&j, 1); ph_json_int64(&j, -2); ph_json_bool(&j, true); ph_json_bool(&j, false); ph_json_null(&j);
    ph_json_end_array(&j);
    ph_json_key(&j, "b");
    ph_json_begin_object(&j);
    ph_json_key(&j, "c"); ph_json_string(&j, "x\"y\\z\n\t\x01\x1f/\x7f");
    ph_json_key(&j, "d"); ph_json_begin_array(&j); ph_json_end_array(&j);
    ph_json_key(&j, "e"); ph_json_begin_object(&j); ph_json_end_object(&j);
    ph_json_end_object(&j);
    ph_json_key(&j, "k\"ey"); ph_json_string(&j, NULL);
    ph_json_key(&j, "u"); ph_json_uint64(&j, UINT64_MAX);
    ph_json_key(&j, "min"); ph_json_int64(&j, INT64_MIN);
    ph_json_key(&j, "max"); ph_json_int64(&j, INT64_MAX);
    ph_json_end_object(&j);
    CHECK_TEXT(&j, "{\"a\":[1,-2,true,false,null],\"b\":{\"c\":\"x\\\"y\\\\z\\n\\t\\u0001\\u001f/\x7f\",\"d\":[],\"e\":{}},"
                   "\"k\\\"ey\":null,\"u\":18446744073709551615,\"min\":-9223372036854775808,\"max\":9223372036854775807}");

    /* Escapes of every control character, and NULs inside string_n. */
    ph_json_reset(&j);
    ph_json_string_n(&j, "\b\f\r\0a\0", 6);
    CHECK_TEXT(&j, "\"\\b\\f\\r\\u0000a\\u0000\"");
    ph_json_reset(&j);
    ph_json_string_n(&j, NULL, 0);
    CHECK_TEXT(&j, "\"\"");

    /* Doubles: shortest round-trip text; NaN and infinities as null. */
    check_text(__LINE__, double_text(&j, 2), "2");
    check_text(__LINE__, double_text(&j, 0.1), "0.1");
    check_text(__LINE__, double_text(&j, 1e300), "1e+300");
    check_text(__LINE__, double_text(&j, -0.0), "-0");
    check_text(__LINE__, double_text(&j, -1.5), "-1.5");
    check_text(__LINE__, double_text(&j, 0.1 + 0.2), "0.30000000000000004");
    check_text(__LINE__, double_text(&j, 1.0 / 3), "0.3333333333333333");
    check_text(__LINE__, double_text(&j, 1.7976931348623157e308), "1.7976931348623157e+308");
    check_text(__LINE__, double_text(&j, 123456789012345680.0), "1.2345678901234568e+17");
    check_text(__LINE__, double_text(&j, 1e-7), "1e-07");
    check_text(__LINE__, double_text(&j, 5e-324), "5e-324");
    check_text(__LINE__, double_text(&j, -2.5e-320), "-2.5e-320");
    check_text(__LINE__, double_text(&j, 0.0), "0");
    check_text(__LINE__, double_text(&j, NAN), "null");
    check_text(__LINE__, double_text(&j, INFINITY), "null");
    check_text(__LINE__, double_text(&j, -INFINITY), "null");
    const double samples[] = {5e-324, 2.2250738585072014e-308, 9007199254740993.0, 0.7, 1e23, 3.141592653589793, -123.456};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        const char *text = double_text(&j, samples[i]);
        double back = 0;
        CHECK(text != NULL && ph_json_number(ph_json_root(text, strlen(text)), &back) && back == samples[i]);
    }

    /* Bytes that are not UTF-8 become U+FFFD (one per maximal bad subpart); valid UTF-8 stays. */
    const char *bad[][2] = {
        {"a\xff" "b", "\"a\xEF\xBF\xBD" "b\""},
        {"\xE2\x82", "\"\xEF\xBF\xBD\""},                          /* truncated euro sign */
        {"\xE2\x82" "x", "\"\xEF\xBF\xBD" "x\""},
        {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},              /* overlong '/' */
        {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  /* a UTF-8 encoded surrogate */
        {"\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  /* past U+10FFFF */
        {"\x80", "\"\xEF\xBF\xBD\""},
        {"\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9 \xEF\xBF\xBF", "\"\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9 \xEF\xBF\xBF\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ph_json_reset(&j);
        ph_json_string(&j, bad[i][0]);
        check_text(__LINE__, ph_json_text(&j), bad[i][1]);
    }
    ph_json_reset(&j);   /* the same in a key */
    ph_json_begin_object(&j); ph_json_key(&j, "\xff"); ph_json_int64(&j, 1); ph_json_end_object(&j);
    CHECK_TEXT(&j, "{\"\xEF\xBF\xBD\":1}");

    /* A long string makes the buffer grow. */
    ph_json_reset(&j);
    char long_text[10000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    ph_json_begin_array(&j); ph_json_string(&j, long_text); ph_json_string(&j, long_text); ph_json_end_array(&j);
    CHECK(ph_json_text(&j) != NULL && j.length == 2 * 9999 + 7 && j.data[j.length] == 0);

    /* Mistakes: the builder fails and stays failed; reset clears it. */
    ph_json_reset(&j); CHECK_TEXT(&j, NULL);                                     /* nothing written */
    ph_json_reset(&j); ph_json_key(&j, "a"); ph_json_int64(&j, 1); CHECK_TEXT(&j, NULL);   /* key at the top */
    ph_json_reset(&j); ph_json_begin_array(&j); ph_json_key(&j, "a"); ph_json_end_array(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_object(&j); ph_json_int64(&j, 1); ph_json_end_object(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_object(&j); ph_json_key(&j, "a"); ph_json_end_object(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_object(&j); ph_json_key(&j, "a"); ph_json_key(&j, "b"); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_object(&j); ph_json_key(&j, NULL); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_object(&j); ph_json_end_array(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_array(&j); ph_json_end_object(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_end_array(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_array(&j); CHECK_TEXT(&j, NULL);           /* still open */
    ph_json_reset(&j); ph_json_int64(&j, 1); ph_json_int64(&j, 2); CHECK_TEXT(&j, NULL);   /* two documents */
    ph_json_reset(&j); ph_json_string_n(&j, NULL, 3); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_begin_array(&j); ph_json_end_array(&j); ph_json_end_array(&j); CHECK_TEXT(&j, NULL);
    ph_json_reset(&j); ph_json_int64(&j, 7); CHECK_TEXT(&j, "7");                /* usable again */

    /* Nesting: PH_JSON_MAX_DEPTH levels are fine, one more fails. */
    for (int extra = 0; extra <= 1; extra++) {
        ph_json_reset(&j);
        for (int i = 0; i < PH_JSON_MAX_DEPTH + extra; i++) ph_json_begin_array(&j);
        for (int i = 0; i < PH_JSON_MAX_DEPTH + extra; i++) ph_json_end_array(&j);
        CHECK((ph_json_text(&j) != NULL) == (extra == 0));
        if (extra == 0) CHECK(ph_json_type(ph_json_root(j.data, j.length)) == PH_JSON_ARRAY);
    }

    ph_json_free(&j);
    CHECK(j.data == NULL && ph_json_text(&j) == NULL);
    ph_json_free(&j);   /* twice is fine */
}

/* Visits every value below `v` with every reader function; counts the values seen and sets
 * `*bad` when something is malformed. It must not crash or read outside the document whatever
 * the bytes (AddressSanitizer checks). */
static size_t walk(ph_json_value_t v, int depth, bool *bad) {
    size_t seen = 1;
    double d;
    int64_t i;
    char text[8];
    ph_json_cursor_t cursor = {0};
    ph_json_value_t key, value, member;
    (void)ph_json_number(v, &d);
    (void)ph_json_integer(v, &i);
    (void)ph_json_member(v, "a", &member);
    if (depth > 70) return seen;
    switch (ph_json_type(v)) {
    case PH_JSON_INVALID: *bad = true; break;
    case PH_JSON_STRING: if (ph_json_string_copy(v, text, sizeof text) == PH_JSON_NOT_A_STRING) *bad = true; break;
    case PH_JSON_ARRAY:
        while (ph_json_array_next(v, &cursor, &value)) seen += walk(value, depth + 1, bad);
        break;
    case PH_JSON_OBJECT:
        while (ph_json_object_next(v, &cursor, &key, &value)) seen += walk(key, depth + 1, bad) + walk(value, depth + 1, bad);
        break;
    default: break;
    }
    if (cursor.failed) *bad = true;
    return seen;
}

/* Walks `length` bytes of `text` from an exact-size heap copy (no NUL after it), so that a read
 * past the end is caught. */
static size_t walk_copy(const char *text, size_t length, bool *bad) {
    bool ignored = false;
    char *copy = malloc(length ? length : 1);
    memcpy(copy, text, length);
    size_t seen = walk(ph_json_root(copy, length), 0, bad ? bad : &ignored);
    free(copy);
    return seen;
}

static void reader_checks(void) {
    const char *doc = " \n{\"values\": [1, 2.5, -3e2, 0], \"name\": \"a\\u00e9\\ud83d\\ude00\\n\\\"\\/\", "
                      "\"nested\": {\"x\": {\"y\": [[], {}, [null]]}}, \"t\": true, \"f\": false, \"n\": null,"
                      " \"a\\u0062\": 5, \"s\": \"\\ud800x\\udc00\", \"big\": 9007199254740993} \t\r\n";
    ph_json_value_t root = ph_json_root(doc, strlen(doc)), v, w;
    CHECK(ph_json_type(root) == PH_JSON_OBJECT);
    CHECK(root.start != NULL && root.start[0] == '{' && root.start[root.length - 1] == '}');

    /* Members and types. */
    CHECK(ph_json_member(root, "t", &v) && ph_json_type(v) == PH_JSON_TRUE);
    CHECK(ph_json_member(root, "f", &v) && ph_json_type(v) == PH_JSON_FALSE);
    CHECK(ph_json_member(root, "n", &v) && ph_json_type(v) == PH_JSON_NULL);
    CHECK(ph_json_member(root, "ab", &v) && v.length == 1 && v.start[0] == '5');   /* an escaped key */
    CHECK(!ph_json_member(root, "missing", &v) && !ph_json_member(root, "", &v) && !ph_json_member(root, "a", &v));
    CHECK(!ph_json_member(root, "value", &v) && !ph_json_member(root, "valuess", &v));
    CHECK(ph_json_member(root, "nested", &v) && ph_json_member(v, "x", &w) && ph_json_member(w, "y", &v));
    CHECK(ph_json_type(v) == PH_JSON_ARRAY && v.length == strlen("[[], {}, [null]]"));
    ph_json_value_t values;
    CHECK(!ph_json_member(v, "x", &w));   /* an array has no members */

    /* Array iteration, numbers. */
    CHECK(ph_json_member(root, "values", &values) && ph_json_type(values) == PH_JSON_ARRAY);
    const double expected[] = {1, 2.5, -300, 0};
    ph_json_cursor_t cursor = {0};
    size_t n = 0;
    double d;
    int64_t i;
    while (ph_json_array_next(values, &cursor, &v)) {
        CHECK(n < 4 && ph_json_type(v) == PH_JSON_NUMBER && ph_json_number(v, &d) && d == expected[n]);
        n++;
    }
    CHECK(n == 4 && !cursor.failed);
    CHECK(!ph_json_array_next(values, &cursor, &v) && !cursor.failed);   /* stays at the end */
    ph_json_cursor_t empty = {0};
    CHECK(!ph_json_array_next(ph_json_root("[ ]", 3), &empty, &v) && !empty.failed);
    ph_json_cursor_t wrong = {0};
    CHECK(!ph_json_array_next(root, &wrong, &v) && wrong.failed);   /* an object is not an array */

    /* Object iteration. */
    ph_json_cursor_t members = {0};
    ph_json_value_t key;
    char name[16];
    n = 0;
    while (ph_json_object_next(root, &members, &key, &v)) {
        if (n == 0) CHECK(ph_json_string_copy(key, name, sizeof name) == 6 && strcmp(name, "values") == 0);
        n++;
    }
    CHECK(n == 9 && !members.failed);

    /* Integers: exact, within int64_t. */
    CHECK(ph_json_member(root, "big", &v) && ph_json_integer(v, &i) && i == 9007199254740993);
    const struct { const char *text; bool ok; int64_t value; } ints[] = {
        {"0", true, 0}, {"-0", true, 0}, {"2", true, 2}, {"2.0", true, 2}, {"1e3", true, 1000}, {"1E+3", true, 1000},
        {"100e-2", true, 1}, {"0.5e1", true, 5}, {"12.50e1", true, 125}, {"0e999999999999", true, 0}, {"0.000", true, 0},
        {"9223372036854775807", true, INT64_MAX}, {"-9223372036854775808", true, INT64_MIN},
        {"922337203685477580.7e1", true, INT64_MAX}, {"-9.223372036854775808e18", true, INT64_MIN},
        {"9223372036854775808", false, 0}, {"-9223372036854775809", false, 0}, {"1e19", false, 0},
        {"2.5", false, 0}, {"1e-1", false, 0}, {"10e-2", false, 0}, {"1e999999999999999999", false, 0},
        {"1e-999999999999999999", false, 0}, {"00000000000000000000000001", false, 0}, {"\"1\"", false, 0},
        {"true", false, 0}, {"1.", false, 0}, {"+1", false, 0}, {"01", false, 0}, {"-", false, 0}, {"1e", false, 0},
        {"0.0000000000000000000000000001e28", true, 1}, {"100000000000000000000e-20", true, 1},
    };
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        i = -1;
        bool ok = ph_json_integer(ph_json_root(ints[k].text, strlen(ints[k].text)), &i);
        if (ok != ints[k].ok || (ok && i != ints[k].value)) {
            failures++;
            fprintf(stderr, "%s:%d: integer of %s: %s %" PRId64 "\n", __FILE__, __LINE__, ints[k].text, ok ? "true" : "false", i);
        }
        checks++;
    }

    /* Doubles. */
    const struct { const char *text; bool ok; double value; } nums[] = {
        {"0.1", true, 0.1}, {"-0", true, -0.0}, {"1e300", true, 1e300}, {"1E-2", true, 0.01}, {"1e400", false, 0},
        {"-1e400", false, 0}, {"1e-400", true, 0}, {"\"1\"", false, 0}, {"null", false, 0}, {"0x10", false, 0},
        {"1.5.5", false, 0}, {".5", false, 0}, {"Infinity", false, 0}, {"NaN", false, 0},
        {"1.00000000000000000000000000000000000000000000000000000000000000000000000000000000000001", true, 1},
    };
    for (size_t k = 0; k < sizeof nums / sizeof *nums; k++) {
        d = 42;
        bool ok = ph_json_number(ph_json_root(nums[k].text, strlen(nums[k].text)), &d);
        CHECK(ok == nums[k].ok && (!ok || (d == nums[k].value && signbit(d) == signbit(nums[k].value))));
    }

    /* Strings: escapes, surrogate pairs, lone surrogates, truncation. */
    char buffer[32];
    CHECK(ph_json_member(root, "name", &v));
    CHECK(ph_json_string_copy(v, buffer, sizeof buffer) == 10 && strcmp(buffer, "a\xC3\xA9\xF0\x9F\x98\x80\n\"/") == 0);
    CHECK(ph_json_string_copy(v, NULL, 0) == 10);
    CHECK(ph_json_string_copy(v, buffer, 4) == 10 && strcmp(buffer, "a\xC3\xA9") == 0);   /* whole characters only */
    CHECK(ph_json_string_copy(v, buffer, 5) == 10 && strcmp(buffer, "a\xC3\xA9") == 0);
    CHECK(ph_json_string_copy(v, buffer, 8) == 10 && strcmp(buffer, "a\xC3\xA9\xF0\x9F\x98\x80") == 0);
    CHECK(ph_json_string_copy(v, buffer, 11) == 10 && strcmp(buffer, "a\xC3\xA9\xF0\x9F\x98\x80\n\"/") == 0);
    CHECK(ph_json_string_copy(v, buffer, 10) == 10 && strcmp(buffer, "a\xC3\xA9\xF0\x9F\x98\x80\n\"") == 0);
    CHECK(ph_json_member(root, "s", &v));
    CHECK(ph_json_string_copy(v, buffer, sizeof buffer) == 7 && strcmp(buffer, "\xEF\xBF\xBDx\xEF\xBF\xBD") == 0);
    const char *nul = "\"a\\u0000b\"";
    CHECK(ph_json_string_copy(ph_json_root(nul, strlen(nul)), buffer, sizeof buffer) == 3 && memcmp(buffer, "a\0b", 4) == 0);
    const char *escapes = "\"\\b\\f\\n\\r\\t\\\\\\u20AC\\u007f\"";
    CHECK(ph_json_string_copy(ph_json_root(escapes, strlen(escapes)), buffer, sizeof buffer) == 10
          && strcmp(buffer, "\b\f\n\r\t\\\xE2\x82\xAC\x7f") == 0);
    strcpy(buffer, "junk");
    CHECK(ph_json_string_copy(root, buffer, sizeof buffer) == PH_JSON_NOT_A_STRING && buffer[0] == 0);
    const char *bad_strings[] = {"\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"a\nb\"", "\"abc", "\"\\\"", "\"\\"};
    for (size_t k = 0; k < sizeof bad_strings / sizeof *bad_strings; k++) {
        const char *s = bad_strings[k];
        CHECK(ph_json_string_copy(ph_json_root(s, strlen(s)), buffer, sizeof buffer) == PH_JSON_NOT_A_STRING);
    }

    /* Roots. */
    CHECK(ph_json_type(ph_json_root(NULL, 0)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("", 0)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("  ", 2)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("1 2", 3)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("{}x", 3)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("42", 1)) == PH_JSON_NUMBER);   /* only `length` bytes count */
    CHECK(ph_json_type(ph_json_root("\"x\"", 3)) == PH_JSON_STRING);
    CHECK(ph_json_type(ph_json_root("nul", 3)) == PH_JSON_INVALID);
    CHECK(ph_json_type(ph_json_root("null", 5)) == PH_JSON_INVALID);   /* the NUL counted is not whitespace */

    /* Malformed documents: every reader answers false/invalid, nothing crashes, and walking them
     * finds the flaw (containers are matched by brackets only, their cursors check the inside). */
    const char *malformed[] = {
        "{", "}", "[", "]", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}",
        "{\"a\":1 \"b\":2}", "[}", "{]", "[1}", "{\"a\":[1}", "\"\\", "[\"]", "{\"a\":1]", "[tru]", "[nulll]",
        "[-]", "[01]", "[1.]", "[.1]", "[1e]", "[\"\\u00\"]", "[\"\\x\"]", "{\"a\":1}}", "[[[[[", "]]]]", "{1:2}",
        "[\"a\nb\"]", "{\"a\":1,,\"b\":2}", "[1,2,]", "[[1],[2,]]", "{\"a\":{\"b\":[1,,2]}}", "x", "[x]", "[\"\\ud800\\u\"]",
    };
    for (size_t k = 0; k < sizeof malformed / sizeof *malformed; k++) {
        bool bad = false;
        walk_copy(malformed[k], strlen(malformed[k]), &bad);
        if (!bad) fprintf(stderr, "not found malformed: %s\n", malformed[k]);
        CHECK(bad);
    }
    const char *well_formed[] = {"{\"\\ud800\":1}", "{\"values\":[1,\"x\",3]}", "[[],{},\"\",0,-0.0e-0]", " [ 1 , { \"a\" : [ ] } ] "};
    for (size_t k = 0; k < sizeof well_formed / sizeof *well_formed; k++) {
        bool bad = false;
        walk_copy(well_formed[k], strlen(well_formed[k]), &bad);
        CHECK(!bad);
    }

    /* Nesting: 64 levels are read, 65 are refused. */
    char deep[200];
    for (int levels = 64; levels <= 65; levels++) {
        memset(deep, '[', (size_t)levels);
        memset(deep + levels, ']', (size_t)levels);
        CHECK((ph_json_type(ph_json_root(deep, 2 * (size_t)levels)) == PH_JSON_ARRAY) == (levels == 64));
        CHECK(walk_copy(deep, 2 * (size_t)levels, NULL) == (levels == 64 ? 64 : 1));
    }

    /* Every prefix of the document, from an exact-size copy: no read past the end. */
    size_t length = strlen(doc);
    bool bad = false;
    CHECK(walk_copy(doc, length, &bad) == 31 && !bad);
    for (size_t k = 0; k < length; k++) walk_copy(doc, k, NULL);

    /* Random changes to the document: still no crash and no read outside it. */
    char *mutated = malloc(length);
    uint32_t seed = 12345;
    static const char alphabet[] = "{}[]\":,\\ u0123456789.eE+-truefalsnl\xff\x01";
    for (int round = 0; round < 20000; round++) {
        memcpy(mutated, doc, length);
        for (int changes = 0; changes < 1 + round % 4; changes++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % length;
            seed = seed * 1103515245u + 12345u;
            mutated[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
        }
        seed = seed * 1103515245u + 12345u;
        walk_copy(mutated, length - (seed >> 8) % 4, NULL);
    }
    free(mutated);
}

/* What the builder writes, the reader reads back. */
static void round_trip_checks(void) {
    ph_json_t j = {0};
    ph_json_begin_object(&j);
    ph_json_key(&j, "text"); ph_json_string(&j, "tab\t quote\" \xff \xF0\x9F\x98\x80 \x01");
    ph_json_key(&j, "list"); ph_json_begin_array(&j); ph_json_double(&j, 0.1); ph_json_int64(&j, INT64_MIN); ph_json_end_array(&j);
    ph_json_end_object(&j);
    const char *text = ph_json_text(&j);
    ph_json_value_t root = ph_json_root(text, strlen(text)), v;
    char buffer[64];
    CHECK(ph_json_member(root, "text", &v)
          && ph_json_string_copy(v, buffer, sizeof buffer) == strlen("tab\t quote\" \xEF\xBF\xBD \xF0\x9F\x98\x80 \x01")
          && strcmp(buffer, "tab\t quote\" \xEF\xBF\xBD \xF0\x9F\x98\x80 \x01") == 0);
    ph_json_cursor_t c = {0};
    double d;
    int64_t i;
    CHECK(ph_json_member(root, "list", &v) && ph_json_array_next(v, &c, &root) && ph_json_number(root, &d) && d == 0.1);
    CHECK(ph_json_array_next(v, &c, &root) && ph_json_integer(root, &i) && i == INT64_MIN && !ph_json_array_next(v, &c, &root));
    ph_json_free(&j);
}

int main(void) {
    builder_checks();
    reader_checks();
    round_trip_checks();
    if (failures > 0) {
        fprintf(stderr, "json_check: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("json_check: %d checks passed\n", checks);
    return 0;
}
