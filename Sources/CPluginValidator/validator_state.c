/*
 * Test `state`, for descriptors whose save_state and restore_state lie inside struct_size (ABI 1.1
 * and later) and are set. In the host's order for a reload: instance A is started and gets a few
 * events, A's save_state runs while A still serves, a new instance B gets restore_state of those
 * bytes before its start, and once B is started its save_state must write the same bytes. Then
 * restore_state of 0 bytes (NULL) and of 1 MiB of random bytes, each into a fresh instance:
 * refused (with a message) or taken, never a crash. Bytes handed over are a copy freed when
 * restore_state returns; the sink of save_state is valid only during that call.
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANDOM_STATE (1u << 20)

/* Why there is no state handoff to test, or NULL. */
static const char *no_state(const ph_plugin_t *plugin, char *why, size_t capacity) {
    if (plugin->abi_minor < 1) return "an ABI 1.0 descriptor: no state handoff (save_state and restore_state are ABI 1.1)";
    if (!VT_HAS(plugin, restore_state)) {
        snprintf(why, capacity, "descriptor size %u ends before save_state and restore_state: no state handoff", plugin->struct_size);
        return why;
    }
    if (plugin->save_state == NULL && plugin->restore_state == NULL) return "no save_state or restore_state: it hands no state over";
    if (plugin->save_state == NULL) return "restore_state without save_state: nothing to round-trip";
    if (plugin->restore_state == NULL) return "save_state without restore_state: a successor cannot take the state over";
    return NULL;
}

/* A few rounds of the events the host would deliver, so the state is not just the initial one. */
static void some_events(vt_run_t *run, vh_host_t *host) {
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < vh_subscription_count(host); i++) {
            const vh_subscription_t *subscription = vh_subscription(host, i);
            if (subscription->event != NULL && vh_event_repeats(subscription->id)) vh_deliver(run, host, subscription);
        }
    }
}

/* A new created (not started) instance with the empty config, or NULL (the run says why). */
static bool fresh(vt_run_t *run, vi_instance_t *instance, const char *context) {
    vi_init(instance, run, vc_config_new(NULL, NULL, 0));
    snprintf(instance->context, sizeof instance->context, "%s", context);
    if (!vi_open(instance)) {
        if (!vt_failed(run)) vt_skip(run, "with an empty config, %s: this test needs instances", instance->refusal);
        vi_destroy(instance);
        return false;
    }
    return !vt_failed(run);
}

/* Restores `bytes` into a fresh instance and lets it run as the host would; what happened, in words. */
static void restore_garbage(vt_run_t *run, const char *what, const void *bytes, size_t length, char *said, size_t capacity) {
    vi_instance_t instance;
    if (!fresh(run, &instance, "")) return;
    vt_step(run, "restore_state with %s", what);
    char why[VT_TEXT];
    ph_status_t status = vi_restore_state(&instance, run->plugin->version, bytes, length, why, sizeof why);
    if (status == PH_OK) {
        snprintf(said, capacity, "%s: taken", what);
        if (vi_start(&instance)) {
            vt_step(run, "save_state after restore_state with %s", what);
            vt_bytes_t saved;
            char ignored[VT_TEXT];
            vi_save_state(&instance, &saved, ignored, sizeof ignored);
            free(saved.data);
        }
    } else {
        snprintf(said, capacity, "%s: refused (%.200s)", what, why);
    }
    vi_destroy(&instance);
}

static long first_difference(const vt_bytes_t *a, const vt_bytes_t *b) {
    size_t n = a->length < b->length ? a->length : b->length;
    for (size_t i = 0; i < n; i++) {
        if (a->data[i] != b->data[i]) return (long)i;
    }
    return a->length == b->length ? -1 : (long)n;
}

void vt_test_state(vt_run_t *run) {
    char why[VT_TEXT];
    const char *missing = no_state(run->plugin, why, sizeof why);
    if (missing != NULL) {
        vt_skip(run, "%s", missing);
        return;
    }
    /* The round trip. */
    vi_instance_t old_instance;
    if (!vi_open_for_test(&old_instance, run, true)) return;
    some_events(run, old_instance.host);
    vt_step(run, "save_state of a started instance");
    vt_bytes_t first = {NULL, 0}, second = {NULL, 0};
    ph_status_t status = vi_save_state(&old_instance, &first, why, sizeof why);
    char trip[300] = "";
    if (status == PH_ERR_NOT_FOUND) {
        snprintf(trip, sizeof trip, "save_state hands nothing over (PH_ERR_NOT_FOUND)");
    } else if (status != PH_OK) {
        vt_fail(run, "save_state of a started instance failed: %s: a failure cancels every reload (return PH_ERR_NOT_FOUND "
                     "to hand nothing over)", why);
    } else {
        vi_instance_t new_instance;
        if (fresh(run, &new_instance, "")) {
            vt_step(run, "restore_state of the %zu bytes save_state wrote, into a new instance", first.length);
            status = vi_restore_state(&new_instance, run->plugin->version, first.data, first.length, why, sizeof why);
            if (status != PH_OK) {
                if (!vt_failed(run)) {
                    vt_fail(run, "refused the state it saved itself (%zu bytes): %s: restore_state must take what save_state "
                                 "writes", first.length, why);
                }
            } else if (vi_start(&new_instance)) {
                vt_step(run, "save_state of the restored instance");
                status = vi_save_state(&new_instance, &second, why, sizeof why);
                long at = first_difference(&first, &second);
                if (status != PH_OK && !vt_failed(run)) {
                    vt_fail(run, "save_state after restore_state failed: %s", why);
                } else if (at >= 0) {
                    vt_fail(run, "state round trip not byte-identical: save_state wrote %zu bytes; restore_state of them into "
                                 "a new instance, then save_state, wrote %zu bytes, first different at byte %ld: restore_state "
                                 "must take back exactly the state save_state wrote", first.length, second.length, at);
                }
                snprintf(trip, sizeof trip, "round trip of %zu bytes identical", first.length);
            } else {
                snprintf(trip, sizeof trip, "the restored instance did not start: %.200s", new_instance.refusal);
            }
            vi_destroy(&new_instance);
        }
    }
    vi_destroy(&old_instance);
    free(first.data);
    free(second.data);
    if (vt_decided(run)) return;

    /* Garbage: refused or taken, never a crash. */
    char empty[300] = "", random[300] = "";
    restore_garbage(run, "0 bytes (NULL)", NULL, 0, empty, sizeof empty);
    if (vt_decided(run)) return;
    unsigned char *noise = malloc(RANDOM_STATE);
    if (noise == NULL) return;
    vt_random_bytes(noise, RANDOM_STATE, 42);
    restore_garbage(run, "1 MiB of random bytes", noise, RANDOM_STATE, random, sizeof random);
    free(noise);
    if (vt_decided(run)) return;
    vt_note(run, "%s; %s; %s", trip, empty, random);
}
