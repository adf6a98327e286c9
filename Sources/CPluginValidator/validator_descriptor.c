/*
 * Tests `descriptor` and `entry`: what the host checks before it calls anything of the plugin
 * (the ABI major read alone, then minor, size, required members), and more that it relies on
 * without checking: known flags only, printable id and version, and an entry without side effects
 * (NULL for a foreign major, one descriptor for every call, an answer for a newer minor).
 * Members past struct_size are never read.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <string.h>

#define KNOWN_FLAGS (PH_PLUGIN_THREAD_SAFE | PH_PLUGIN_NEVER_BLOCKS)
#define STRING_LIMIT 4096u

/* Length of a valid UTF-8 sequence at `at` (at most `left` bytes), 0 when invalid. */
static size_t utf8_sequence(const unsigned char *at, size_t left) {
    unsigned char c = at[0];
    if (c < 0x80) return 1;
    size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (length == 0 || c > 0xF4 || length > left) return 0;
    for (size_t i = 1; i < length; i++) {
        if ((at[i] & 0xC0) != 0x80) return 0;
    }
    if (c == 0xE0 && at[1] < 0xA0) return 0;   /* overlong */
    if (c == 0xED && at[1] > 0x9F) return 0;   /* surrogate */
    if (c == 0xF0 && at[1] < 0x90) return 0;   /* overlong */
    if (c == 0xF4 && at[1] > 0x8F) return 0;   /* past U+10FFFF */
    return length;
}

/* Why `text` is not a printable, NUL-terminated UTF-8 string; NULL when it is. */
static const char *string_problem(const char *text, bool may_be_empty, char *why, size_t capacity) {
    if (text == NULL) return "is NULL";
    size_t length = strnlen(text, STRING_LIMIT);
    if (length == STRING_LIMIT) {
        snprintf(why, capacity, "is not NUL-terminated within %u bytes", STRING_LIMIT);
        return why;
    }
    if (length == 0 && !may_be_empty) return "is empty";
    const unsigned char *bytes = (const unsigned char *)text;
    for (size_t i = 0; i < length;) {
        if (bytes[i] < 0x20 || bytes[i] == 0x7F) {
            snprintf(why, capacity, "holds the control character 0x%02X at byte %zu", bytes[i], i);
            return why;
        }
        size_t step = utf8_sequence(bytes + i, length - i);
        if (step == 0) {
            snprintf(why, capacity, "is not valid UTF-8 at byte %zu", i);
            return why;
        }
        i += step;
    }
    return NULL;
}

bool vt_descriptor_usable(const ph_plugin_t *plugin, char *why, size_t capacity) {
    if (plugin == NULL) {
        snprintf(why, capacity, "the entry returned NULL for host ABI %u.%u", PH_ABI_MAJOR, PH_ABI_MINOR);
        return false;
    }
    if (plugin->abi_major != PH_ABI_MAJOR) {
        snprintf(why, capacity, "its ABI major is %u, not %u", plugin->abi_major, PH_ABI_MAJOR);
        return false;
    }
    if (!VT_HAS(plugin, destroy)) {
        snprintf(why, capacity, "descriptor size %u does not even hold create and destroy", plugin->struct_size);
        return false;
    }
    if (plugin->id == NULL || plugin->version == NULL || plugin->create == NULL || plugin->destroy == NULL) {
        snprintf(why, capacity, "it lacks a required member (id, version, create or destroy)");
        return false;
    }
    return true;
}

void vt_test_descriptor(vt_run_t *run) {
    vt_step(run, "entry(%u, %u)", PH_ABI_MAJOR, PH_ABI_MINOR);
    const ph_plugin_t *plugin = run->entry(PH_ABI_MAJOR, PH_ABI_MINOR);
    if (plugin == NULL) {
        vt_fail(run, "the entry returned NULL for host ABI %u.%u: return the descriptor whenever host_abi_major == "
                     "PH_ABI_MAJOR, whatever the minor", PH_ABI_MAJOR, PH_ABI_MINOR);
        return;
    }
    vt_step(run, "reading the descriptor");
    /* The major comes first in every version of the descriptor: read it alone. */
    uint32_t major;
    memcpy(&major, plugin, sizeof major);
    if (major != PH_ABI_MAJOR) {
        vt_fail(run, "abi_major is %u, this validator speaks ABI %u.x: set abi_major = PH_ABI_MAJOR and rebuild against "
                     "this host's PluginSDK", major, PH_ABI_MAJOR);
        return;
    }
    uint32_t minor = plugin->abi_minor, size = plugin->struct_size;
    if (minor > PH_ABI_MINOR) {
        vt_fail(run, "built for ABI %u.%u, this validator knows %u.%u: validate it with a newer plughost, or build it "
                     "against this SDK (abi_minor = PH_ABI_MINOR)", major, minor, PH_ABI_MAJOR, PH_ABI_MINOR);
    }
    size_t needed = minor >= 1 ? PH_PLUGIN_SIZE_1_1 : PH_PLUGIN_SIZE_1_0;
    if (size < needed) {
        vt_fail(run, "descriptor size %u is smaller than an ABI %u.%u descriptor (%zu bytes): set struct_size = "
                     "sizeof(ph_plugin_t) and rebuild", size, major, minor, needed);
    }
    if (!VT_HAS(plugin, destroy)) return;   /* nothing more can be read */
    if (plugin->flags & ~KNOWN_FLAGS) {
        vt_fail(run, "flags has unknown bits 0x%X: only PH_PLUGIN_THREAD_SAFE and PH_PLUGIN_NEVER_BLOCKS are defined",
                plugin->flags & ~KNOWN_FLAGS);
    }
    char why[256];
    const char *problem = string_problem(plugin->id, false, why, sizeof why);
    if (problem != NULL) vt_fail(run, "id %s: set a stable printable identifier such as \"com.example.audit\"", problem);
    problem = string_problem(plugin->version, false, why, sizeof why);
    if (problem != NULL) vt_fail(run, "version %s: set a printable version string such as \"1.2.0\"", problem);
    if (plugin->description != NULL) {
        problem = string_problem(plugin->description, true, why, sizeof why);
        if (problem != NULL) vt_fail(run, "description %s: make it one printable line, or NULL", problem);
    }
    char missing[64] = "";
    if (plugin->create == NULL) strcat(missing, ", create");
    if (plugin->destroy == NULL) strcat(missing, ", destroy");
    if (missing[0] != 0) {
        vt_fail(run, "descriptor lacks required member(s): %s (set them in the ph_plugin_t the entry returns)", missing + 2);
    }
    vt_note(run, "ABI %u.%u, %u bytes, %s %s%s%s", major, minor, size, plugin->id, plugin->version,
            plugin->flags & PH_PLUGIN_THREAD_SAFE ? ", thread-safe" : "",
            plugin->flags & PH_PLUGIN_NEVER_BLOCKS ? ", never blocks" : "");
}

