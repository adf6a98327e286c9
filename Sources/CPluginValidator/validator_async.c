/*
 * Test `async`: every deferring endpoint (PH_MAY_DEFER: raw, or typed in the handler form, as the
 * Swift SDK's asyncEndpoint and asyncTypedEndpoint register them) on a started instance:
 *   - one request the plugin must finish: PH_PENDING or an answer in the call; when pending, exactly
 *     one resume, from any thread, within VT_RESUME_MS (else the host gives up on it and waits
 *     VT_CANCEL_MS more); a second resume is answered PH_ERR_STATE and fails the test;
 *   - one request the host gives up on as soon as it is pending (its on_cancel callback runs, as at
 *     a request's timeout): the plugin must still resume it (answered PH_ERR_CANCELLED) within
 *     VT_CANCEL_MS, "never resumed after cancellation" otherwise;
 *   - then stop and destroy, and after a grace period no thread may still run the plugin's code:
 *     a thread it started, or a pool thread (new or not) running one of its tasks: a frame of the
 *     plugin's library on its stack in one of three samples (validator_stacks.c). Idle threads of
 *     the Swift or Dispatch pools, which the runtime keeps, are not the plugin's; nor is a task
 *     suspended in an await, which holds no thread (it cannot be seen until it runs again).
 */
#define _GNU_SOURCE
#include "validator_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GRACE_MS 500                    /* as stray-threads: a thread ending ~100 ms after destroy is not left */
#define SAMPLES 3                       /* a task that yields between steps is off its thread for a moment */
#define SAMPLE_GAP_MS 25
#define MAX_TASKS 4096

static bool known(pid_t tid, const pid_t *tids, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (tids[i] == tid) return true;
    }
    return false;
}

/* "GET /a, GET /b": the deferring endpoints, for messages. */
static void endpoint_names(vh_host_t *host, char *names, size_t capacity) {
    size_t used = 0;
    names[0] = 0;
    for (size_t i = 0; i < vh_endpoint_count(host) && used + 40 < capacity; i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(host, i);
        if (!VH_HANDLES(endpoint) || !VH_DEFERS(endpoint)) continue;
        used += (size_t)snprintf(names + used, capacity - used, "%s%.16s %.200s", used ? ", " : "", endpoint->method, endpoint->path);
    }
}

/* Sends each deferring endpoint its two requests; their number. */
static size_t send_requests(vt_run_t *run, vh_host_t *host, vt_sent_t *sent) {
    size_t count = 0;
    for (size_t i = 0; i < vh_endpoint_count(host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(host, i);
        if (!VH_HANDLES(endpoint) || !VH_DEFERS(endpoint)) continue;
        vq_request_t *made[VG_VARIANTS];
        size_t made_count = vg_requests(run, host, endpoint, made, VG_VARIANTS);
        for (size_t r = 0; r < made_count; r++) {
            if (r >= 2) {
                vq_release(made[r]);   /* two are enough here; the endpoints test sends them all */
                continue;
            }
            bool cancel = r == 1;
            vt_step(run, "async %s %s, %s%s", endpoint->method, endpoint->path, vq_label(made[r]),
                    cancel ? ", to be given up on" : ", to be resumed once");
            vq_call(made[r]);
            sent[count] = (vt_sent_t){.request = made[r]};
            if (cancel && vq_deferred(made[r])) {
                vt_step(run, "async %s %s: the host gives up on %s (on_cancel)", endpoint->method, endpoint->path, vq_label(made[r]));
                sent[count].cancelled_at_once = vq_cancel(made[r]);
            }
            count++;
        }
    }
    return count;
}

/* After destroy and the grace period: the threads (any but this one: the plugin's tasks may run on
 * pool threads older than the instance) seen running the plugin's code in any of SAMPLES samples,
 * described into `found`; their number. `idle` counts the other threads that are new since
 * `before`, `unseen` the threads it could not look at. */
static size_t leftovers(vt_run_t *run, const pid_t *before, size_t before_count, char *found, size_t capacity,
                        size_t *idle, size_t *unseen) {
    static pid_t now[MAX_TASKS], seen[MAX_TASKS];
    vt_step(run, "waiting %d ms after destroy, then looking at every thread's stack", GRACE_MS);
    vt_sleep_ms(GRACE_MS);
    const void *anchor;
    memcpy(&anchor, &run->entry, sizeof anchor);
    char process[32] = "";
    vt_task_name(getpid(), process, sizeof process);
    pid_t self = gettid();
    size_t running = 0, used = 0, seen_count = 0;
    *idle = *unseen = 0;
    found[0] = 0;
    for (int sample = 0; sample < SAMPLES; sample++) {
        if (sample > 0) vt_sleep_ms(SAMPLE_GAP_MS);
        size_t count = vt_tasks(now, MAX_TASKS);
        for (size_t i = 0; i < count; i++) {
            if (now[i] == self || known(now[i], seen, seen_count)) continue;
            char where[400], name[32];
            int verdict = vt_stack_in_library(now[i], anchor, where, sizeof where);
            bool fresh = !known(now[i], before, before_count);
            if (verdict < 0 && sample == SAMPLES - 1 && fresh) (*unseen)++;
            if (verdict != 1) {
                if (verdict == 0 && sample == SAMPLES - 1 && fresh) (*idle)++;
                continue;
            }
            seen[seen_count++] = now[i];
            running++;
            vt_task_name(now[i], name, sizeof name);
            if (used + 80 < capacity) {
                used += (size_t)snprintf(found + used, capacity - used, "%s'%s' (TID %d%s) in %s", running > 1 ? "; " : "",
                                         name, (int)now[i], strcmp(name, process) == 0 ? ", unnamed" : "", where);
            }
        }
    }
    return running;
}

void vt_test_async(vt_run_t *run) {
    static pid_t before[MAX_TASKS];
    vt_stacks_prepare();
    size_t before_count = vt_tasks(before, MAX_TASKS);
    vi_instance_t instance;
    if (!vi_open_for_test(&instance, run, false)) return;
    size_t deferring = 0;
    for (size_t i = 0; i < vh_endpoint_count(instance.host); i++) {
        const vh_endpoint_t *endpoint = vh_endpoint(instance.host, i);
        if (VH_HANDLES(endpoint) && VH_DEFERS(endpoint)) deferring++;
    }
    if (deferring == 0) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "no deferring endpoints (PH_MAY_DEFER: raw, or typed in the handler form)");
        return;
    }
    if (!vi_start(&instance)) {
        vi_destroy(&instance);
        if (!vt_decided(run)) vt_skip(run, "with an empty config, %s: endpoints are served by a started instance", instance.refusal);
        return;
    }
    char names[600];
    endpoint_names(instance.host, names, sizeof names);
    vt_sent_t *sent = calloc(deferring * 2 + 1, sizeof *sent);
    if (sent == NULL) {
        vi_destroy(&instance);
        vt_skip(run, "out of memory");
        return;
    }
    size_t count = send_requests(run, instance.host, sent);
    vt_settle(run, sent, count);
    vi_destroy(&instance);
    char found[900];
    size_t idle, unseen;
    size_t running = leftovers(run, before, before_count, found, sizeof found, &idle, &unseen);
    vt_tally_t tally;
    vt_report_sent(run, sent, count, &tally);
    vt_release_sent(sent, count);
    free(sent);
    if (running > 0) {
        vt_fail(run, "%zu thread%s still run%s the plugin's code after destroy (and %d ms), left by its deferring endpoints "
                     "(%s): %s: end every task and thread an endpoint starts by destroy (cancel tasks and wait for them; "
                     "stop and join threads)", running, running == 1 ? "" : "s", running == 1 ? "s" : "", GRACE_MS, names, found);
    }
    if (vt_decided(run)) return;
    vt_note(run, "%zu deferring endpoint%s: %u request%s resumed once, %u resumed after the host gave up (PH_ERR_CANCELLED), "
                 "%u answered in the call; after destroy no thread runs its code (%zu idle runtime thread%s%s)",
            deferring, deferring == 1 ? "" : "s", tally.resumed, tally.resumed == 1 ? "" : "s", tally.cancelled, tally.answered,
            idle, idle == 1 ? "" : "s", unseen ? ", some not looked at" : "");
}