/* The first byte at which two descriptors of `size` bytes differ, or -1. */
static long first_difference(const ph_plugin_t *a, const ph_plugin_t *b, size_t size) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < size; i++) {
        if (x[i] != y[i]) return (long)i;
    }
    return -1;
}

void vt_test_entry(vt_run_t *run) {
    static const uint32_t foreign[][2] = {{PH_ABI_MAJOR + 1, 0}, {0, 0}};
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        vt_step(run, "entry(%u, %u)", foreign[i][0], foreign[i][1]);
        if (run->entry(foreign[i][0], foreign[i][1]) != NULL) {
            vt_fail(run, "returned a descriptor for foreign ABI major %u: return NULL when host_abi_major != PH_ABI_MAJOR "
                         "(such a host cannot read the descriptor)", foreign[i][0]);
            return;
        }
    }
    vt_step(run, "entry(%u, %u), twice", PH_ABI_MAJOR, PH_ABI_MINOR);
    const ph_plugin_t *first = run->entry(PH_ABI_MAJOR, PH_ABI_MINOR);
    const ph_plugin_t *second = run->entry(PH_ABI_MAJOR, PH_ABI_MINOR);
    if (first == NULL) {
        vt_fail(run, "returned NULL for host ABI %u.%u (see the descriptor test)", PH_ABI_MAJOR, PH_ABI_MINOR);
        return;
    }
    if (second == NULL) {
        vt_fail(run, "returned a different descriptor on the second call: NULL (the entry must have no side effects)");
        return;
    }
    char why[256];
    if (first->abi_major == PH_ABI_MAJOR && second->abi_major == PH_ABI_MAJOR) {
        size_t size = first->struct_size < second->struct_size ? first->struct_size : second->struct_size;
        long at = first_difference(first, second, size < sizeof(ph_plugin_t) ? size : sizeof(ph_plugin_t));
        const char *id_a = VT_HAS(first, id) ? first->id : NULL, *id_b = VT_HAS(second, id) ? second->id : NULL;
        const char *v_a = VT_HAS(first, version) ? first->version : NULL, *v_b = VT_HAS(second, version) ? second->version : NULL;
        if (first->struct_size != second->struct_size) snprintf(why, sizeof why, "sizes %u and %u", first->struct_size, second->struct_size);
        else if (id_a && id_b && string_problem(id_a, true, why, sizeof why) == NULL && strcmp(id_a, id_b) != 0)
            snprintf(why, sizeof why, "id \"%s\" then \"%s\"", id_a, id_b);
        else if (v_a && v_b && string_problem(v_a, true, why, sizeof why) == NULL && strcmp(v_a, v_b) != 0)
            snprintf(why, sizeof why, "version \"%s\" then \"%s\"", v_a, v_b);
        else if (at >= 0) snprintf(why, sizeof why, "their bytes differ at offset %ld", at);
        else why[0] = 0;
        if (first != second || why[0] != 0) {
            vt_fail(run, "returned a different descriptor on the second call (%p then %p%s%s): return one static "
                         "descriptor, and give the entry no side effects", (const void *)first, (const void *)second,
                    why[0] ? "; " : "", why);
            return;
        }
    } else if (first != second) {
        vt_fail(run, "returned a different descriptor on the second call (%p then %p)", (const void *)first, (const void *)second);
        return;
    }
    vt_step(run, "entry(%u, %u)", PH_ABI_MAJOR, PH_ABI_MINOR + 1);
    if (run->entry(PH_ABI_MAJOR, PH_ABI_MINOR + 1) == NULL) {
        vt_fail(run, "returned NULL for host ABI %u.%u, a newer minor: return the descriptor whenever host_abi_major == "
                     "PH_ABI_MAJOR, whatever the minor (a newer host still reads it)", PH_ABI_MAJOR, PH_ABI_MINOR + 1);
        return;
    }
    vt_note(run, "NULL for majors %u and 0, one descriptor for %u.%u and %u.%u", PH_ABI_MAJOR + 1, PH_ABI_MAJOR,
            PH_ABI_MINOR, PH_ABI_MAJOR, PH_ABI_MINOR + 1);
}
